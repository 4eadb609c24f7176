#include "optim/options_check.h"

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace attune::optim {

std::string format_value(double value) {
  // Shortest form that reads back to the same double (17 significant digits always do).
  for (int digits = 1;; ++digits) {
    std::ostringstream out;
    out.precision(digits);
    out << value;
    // strtod, not std::stod: stod throws out_of_range on subnormal values (ERANGE), which turned
    // "lr: expected a finite value > 0, received 5e-324" into an unexpected exception (found by
    // tests/fuzz/fuzz_job_spec).
    if (digits == 17 || !std::isfinite(value) || std::strtod(out.str().c_str(), nullptr) == value) return out.str();
  }
}

void throw_invalid(const std::string& field, const std::string& expected,
                   const std::string& received) {
  throw std::invalid_argument(field + ": expected " + expected + ", received " + received);
}

void require_in_unit_interval(const std::string& field, double value) {
  if (!(value >= 0.0 && value < 1.0)) throw_invalid(field, "a value in [0, 1)", format_value(value));
}

void require_non_negative(const std::string& field, double value) {
  if (!(value >= 0.0 && std::isfinite(value))) {
    throw_invalid(field, "a finite value >= 0", format_value(value));
  }
}

void require_positive(const std::string& field, double value) {
  if (!(value > 0.0 && std::isfinite(value))) {
    throw_invalid(field, "a finite value > 0", format_value(value));
  }
}

void check_hyperparameters(const std::string& optimizer, double lr, double eps, double weight_decay,
                           std::initializer_list<double> betas) {
  require_non_negative(optimizer + ".lr", lr);
  require_non_negative(optimizer + ".eps", eps);
  require_non_negative(optimizer + ".weight_decay", weight_decay);
  int i = 0;
  for (double beta : betas) {
    require_in_unit_interval(optimizer + ".betas[" + std::to_string(i++) + "]", beta);
  }
}

}  // namespace attune::optim

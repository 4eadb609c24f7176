#include "tta/options.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace attune::tta {
namespace {

constexpr std::array<std::pair<std::string_view, Method>, 6> kMethods{{
    {"source", Method::kSource},
    {"norm", Method::kNorm},
    {"tent", Method::kTent},
    {"eta", Method::kEta},
    {"eata", Method::kEata},
    {"lame", Method::kLame},
}};

constexpr std::array<std::pair<std::string_view, Affinity>, 3> kAffinities{{
    {"knn", Affinity::kKnn},
    {"rbf", Affinity::kRbf},
    {"linear", Affinity::kLinear},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

template <typename T, size_t N>
T parse_name(const std::array<std::pair<std::string_view, T>, N>& table, std::string_view field,
             std::string_view name) {
  const std::string key = lower(name);
  for (const auto& [n, v] : table) {
    if (n == key) return v;
  }
  std::ostringstream msg;
  msg << field << ": expected one of";
  for (const auto& entry : table)
    msg << (&entry == &table[0] ? " " : " | ") << '"' << entry.first << '"';
  msg << ", received \"" << name << '"';
  throw std::invalid_argument(msg.str());
}

template <typename T>
[[noreturn]] void reject(std::string_view field, std::string_view expected, T received) {
  std::ostringstream msg;
  msg << field << ": expected " << expected << ", received " << received;
  throw std::invalid_argument(msg.str());
}

void check_finite_in(std::string_view field, double v, double lo, bool lo_open, double hi,
                     bool hi_open, std::string_view expected) {
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (!ok) reject(field, expected, v);
}

constexpr double kInf = INFINITY;

}  // namespace

Method parse_method(std::string_view name) { return parse_name(kMethods, "method", name); }

std::string_view method_name(Method m) {
  for (const auto& [n, v] : kMethods) {
    if (v == m) return n;
  }
  throw std::invalid_argument("method: unknown enumerator " + std::to_string(static_cast<int>(m)));
}

bool adapts_parameters(Method m) {
  return m == Method::kTent || m == Method::kEta || m == Method::kEata;
}

Affinity parse_affinity(std::string_view name) {
  return parse_name(kAffinities, "lame.affinity", name);
}

std::string_view affinity_name(Affinity a) {
  for (const auto& [n, v] : kAffinities) {
    if (v == a) return n;
  }
  throw std::invalid_argument("lame.affinity: unknown enumerator " +
                              std::to_string(static_cast<int>(a)));
}

void validate(const Options& o) {
  method_name(o.method);
  if (o.steps < 1 || o.steps > 100) reject("steps", "an integer in [1, 100]", o.steps);

  const auto& opt = o.optimizer;
  if (opt.kind != OptimizerOptions::Kind::kSgd && opt.kind != OptimizerOptions::Kind::kAdam) {
    reject("optimizer.kind", "sgd or adam", static_cast<int>(opt.kind));
  }
  check_finite_in("optimizer.lr", opt.lr, 0, true, kInf, true, "a finite value > 0");
  check_finite_in("optimizer.weight_decay", opt.weight_decay, 0, false, kInf, true,
                  "a finite value >= 0");
  if (opt.kind == OptimizerOptions::Kind::kSgd) {
    check_finite_in("optimizer.momentum", opt.momentum, 0, false, 1, true, "a value in [0, 1)");
    check_finite_in("optimizer.dampening", opt.dampening, 0, false, 1, false, "a value in [0, 1]");
    // Same rule as torch.optim.SGD: Nesterov needs momentum and no dampening.
    if (opt.nesterov && !(opt.momentum > 0 && opt.dampening == 0)) {
      reject("optimizer.nesterov", "momentum > 0 and dampening = 0",
             "momentum " + std::to_string(opt.momentum) + ", dampening " +
                 std::to_string(opt.dampening));
    }
  } else {
    check_finite_in("optimizer.beta1", opt.beta1, 0, false, 1, true, "a value in [0, 1)");
    check_finite_in("optimizer.beta2", opt.beta2, 0, false, 1, true, "a value in [0, 1)");
    check_finite_in("optimizer.eps", opt.eps, 0, true, kInf, true, "a finite value > 0");
  }

  check_finite_in("eata.e_margin_factor", o.eata.e_margin_factor, 0, true, 1, false,
                  "a value in (0, 1] (E0 = factor * ln C)");
  check_finite_in("eata.d_margin", o.eata.d_margin, 0, true, kInf, true, "a finite value > 0");
  check_finite_in("eata.fisher_alpha", o.eata.fisher_alpha, 0, false, kInf, true,
                  "a finite value >= 0");

  affinity_name(o.lame.affinity);
  if (o.lame.knn < 1 || o.lame.knn > 1024)
    reject("lame.knn", "an integer in [1, 1024]", o.lame.knn);
}

}  // namespace attune::tta

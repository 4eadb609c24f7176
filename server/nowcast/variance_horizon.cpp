#include "nowcast/variance_horizon.h"

#include <algorithm>
#include <stdexcept>

namespace attune::nowcast {

// Sums are of y − y_last, a shift that leaves the variance unchanged but keeps the
// E[y²] − E[y]² difference from cancelling catastrophically for large levels (e.g. pressure).
TailVariance::TailVariance(const std::vector<double>& y) : s1_(y.size() + 1, 0.0), s2_(y.size() + 1, 0.0) {
  const double shift = y.empty() ? 0.0 : y.back();
  for (size_t i = 0; i < y.size(); ++i) {
    const double d = y[i] - shift;
    s1_[i + 1] = s1_[i] + d;
    s2_[i + 1] = s2_[i] + d * d;
  }
}

double TailVariance::operator()(int64_t n) const {
  const int64_t total = size();
  if (n < 1 || n > total) throw std::out_of_range("TailVariance: n outside [1, size]");
  const double k = static_cast<double>(n);
  const double a = s1_[total] - s1_[total - n];
  const double b = s2_[total] - s2_[total - n];
  return std::max(0.0, b / k - (a / k) * (a / k));
}

int64_t variance_horizon(const std::vector<double>& y, int64_t n_min, int64_t n_max, int64_t step,
                         double rho) {
  n_max = std::min<int64_t>(n_max, static_cast<int64_t>(y.size()));
  n_min = std::max<int64_t>(1, std::min(n_min, n_max));
  if (n_max < 1) return 0;
  const TailVariance v(y);
  const double target = rho * v(n_max);
  for (int64_t n = n_min; n <= n_max; n += step)
    if (v(n) >= target) return n;
  return n_max;
}

int64_t variance_horizon_plateau(const std::vector<double>& y, int64_t n_min, int64_t n_max,
                                 int64_t step, double epsilon, int64_t checks) {
  n_max = std::min<int64_t>(n_max, static_cast<int64_t>(y.size()));
  n_min = std::max<int64_t>(1, std::min(n_min, n_max));
  if (n_max < 1) return 0;
  const TailVariance v(y);
  auto flat = [&](int64_t n) {
    const double a = v(n), b = v(n + step);
    if (a == 0.0) return b == 0.0;
    return b / a - 1.0 < epsilon;
  };
  for (int64_t n = n_min; n + checks * step <= n_max; n += step) {
    bool ok = true;
    for (int64_t c = 0; c < checks && ok; ++c) ok = flat(n + c * step);
    if (ok) return n;
  }
  return n_max;
}

}  // namespace attune::nowcast

// Variance Horizon (OUR DESIGN, spec §1.6): the shortest recent window that still holds most of
// the target's variability. With v(N) = population variance of the last N values,
//   VH = min{ N ∈ {N_min, N_min+Δ, …, N_max} : v(N) ≥ ρ·v(N_max) }, falling back to N_max.
// The plateau variant picks the smallest N with v(N+Δ)/v(N) − 1 < ε for `checks` consecutive
// candidates. Both are O(1) per candidate through prefix sums of y and y².
#pragma once

#include <cstdint>
#include <vector>

namespace attune::nowcast {

// `y` is ordered oldest to newest; N_max is clamped to y.size(), N_min to N_max.
int64_t variance_horizon(const std::vector<double>& y, int64_t n_min, int64_t n_max, int64_t step,
                         double rho);
int64_t variance_horizon_plateau(const std::vector<double>& y, int64_t n_min, int64_t n_max,
                                 int64_t step, double epsilon, int64_t checks);

// Population variance of the last n values of y (prefix-sum based helper, exposed for tests).
class TailVariance {
 public:
  explicit TailVariance(const std::vector<double>& y);
  double operator()(int64_t n) const;
  int64_t size() const { return static_cast<int64_t>(s1_.size()) - 1; }

 private:
  std::vector<double> s1_, s2_;  // prefix sums of (y − y_last) and its square
};

}  // namespace attune::nowcast

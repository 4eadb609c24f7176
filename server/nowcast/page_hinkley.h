// Page-Hinkley test with River's semantics (river/drift/page_hinkley.py, spec §2.1):
//   x̄ running mean, dev = x − x̄, S⁺ = α·S⁺ + dev − δ, S⁻ = α·S⁻ + dev + δ,
//   m⁺ = min S⁺, M⁻ = max S⁻; once n ≥ min_instances, drift when S⁺ − m⁺ > λ ("up") and/or
//   M⁻ − S⁻ > λ ("down"). Everything resets on the update after a drift.
#pragma once

#include <cstdint>

#include "nowcast/drift_detector.h"
#include "nowcast/stream_config.h"

namespace attune::nowcast {

class PageHinkley : public DriftDetector {
 public:
  explicit PageHinkley(PageHinkleyConfig config = {});
  void update(double x) override;
  bool drift_detected() const override { return drift_; }
  double statistic() const override;
  std::string name() const override { return "page_hinkley"; }
  std::vector<double> state() const override;
  void set_state(const std::vector<double>& s) override;

  double test_increase() const { return sum_increase_ - min_increase_; }
  double test_decrease() const { return max_decrease_ - sum_decrease_; }
  int64_t n() const { return n_; }
  double mean() const { return mean_; }

 private:
  void reset();
  PageHinkleyConfig c_;
  int64_t n_ = 0;
  double mean_ = 0.0;
  double sum_increase_ = 0.0;
  double sum_decrease_ = 0.0;
  double min_increase_ = 0.0;
  double max_decrease_ = 0.0;
  bool drift_ = false;
};

}  // namespace attune::nowcast

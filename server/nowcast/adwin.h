// ADWIN (Bifet & Gavaldà 2007) with River's semantics and defaults (river/drift/adwin_c.pyx,
// spec §2.1): an exponential histogram of buckets (at most max_buckets of each size 2^k);
// every `clock` updates, once the width exceeds grace_period, every cut W0|W1 with both sides
// ≥ min_window_length is tested with
//   ε = sqrt(2·m·σ²_W·δ') + (2/3)·δ'·m,  δ' = ln(2·ln(W)/δ),  m = 1/(n0−L+1) + 1/(n1−L+1);
// a cut with |μ0 − μ1| > ε drops the oldest bucket and the scan repeats. As River's ADWIN
// wrapper, the whole window is reset on the update after a drift.
#pragma once

#include <cstdint>

#include "nowcast/drift_detector.h"
#include "nowcast/stream_config.h"

namespace attune::nowcast {

class Adwin : public DriftDetector {
 public:
  explicit Adwin(AdwinConfig config = {});
  void update(double x) override;
  bool drift_detected() const override { return drift_; }
  double statistic() const override { return estimation(); }
  std::string name() const override { return "adwin"; }
  std::vector<double> state() const override;
  void set_state(const std::vector<double>& s) override;

  double width() const { return width_; }
  double total() const { return total_; }
  double variance() const { return variance_; }  // width × window variance, as River
  double estimation() const { return width_ > 0 ? total_ / width_ : 0.0; }
  int64_t n_detections() const { return n_detections_; }
  // Bucket counts per level (level k holds buckets of 2^k values), for tests.
  std::vector<int64_t> bucket_counts() const;

 private:
  struct Level {
    std::vector<double> total;     // oldest first
    std::vector<double> variance;  // sum of squared deviations within each bucket
  };
  void reset();
  void insert(double x);
  void compress();
  double delete_oldest();
  bool detect_change();
  bool cut(double n0, double n1, double delta_mean) const;

  AdwinConfig c_;
  std::vector<Level> levels_;  // levels_[0] holds the newest values
  double total_ = 0.0;
  double variance_ = 0.0;
  double width_ = 0.0;
  int64_t tick_ = 0;
  int64_t n_detections_ = 0;
  bool drift_ = false;
};

}  // namespace attune::nowcast

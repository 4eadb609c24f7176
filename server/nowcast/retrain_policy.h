// When to retrain (spec §1.7). Every step the engine hands the policy the step's normalised
// error z_t (the matured forecast errors of the current model divided by its held-out error
// e_ref; absent while nothing of the current model has matured) and the model's age in steps.
//   periodic:     fire when age ≥ period.
//   performance:  r = mean of the last W values of z; fire when r > 1 + τ for K consecutive
//                 checks and age ≥ A_min.
//   adwin / page_hinkley: z feeds the detector; a drift fires once age ≥ A_min (a drift seen
//                 earlier is kept until then).
//   any trigger:  age ≥ A_max (when set) fires as a staleness guard (§1.7.3).
// The rolling ratio is kept for every trigger so that each decision can record it.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nowcast/drift_detector.h"
#include "nowcast/stream_config.h"

namespace attune::nowcast {

struct PolicyDecision {
  bool fire = false;
  std::string trigger;       // "periodic", "performance", "adwin", "page_hinkley", "max_age"
  double ratio = 0.0;        // r = ē_W / e_ref; NaN until W errors have matured
  bool drift = false;        // the drift condition became true at this step
  std::string detector;      // name used for drift events / statistics ("performance", ...)
  std::optional<double> statistic;  // the detector statistic after this step's update
};

class RetrainPolicy {
 public:
  explicit RetrainPolicy(const RetrainConfig& config);
  PolicyDecision step(std::optional<double> z, int64_t age);
  // A new model went live: its errors start a fresh window and a fresh detector.
  void on_model_swapped();
  double ratio() const;

  std::vector<double> state() const;
  void set_state(const std::vector<double>& s);

 private:
  RetrainConfig c_;
  std::deque<double> window_;
  int64_t above_ = 0;          // consecutive checks with r > 1 + τ
  bool drift_latched_ = false;
  std::unique_ptr<DriftDetector> detector_;
};

}  // namespace attune::nowcast

// Interface of the drift detectors fed the normalised forecast error (§1.7.4). Semantics follow
// River's DriftDetector: `update` consumes one value and `drift_detected()` tells whether that
// value completed a drift; the detector resets itself on the update after a drift (§2.1).
#pragma once

#include <string>
#include <vector>

namespace attune::nowcast {

class DriftDetector {
 public:
  virtual ~DriftDetector() = default;
  virtual void update(double x) = 0;
  virtual bool drift_detected() const = 0;
  // The value exported as attune_drift_statistic (PH: the larger test statistic; ADWIN: the
  // window mean).
  virtual double statistic() const = 0;
  virtual std::string name() const = 0;
  // Complete internal state as numbers, for snapshots; set_state(state()) is the identity.
  virtual std::vector<double> state() const = 0;
  virtual void set_state(const std::vector<double>& s) = 0;
};

}  // namespace attune::nowcast

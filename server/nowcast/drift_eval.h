// Scoring of drift alarms against known drifts, with the definitions of River's
// river/drift/evaluate.py (spec §2.1): an alarm inside [start − delta_pre, end + delta_max]
// (inclusive) of a drift is a hit, matched to the earliest such window; any other alarm is a
// false alarm. Undefined quantities are NaN, as in River.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace attune::nowcast {

struct Drift {
  int64_t start = 0;
  int64_t end = 0;  // == start for a point drift
};

struct Matching {
  std::map<size_t, std::vector<int64_t>> hits;  // drift index → its alarms
  std::vector<int64_t> false_alarms;
};

Matching match(const std::vector<int64_t>& alarms, const std::vector<Drift>& drifts,
               int64_t delta_max, int64_t delta_pre = 0);

struct DriftReport {
  int64_t n_samples = 0;
  int64_t n_drifts = 0;
  int64_t n_alarms = 0;
  double precision = 0;
  double recall = 0;
  double episode_recall = 0;
  double f1 = 0;
  double missed_detection_rate = 0;
  double detection_delay = 0;
  double normalized_detection_time = 0;
  double false_alarm_rate = 0;  // per `unit` samples
  double mean_time_between_false_alarms = 0;
  double mean_time_ratio = 0;
};

// All metrics of River's `report`. Throws std::invalid_argument for delta_max ≤ 0,
// delta_pre < 0, n_samples ≤ 0 or a drift that ends before it starts.
DriftReport report(const std::vector<int64_t>& alarms, const std::vector<Drift>& drifts,
                   int64_t n_samples, int64_t delta_max, int64_t delta_pre = 0, int64_t unit = 1);

}  // namespace attune::nowcast

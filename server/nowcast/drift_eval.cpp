#include "nowcast/drift_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace attune::nowcast {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

Matching match(const std::vector<int64_t>& alarms, const std::vector<Drift>& drifts,
               int64_t delta_max, int64_t delta_pre) {
  if (delta_max <= 0) throw std::invalid_argument("delta_max: expected > 0");
  if (delta_pre < 0) throw std::invalid_argument("delta_pre: expected >= 0");
  for (const auto& d : drifts)
    if (d.end < d.start) throw std::invalid_argument("drifts: a drift ends before it starts");
  Matching m;
  for (int64_t a : alarms) {
    bool hit = false;
    for (size_t i = 0; i < drifts.size() && !hit; ++i) {
      if (drifts[i].start - delta_pre <= a && a <= drifts[i].end + delta_max) {
        m.hits[i].push_back(a);
        hit = true;
      }
    }
    if (!hit) m.false_alarms.push_back(a);
  }
  return m;
}

DriftReport report(const std::vector<int64_t>& alarms, const std::vector<Drift>& drifts,
                   int64_t n_samples, int64_t delta_max, int64_t delta_pre, int64_t unit) {
  if (n_samples <= 0) throw std::invalid_argument("n_samples: expected > 0");
  const Matching m = match(alarms, drifts, delta_max, delta_pre);
  DriftReport r;
  r.n_samples = n_samples;
  r.n_drifts = static_cast<int64_t>(drifts.size());
  r.n_alarms = static_cast<int64_t>(alarms.size());
  double n_hits = 0;
  for (const auto& [_, h] : m.hits) n_hits += static_cast<double>(h.size());
  const double n_caught = static_cast<double>(m.hits.size());
  const double n_missed = static_cast<double>(drifts.size()) - n_caught;

  r.precision = alarms.empty() ? kNaN : n_hits / static_cast<double>(alarms.size());
  r.recall = n_hits + n_missed == 0 ? kNaN : n_hits / (n_hits + n_missed);
  r.episode_recall = drifts.empty() ? kNaN : n_caught / static_cast<double>(drifts.size());
  r.f1 = std::isnan(r.precision) || std::isnan(r.episode_recall) ? kNaN
         : r.precision + r.episode_recall == 0
             ? 0.0
             : 2 * r.precision * r.episode_recall / (r.precision + r.episode_recall);
  r.missed_detection_rate = std::isnan(r.episode_recall) ? kNaN : 1 - r.episode_recall;

  double delay_sum = 0;
  for (const auto& [i, h] : m.hits)
    delay_sum += static_cast<double>(*std::min_element(h.begin(), h.end()) - drifts[i].start);
  r.detection_delay = m.hits.empty() ? kNaN : delay_sum / n_caught;
  r.normalized_detection_time = r.detection_delay / static_cast<double>(delta_max);
  r.false_alarm_rate = static_cast<double>(m.false_alarms.size()) / static_cast<double>(n_samples) *
                       static_cast<double>(unit);
  const auto& fa = m.false_alarms;
  if (fa.size() < 2) {
    r.mean_time_between_false_alarms = kNaN;
  } else {
    r.mean_time_between_false_alarms =
        static_cast<double>(fa.back() - fa.front()) / static_cast<double>(fa.size() - 1);
  }
  if (std::isnan(r.mean_time_between_false_alarms) || std::isnan(r.detection_delay)) {
    r.mean_time_ratio = kNaN;
  } else if (r.detection_delay == 0) {
    r.mean_time_ratio = std::numeric_limits<double>::infinity();
  } else {
    r.mean_time_ratio =
        r.mean_time_between_false_alarms / r.detection_delay * (1 - r.missed_detection_rate);
  }
  return r;
}

}  // namespace attune::nowcast

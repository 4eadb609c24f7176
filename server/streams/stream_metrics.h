// One stream's series in the nowcast metric families (server/metrics/catalog.h), updated from
// the engine's events. Cardinality per stream: 1 observation counter, targets × horizons error
// histograms (label `target` added to the catalogue's {stream, horizon}: errors of different
// targets have different units), one detector's statistic/threshold/events, at most 6 retrain
// triggers, 1 window gauge, 1 CPU counter. Streams are few (--max-streams) and named by the
// user; DeleteStream removes its series.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nowcast/nowcaster.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace attune::streams {

class StreamMetrics {
 public:
  explicit StreamMetrics(const nowcast::StreamConfig& config);
  StreamMetrics(const StreamMetrics&) = delete;
  StreamMetrics& operator=(const StreamMetrics&) = delete;

  // The events of newly ingested observations.
  void record(const std::vector<nowcast::Events>& events);
  // Gauges after a restore (counters restart from zero with the process, as Prometheus expects).
  void restored(const nowcast::StreamStatus& status, const std::vector<nowcast::FitRecord>& fits);
  // Removes every series of the stream; the object must not be used afterwards.
  void remove();

  // The detector whose statistic the stream exports: performance | adwin | page_hinkley, or ""
  // for periodic/none triggers.
  static std::string detector_of(const nowcast::StreamConfig& config);

 private:
  prometheus::Counter& retrain(const std::string& trigger);
  void fitted(const nowcast::FitRecord& r);

  std::string stream_;
  std::string detector_;
  std::map<std::string, std::string> labels_;
  prometheus::Counter* observations_;
  std::map<std::pair<std::string, int64_t>, prometheus::Histogram*> abs_error_;
  prometheus::Gauge* statistic_ = nullptr;
  prometheus::Gauge* threshold_ = nullptr;
  prometheus::Counter* drift_events_ = nullptr;
  std::map<std::string, prometheus::Counter*> retrain_;
  prometheus::Gauge* window_;
  prometheus::Counter* cpu_;
};

}  // namespace attune::streams

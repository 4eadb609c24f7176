#include "streams/stream_metrics.h"

#include <cmath>

#include "metrics/catalog.h"
#include "metrics/registry.h"

namespace attune::streams {

std::string StreamMetrics::detector_of(const nowcast::StreamConfig& c) {
  switch (c.retrain.trigger) {
    case nowcast::TriggerKind::performance: return "performance";
    case nowcast::TriggerKind::adwin: return "adwin";
    case nowcast::TriggerKind::page_hinkley: return "page_hinkley";
    default: return "";
  }
}

StreamMetrics::StreamMetrics(const nowcast::StreamConfig& c)
    : stream_(c.name), detector_(detector_of(c)), labels_{{"stream", c.name}} {
  const auto& cat = metrics::catalog();
  observations_ = &cat.nowcast_observations.Add(labels_);
  for (const auto& t : c.targets)
    for (int64_t h : c.horizons)
      abs_error_[{t, h}] = &cat.nowcast_abs_error.Add(
          {{"stream", stream_}, {"target", t}, {"horizon", std::to_string(h)}},
          metrics::buckets::abs_error());
  if (!detector_.empty()) {
    const std::map<std::string, std::string> d{{"stream", stream_}, {"detector", detector_}};
    statistic_ = &cat.drift_statistic.Add(d);
    drift_events_ = &cat.drift_events.Add(d);
    // ADWIN compares two sub-window means with a bound that changes at every cut: there is no
    // single threshold to plot against its statistic (the window mean).
    if (detector_ == "performance") {
      threshold_ = &cat.drift_threshold.Add(d);
      threshold_->Set(1.0 + c.retrain.tau);
    } else if (detector_ == "page_hinkley") {
      threshold_ = &cat.drift_threshold.Add(d);
      threshold_->Set(c.retrain.page_hinkley.threshold);
    }
  }
  window_ = &cat.nowcast_window_samples.Add(labels_);
  cpu_ = &cat.nowcast_train_cpu_seconds.Add(labels_);
}

prometheus::Counter& StreamMetrics::retrain(const std::string& trigger) {
  auto& c = retrain_[trigger];
  if (!c) c = &metrics::catalog().retrain.Add({{"stream", stream_}, {"trigger", trigger}});
  return *c;
}

void StreamMetrics::fitted(const nowcast::FitRecord& r) {
  retrain(r.trigger).Increment();
  window_->Set(static_cast<double>(r.window));
  cpu_->Increment(r.cpu_seconds);
}

void StreamMetrics::record(const std::vector<nowcast::Events>& events) {
  observations_->Increment(static_cast<double>(events.size()));
  for (const auto& ev : events) {
    for (const auto& m : ev.matured) {
      if (!m.from_model) continue;
      const auto it = abs_error_.find({m.target, m.horizon});
      if (it != abs_error_.end()) it->second->Observe(m.abs_error);
    }
    for (const auto& r : ev.readings)
      if (statistic_ && r.detector == detector_ && std::isfinite(r.value)) statistic_->Set(r.value);
    for (const auto& d : ev.drifts)
      if (drift_events_ && d.detector == detector_) drift_events_->Increment();
    for (const auto& f : ev.retrain_finished) fitted(f);
  }
}

void StreamMetrics::restored(const nowcast::StreamStatus& s,
                             const std::vector<nowcast::FitRecord>& fits) {
  if (!fits.empty()) window_->Set(static_cast<double>(fits.back().window));
  if (statistic_ && detector_ == "performance" && std::isfinite(s.ratio)) statistic_->Set(s.ratio);
}

void StreamMetrics::remove() {
  const auto& cat = metrics::catalog();
  cat.nowcast_observations.Remove(observations_);
  for (auto& [_, h] : abs_error_) cat.nowcast_abs_error.Remove(h);
  if (statistic_) cat.drift_statistic.Remove(statistic_);
  if (threshold_) cat.drift_threshold.Remove(threshold_);
  if (drift_events_) cat.drift_events.Remove(drift_events_);
  for (auto& [_, c] : retrain_) cat.retrain.Remove(c);
  cat.nowcast_window_samples.Remove(window_);
  cat.nowcast_train_cpu_seconds.Remove(cpu_);
  abs_error_.clear();
  retrain_.clear();
}

}  // namespace attune::streams

#include "nowcast/retrain_policy.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "nowcast/adwin.h"
#include "nowcast/page_hinkley.h"

namespace attune::nowcast {
namespace {
std::unique_ptr<DriftDetector> make_detector(const RetrainConfig& c) {
  if (c.trigger == TriggerKind::adwin) return std::make_unique<Adwin>(c.adwin);
  if (c.trigger == TriggerKind::page_hinkley) return std::make_unique<PageHinkley>(c.page_hinkley);
  return nullptr;
}
}  // namespace

RetrainPolicy::RetrainPolicy(const RetrainConfig& config)
    : c_(config), detector_(make_detector(config)) {}

double RetrainPolicy::ratio() const {
  if (static_cast<int64_t>(window_.size()) < c_.error_window)
    return std::numeric_limits<double>::quiet_NaN();
  return std::accumulate(window_.begin(), window_.end(), 0.0) / static_cast<double>(window_.size());
}

void RetrainPolicy::on_model_swapped() {
  window_.clear();
  above_ = 0;
  drift_latched_ = false;
  detector_ = make_detector(c_);
}

PolicyDecision RetrainPolicy::step(std::optional<double> z, int64_t age) {
  PolicyDecision d;
  if (z) {
    window_.push_back(*z);
    if (static_cast<int64_t>(window_.size()) > c_.error_window) window_.pop_front();
  }
  d.ratio = ratio();

  switch (c_.trigger) {
    case TriggerKind::none:
      break;
    case TriggerKind::periodic:
      if (age >= c_.period) {
        d.fire = true;
        d.trigger = "periodic";
      }
      break;
    case TriggerKind::performance:
      d.detector = "performance";
      if (z && !std::isnan(d.ratio)) {
        d.statistic = d.ratio;
        above_ = d.ratio > 1.0 + c_.tau ? above_ + 1 : 0;
        d.drift = above_ == c_.consecutive;
      }
      if (above_ >= c_.consecutive && age >= c_.min_age) {
        d.fire = true;
        d.trigger = "performance";
      }
      break;
    case TriggerKind::adwin:
    case TriggerKind::page_hinkley:
      d.detector = detector_->name();
      if (z) {
        detector_->update(*z);
        d.statistic = detector_->statistic();
        if (detector_->drift_detected()) {
          d.drift = true;
          drift_latched_ = true;
        }
      }
      if (drift_latched_ && age >= c_.min_age) {
        d.fire = true;
        d.trigger = detector_->name();
      }
      break;
  }
  if (!d.fire && c_.max_age > 0 && age >= c_.max_age) {
    d.fire = true;
    d.trigger = "max_age";
  }
  return d;
}

// Layout: above, latched, window size, window values, then the detector's state.
std::vector<double> RetrainPolicy::state() const {
  std::vector<double> s{static_cast<double>(above_), drift_latched_ ? 1.0 : 0.0,
                        static_cast<double>(window_.size())};
  s.insert(s.end(), window_.begin(), window_.end());
  if (detector_) {
    auto ds = detector_->state();
    s.insert(s.end(), ds.begin(), ds.end());
  }
  return s;
}

void RetrainPolicy::set_state(const std::vector<double>& s) {
  if (s.size() < 3) throw std::invalid_argument("retrain policy state: malformed");
  above_ = static_cast<int64_t>(s[0]);
  drift_latched_ = s[1] != 0.0;
  const size_t n = static_cast<size_t>(s[2]);
  if (s.size() < 3 + n) throw std::invalid_argument("retrain policy state: malformed");
  window_.assign(s.begin() + 3, s.begin() + 3 + n);
  detector_ = make_detector(c_);
  if (detector_) detector_->set_state(std::vector<double>(s.begin() + 3 + n, s.end()));
  else if (s.size() != 3 + n) throw std::invalid_argument("retrain policy state: malformed");
}

}  // namespace attune::nowcast

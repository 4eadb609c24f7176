#include "nowcast/page_hinkley.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace attune::nowcast {

PageHinkley::PageHinkley(PageHinkleyConfig config) : c_(config) { reset(); }

void PageHinkley::reset() {
  n_ = 0;
  mean_ = 0.0;
  sum_increase_ = 0.0;
  sum_decrease_ = 0.0;
  min_increase_ = std::numeric_limits<double>::infinity();
  // River starts the running maximum at −1, not −∞; kept for identical alarms.
  max_decrease_ = -1.0;
  drift_ = false;
}

void PageHinkley::update(double x) {
  if (drift_) reset();
  ++n_;
  mean_ += (x - mean_) / static_cast<double>(n_);
  const double dev = x - mean_;
  sum_increase_ = c_.alpha * sum_increase_ + dev - c_.delta;
  sum_decrease_ = c_.alpha * sum_decrease_ + dev + c_.delta;
  min_increase_ = std::min(min_increase_, sum_increase_);
  max_decrease_ = std::max(max_decrease_, sum_decrease_);
  if (n_ >= c_.min_instances) {
    const bool up = test_increase() > c_.threshold;
    const bool down = test_decrease() > c_.threshold;
    drift_ = c_.mode == PageHinkleyMode::up ? up : c_.mode == PageHinkleyMode::down ? down : up || down;
  }
}

double PageHinkley::statistic() const {
  if (n_ == 0) return 0.0;
  switch (c_.mode) {
    case PageHinkleyMode::up: return test_increase();
    case PageHinkleyMode::down: return test_decrease();
    case PageHinkleyMode::both: break;
  }
  return std::max(test_increase(), test_decrease());
}

std::vector<double> PageHinkley::state() const {
  return {static_cast<double>(n_), mean_, sum_increase_, sum_decrease_,
          min_increase_, max_decrease_, drift_ ? 1.0 : 0.0};
}

void PageHinkley::set_state(const std::vector<double>& s) {
  if (s.size() != 7) throw std::invalid_argument("page_hinkley state: expected 7 numbers");
  n_ = static_cast<int64_t>(s[0]);
  mean_ = s[1];
  sum_increase_ = s[2];
  sum_decrease_ = s[3];
  min_increase_ = s[4];
  max_decrease_ = s[5];
  drift_ = s[6] != 0.0;
}

}  // namespace attune::nowcast

// Causal climatology baseline (spec §4 arm K): the forecast for a target at time τ is the mean
// of every value observed so far within ±half_window_days of τ's position in the year (and in
// the same hour of the day below daily resolution). Days are counted in mean Gregorian years
// from the epoch, which drifts from the civil calendar by under a day — well inside the ±7-day
// window. Before anything in the window was seen it falls back to the running mean.
#pragma once

#include <cstdint>
#include <vector>

namespace attune::nowcast {

class Climatology {
 public:
  Climatology(int64_t n_targets, int64_t resolution_seconds, int64_t half_window_days = 7);
  void add(int64_t time, const std::vector<double>& target_values);
  double forecast(int64_t target, int64_t time) const;  // NaN before any observation

  std::vector<double> state() const;  // sums then counts
  void set_state(const std::vector<double>& s);

 private:
  int64_t bin(int64_t day, int64_t slot) const { return day * slots_ + slot; }
  static int64_t day_of_year(int64_t time);
  int64_t slot(int64_t time) const;

  int64_t n_targets_, slots_, half_window_;
  std::vector<double> sum_;    // [target][day][slot]
  std::vector<double> count_;  // [day][slot]
};

}  // namespace attune::nowcast

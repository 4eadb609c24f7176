// The recent observations of a stream, addressed by their global step index (0 = the first
// observation ever ingested). Keeps the last `capacity` rows: enough for N_max training samples
// with their lags and horizons.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <stdexcept>
#include <vector>

namespace attune::nowcast {

class History {
 public:
  History(int64_t n_vars, int64_t capacity) : n_vars_(n_vars), capacity_(capacity) {}

  void push(int64_t time, const std::vector<double>& values) {
    times_.push_back(time);
    values_.insert(values_.end(), values.begin(), values.end());
    ++count_;
    if (static_cast<int64_t>(times_.size()) > capacity_) {
      times_.pop_front();
      values_.erase(values_.begin(), values_.begin() + n_vars_);
    }
  }

  int64_t count() const { return count_; }  // observations ever pushed
  int64_t first() const { return count_ - static_cast<int64_t>(times_.size()); }
  int64_t last() const { return count_ - 1; }
  int64_t n_vars() const { return n_vars_; }
  std::optional<int64_t> last_time() const {
    if (times_.empty()) return std::nullopt;
    return times_.back();
  }
  int64_t time(int64_t step) const { return times_.at(offset(step)); }
  double value(int64_t step, int64_t var) const {
    return values_[offset(step) * static_cast<size_t>(n_vars_) + static_cast<size_t>(var)];
  }

  // Flat copies for snapshots: times oldest first, values row-major.
  std::vector<int64_t> times() const { return {times_.begin(), times_.end()}; }
  std::vector<double> values() const { return {values_.begin(), values_.end()}; }
  void restore(int64_t count, const std::vector<int64_t>& times, const std::vector<double>& values) {
    if (values.size() != times.size() * static_cast<size_t>(n_vars_) ||
        static_cast<int64_t>(times.size()) > count)
      throw std::invalid_argument("history: malformed snapshot");
    count_ = count;
    times_.assign(times.begin(), times.end());
    values_.assign(values.begin(), values.end());
  }

 private:
  size_t offset(int64_t step) const {
    if (step < first() || step > last()) throw std::out_of_range("history: step not retained");
    return static_cast<size_t>(step - first());
  }
  int64_t n_vars_;
  int64_t capacity_;
  int64_t count_ = 0;
  std::deque<int64_t> times_;
  std::deque<double> values_;
};

}  // namespace attune::nowcast

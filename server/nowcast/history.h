// The recent observations of a stream, addressed by their global step index (0 = the first
// observation ever ingested). Keeps the last `capacity` rows: enough for N_max training samples
// with their lags and horizons. A flat ring buffer, because every fit reads the whole window
// element by element (sample assembly, the Variance Horizon scan).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

namespace attune::nowcast {

class History {
 public:
  History(int64_t n_vars, int64_t capacity)
      : n_vars_(n_vars), capacity_(capacity),
        times_(static_cast<size_t>(capacity)),
        values_(static_cast<size_t>(capacity * n_vars)) {}

  void push(int64_t time, const std::vector<double>& values) {
    ++count_;
    if (size_ < capacity_) ++size_;
    else if (++start_ == capacity_) start_ = 0;
    const size_t s = slot(count_ - 1);
    times_[s] = time;
    for (int64_t v = 0; v < n_vars_; ++v)
      values_[s * static_cast<size_t>(n_vars_) + static_cast<size_t>(v)] = values[static_cast<size_t>(v)];
  }

  int64_t count() const { return count_; }  // observations ever pushed
  int64_t size() const { return size_; }
  int64_t first() const { return count_ - size(); }
  int64_t last() const { return count_ - 1; }
  int64_t n_vars() const { return n_vars_; }
  std::optional<int64_t> last_time() const {
    if (count_ == 0) return std::nullopt;
    return times_[slot(last())];
  }
  int64_t time(int64_t step) const { return times_[checked(step)]; }
  double value(int64_t step, int64_t var) const {
    return values_[checked(step) * static_cast<size_t>(n_vars_) + static_cast<size_t>(var)];
  }
  // value(from + i, var) for i < n into out (one bounds check for the whole range).
  void column(int64_t var, int64_t from, int64_t n, double* out) const {
    if (n <= 0) return;
    checked(from);
    checked(from + n - 1);
    size_t s = slot(from);
    for (int64_t i = 0; i < n; ++i) {
      out[i] = values_[s * static_cast<size_t>(n_vars_) + static_cast<size_t>(var)];
      if (++s == static_cast<size_t>(capacity_)) s = 0;
    }
  }

  // Flat copies for snapshots: times oldest first, values row-major.
  std::vector<int64_t> times() const {
    std::vector<int64_t> t;
    for (int64_t s = first(); s <= last(); ++s) t.push_back(times_[slot(s)]);
    return t;
  }
  std::vector<double> values() const {
    std::vector<double> v;
    for (int64_t s = first(); s <= last(); ++s)
      for (int64_t j = 0; j < n_vars_; ++j) v.push_back(value(s, j));
    return v;
  }
  void restore(int64_t count, const std::vector<int64_t>& times, const std::vector<double>& values) {
    if (values.size() != times.size() * static_cast<size_t>(n_vars_) ||
        static_cast<int64_t>(times.size()) > count || static_cast<int64_t>(times.size()) > capacity_ ||
        (static_cast<int64_t>(times.size()) < capacity_ && static_cast<int64_t>(times.size()) != count))
      throw std::invalid_argument("history: malformed snapshot");
    count_ = count;
    size_ = static_cast<int64_t>(times.size());
    start_ = 0;
    for (size_t i = 0; i < times.size(); ++i) {
      const size_t s = slot(first() + static_cast<int64_t>(i));
      times_[s] = times[i];
      for (int64_t j = 0; j < n_vars_; ++j)
        values_[s * static_cast<size_t>(n_vars_) + static_cast<size_t>(j)] =
            values[i * static_cast<size_t>(n_vars_) + static_cast<size_t>(j)];
    }
  }

 private:
  size_t slot(int64_t step) const {  // no bounds check; step in [first(), last()]
    int64_t s = start_ + (step - first());
    if (s >= capacity_) s -= capacity_;
    return static_cast<size_t>(s);
  }
  size_t checked(int64_t step) const {
    if (step < first() || step > last()) throw std::out_of_range("history: step not retained");
    return slot(step);
  }
  int64_t n_vars_;
  int64_t capacity_;
  int64_t count_ = 0;
  int64_t size_ = 0;   // rows retained, min(count, capacity)
  int64_t start_ = 0;  // ring slot of first()
  std::vector<int64_t> times_;
  std::vector<double> values_;
};

}  // namespace attune::nowcast

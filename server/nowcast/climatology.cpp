#include "nowcast/climatology.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace attune::nowcast {
namespace {
constexpr int64_t kDays = 366;
constexpr double kYearSeconds = 365.2425 * 86400.0;
}  // namespace

Climatology::Climatology(int64_t n_targets, int64_t resolution_seconds, int64_t half_window_days)
    : n_targets_(n_targets),
      slots_(resolution_seconds < 86400 ? 24 : 1),
      half_window_(half_window_days),
      sum_(static_cast<size_t>(n_targets * kDays * slots_), 0.0),
      count_(static_cast<size_t>(kDays * slots_), 0.0) {}

int64_t Climatology::day_of_year(int64_t time) {
  double phase = std::fmod(static_cast<double>(time), kYearSeconds);
  if (phase < 0) phase += kYearSeconds;
  return std::min<int64_t>(kDays - 1, static_cast<int64_t>(phase / 86400.0));
}

int64_t Climatology::slot(int64_t time) const {
  if (slots_ == 1) return 0;
  const int64_t s = ((time % 86400) + 86400) % 86400;
  return s / 3600;
}

void Climatology::add(int64_t time, const std::vector<double>& v) {
  const int64_t b = bin(day_of_year(time), slot(time));
  count_[static_cast<size_t>(b)] += 1.0;
  for (int64_t j = 0; j < n_targets_; ++j)
    sum_[static_cast<size_t>(j * kDays * slots_ + b)] += v[static_cast<size_t>(j)];
}

double Climatology::forecast(int64_t target, int64_t time) const {
  const int64_t day = day_of_year(time), s = slot(time);
  const double* sums = sum_.data() + target * kDays * slots_;
  double total = 0, n = 0;
  for (int64_t d = day - half_window_; d <= day + half_window_; ++d) {
    const int64_t b = bin(((d % kDays) + kDays) % kDays, s);
    total += sums[b];
    n += count_[static_cast<size_t>(b)];
  }
  if (n > 0) return total / n;
  total = n = 0;
  for (size_t b = 0; b < count_.size(); ++b) {
    total += sums[b];
    n += count_[b];
  }
  return n > 0 ? total / n : std::numeric_limits<double>::quiet_NaN();
}

std::vector<double> Climatology::state() const {
  std::vector<double> s(sum_);
  s.insert(s.end(), count_.begin(), count_.end());
  return s;
}

void Climatology::set_state(const std::vector<double>& s) {
  if (s.size() != sum_.size() + count_.size())
    throw std::invalid_argument("climatology state: malformed");
  sum_.assign(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(sum_.size()));
  count_.assign(s.begin() + static_cast<std::ptrdiff_t>(sum_.size()), s.end());
}

}  // namespace attune::nowcast

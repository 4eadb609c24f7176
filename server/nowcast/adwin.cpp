#include "nowcast/adwin.h"

#include <cmath>
#include <stdexcept>

namespace attune::nowcast {

Adwin::Adwin(AdwinConfig config) : c_(config) { reset(); }

void Adwin::reset() {
  levels_.assign(1, Level{});
  total_ = variance_ = width_ = 0.0;
  tick_ = 0;
  n_detections_ = 0;
  drift_ = false;
}

void Adwin::update(double x) {
  if (drift_) reset();
  insert(x);
  drift_ = detect_change();
}

void Adwin::insert(double x) {
  levels_[0].total.push_back(x);
  levels_[0].variance.push_back(0.0);
  width_ += 1.0;
  if (width_ > 1.0) {
    const double d = x - total_ / (width_ - 1.0);
    variance_ += (width_ - 1.0) * d * d / width_;
  }
  total_ += x;
  compress();
}

// Merges the two oldest buckets of a full level into one bucket of the next level.
void Adwin::compress() {
  for (size_t k = 0; k < levels_.size(); ++k) {
    if (static_cast<int64_t>(levels_[k].total.size()) != c_.max_buckets + 1) break;
    if (k + 1 == levels_.size()) levels_.emplace_back();  // before taking references
    Level& level = levels_[k];
    const double n = std::ldexp(1.0, static_cast<int>(k));
    const double mu1 = level.total[0] / n, mu2 = level.total[1] / n;
    // Chan et al. pairwise merge: n1·n2/(n1+n2)·(μ1−μ2)² with n1 = n2 = n.
    const double v12 = level.variance[0] + level.variance[1] + n * 0.5 * (mu1 - mu2) * (mu1 - mu2);
    Level& next = levels_[k + 1];
    next.total.push_back(level.total[0] + level.total[1]);
    next.variance.push_back(v12);
    level.total.erase(level.total.begin(), level.total.begin() + 2);
    level.variance.erase(level.variance.begin(), level.variance.begin() + 2);
    if (static_cast<int64_t>(next.total.size()) <= c_.max_buckets) break;
  }
}

double Adwin::delete_oldest() {
  Level& level = levels_.back();
  const double n = std::ldexp(1.0, static_cast<int>(levels_.size() - 1));
  const double u = level.total[0], v = level.variance[0];
  const double mu = u / n;
  width_ -= n;
  total_ -= u;
  const double mu_window = total_ / width_;
  variance_ -= v + n * width_ * (mu - mu_window) * (mu - mu_window) / (n + width_);
  level.total.erase(level.total.begin());
  level.variance.erase(level.variance.begin());
  if (level.total.empty()) levels_.pop_back();
  return n;
}

bool Adwin::cut(double n0, double n1, double delta_mean) const {
  const double L = static_cast<double>(c_.min_window_length);
  const double delta_prime = std::log(2.0 * std::log(width_) / c_.delta);
  const double m = 1.0 / (n0 - L + 1.0) + 1.0 / (n1 - L + 1.0);
  const double eps = std::sqrt(2.0 * m * (variance_ / width_) * delta_prime) +
                     2.0 / 3.0 * delta_prime * m;
  return std::fabs(delta_mean) > eps;
}

bool Adwin::detect_change() {
  bool change = false;
  ++tick_;
  if (tick_ % c_.clock != 0 || width_ <= static_cast<double>(c_.grace_period)) return false;
  const double min_len = static_cast<double>(c_.min_window_length);
  bool reduce = true;
  while (reduce) {
    reduce = false;
    double n0 = 0.0, n1 = width_, u0 = 0.0, u1 = total_;
    bool done = false;
    // W0 grows from the oldest bucket towards the newest; W1 is the rest.
    for (size_t k = levels_.size(); k-- > 0 && !done;) {
      const double size = std::ldexp(1.0, static_cast<int>(k));
      const Level& level = levels_[k];
      for (size_t b = 0; b < level.total.size(); ++b) {
        n0 += size;
        n1 -= size;
        u0 += level.total[b];
        u1 -= level.total[b];
        if (k == 0 && b + 1 == level.total.size()) {
          done = true;
          break;
        }
        if (n1 >= min_len && n0 >= min_len && cut(n0, n1, u0 / n0 - u1 / n1)) {
          reduce = true;
          change = true;
          if (width_ > 0) delete_oldest();
          done = true;
          break;
        }
      }
    }
  }
  if (change) ++n_detections_;
  return change;
}

std::vector<int64_t> Adwin::bucket_counts() const {
  std::vector<int64_t> out;
  for (const auto& l : levels_) out.push_back(static_cast<int64_t>(l.total.size()));
  return out;
}

// Layout: width, total, variance, tick, n_detections, drift, n_levels, then per level its count
// followed by count totals and count variances.
std::vector<double> Adwin::state() const {
  std::vector<double> s{width_, total_, variance_, static_cast<double>(tick_),
                        static_cast<double>(n_detections_), drift_ ? 1.0 : 0.0,
                        static_cast<double>(levels_.size())};
  for (const auto& l : levels_) {
    s.push_back(static_cast<double>(l.total.size()));
    s.insert(s.end(), l.total.begin(), l.total.end());
    s.insert(s.end(), l.variance.begin(), l.variance.end());
  }
  return s;
}

void Adwin::set_state(const std::vector<double>& s) {
  auto bad = [] { throw std::invalid_argument("adwin state: malformed"); };
  if (s.size() < 7) bad();
  width_ = s[0];
  total_ = s[1];
  variance_ = s[2];
  tick_ = static_cast<int64_t>(s[3]);
  n_detections_ = static_cast<int64_t>(s[4]);
  drift_ = s[5] != 0.0;
  const size_t n_levels = static_cast<size_t>(s[6]);
  if (n_levels < 1) bad();
  levels_.assign(n_levels, Level{});
  size_t i = 7;
  for (auto& l : levels_) {
    if (i >= s.size()) bad();
    const size_t count = static_cast<size_t>(s[i++]);
    if (i + 2 * count > s.size()) bad();
    l.total.assign(s.begin() + i, s.begin() + i + count);
    l.variance.assign(s.begin() + i + count, s.begin() + i + 2 * count);
    i += 2 * count;
  }
  if (i != s.size()) bad();
}

}  // namespace attune::nowcast

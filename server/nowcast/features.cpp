#include "nowcast/features.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace attune::nowcast {
namespace {
constexpr double kTwoPi = 6.283185307179586;
constexpr double kYearSeconds = 365.2425 * 86400.0;  // mean Gregorian year
}  // namespace

FeatureLayout feature_layout(const StreamConfig& c) {
  return {static_cast<int64_t>(c.variables.size()), c.lags, input_count(c) -
                                                               static_cast<int64_t>(c.variables.size()) * c.lags};
}

void calendar_features(int64_t time, int64_t resolution_seconds, double* out) {
  const double t = static_cast<double>(time);
  const double year = std::fmod(t, kYearSeconds) / kYearSeconds;
  out[0] = std::sin(kTwoPi * year);
  out[1] = std::cos(kTwoPi * year);
  if (resolution_seconds < 86400) {
    const double day = std::fmod(t, 86400.0) / 86400.0;
    out[2] = std::sin(kTwoPi * day);
    out[3] = std::cos(kTwoPi * day);
  }
}

namespace {
void fill_row(const History& h, const StreamConfig& c, const FeatureLayout& f, int64_t step,
              double* out) {
  for (int64_t l = 0; l < f.lags; ++l) {
    const int64_t s = step - (f.lags - 1 - l);
    for (int64_t v = 0; v < f.n_vars; ++v) out[l * f.n_vars + v] = h.value(s, v);
  }
  if (f.n_calendar > 0) calendar_features(h.time(step), c.resolution_seconds, out + f.n_vars * f.lags);
}
}  // namespace

torch::Tensor feature_row(const History& h, const StreamConfig& c, int64_t step) {
  const auto f = feature_layout(c);
  auto x = torch::empty({f.size()}, torch::kFloat64);
  fill_row(h, c, f, step, x.data_ptr<double>());
  return x;
}

int64_t available_samples(const History& h, const StreamConfig& c) {
  const int64_t first_anchor = h.first() + c.lags - 1;
  const int64_t last_anchor = h.last() - c.horizons.back();
  return std::max<int64_t>(0, last_anchor - first_anchor + 1);
}

Samples training_samples(const History& h, const StreamConfig& c,
                         const std::vector<int64_t>& target_vars, int64_t n) {
  const auto f = feature_layout(c);
  const int64_t n_h = static_cast<int64_t>(c.horizons.size());
  const int64_t n_out = static_cast<int64_t>(target_vars.size()) * n_h;
  const int64_t last_anchor = h.last() - c.horizons.back();
  Samples s;
  s.first_anchor = last_anchor - n + 1;
  s.x = torch::empty({n, f.size()}, torch::kFloat64);
  s.y = torch::empty({n, n_out}, torch::kFloat64);
  double* x = s.x.data_ptr<double>();
  double* y = s.y.data_ptr<double>();
  for (int64_t r = 0; r < n; ++r) {
    const int64_t a = s.first_anchor + r;
    fill_row(h, c, f, a, x + r * f.size());
    for (size_t j = 0; j < target_vars.size(); ++j) {
      const double now = h.value(a, target_vars[j]);
      for (int64_t k = 0; k < n_h; ++k)
        y[r * n_out + static_cast<int64_t>(j) * n_h + k] = h.value(a + c.horizons[k], target_vars[j]) - now;
    }
  }
  return s;
}

void MinMaxScaler::fit(const torch::Tensor& x) {
  const auto a = x.to(torch::kFloat64).contiguous();
  const int64_t n = a.size(0), p = a.size(1);
  if (n < 1) throw std::invalid_argument("min-max scaler: no rows");
  const double* v = a.data_ptr<double>();
  std::vector<double> lo(v, v + p), hi(v, v + p);
  for (int64_t r = 1; r < n; ++r)
    for (int64_t j = 0; j < p; ++j) {
      lo[j] = std::min(lo[j], v[r * p + j]);
      hi[j] = std::max(hi[j], v[r * p + j]);
    }
  fit_ranges(lo, hi);
}

void MinMaxScaler::fit_ranges(const std::vector<double>& lo, const std::vector<double>& hi) {
  center.resize(lo.size());
  half_range.resize(lo.size());
  for (size_t j = 0; j < lo.size(); ++j) {
    center[j] = (hi[j] + lo[j]) / 2;
    half_range[j] = (hi[j] - lo[j]) / 2;
    if (!(half_range[j] > 0)) half_range[j] = 1.0;
  }
}

namespace {
// out[r, j] = inverse ? v·h + c : (v − c) / h
torch::Tensor apply(const torch::Tensor& x, const std::vector<double>& c,
                    const std::vector<double>& h, bool inverse) {
  const auto a = x.to(torch::kFloat64).contiguous();
  const int64_t p = a.size(-1), n = a.numel() / std::max<int64_t>(1, p);
  if (static_cast<int64_t>(c.size()) != p)
    throw std::invalid_argument("min-max scaler: column count mismatch");
  auto out = torch::empty_like(a);
  const double* v = a.data_ptr<double>();
  double* o = out.data_ptr<double>();
  for (int64_t r = 0; r < n; ++r, v += p, o += p)
    if (inverse)
      for (int64_t j = 0; j < p; ++j) o[j] = v[j] * h[j] + c[j];
    else
      for (int64_t j = 0; j < p; ++j) o[j] = (v[j] - c[j]) / h[j];
  return out;
}
}  // namespace

torch::Tensor MinMaxScaler::transform(const torch::Tensor& x) const {
  return apply(x, center, half_range, false);
}
torch::Tensor MinMaxScaler::inverse(const torch::Tensor& x) const {
  return apply(x, center, half_range, true);
}

}  // namespace attune::nowcast

// Inputs and targets of the direct multi-horizon forecaster (spec §1.3): the input at anchor t
// is lags 0..L−1 of every variable (oldest lag first, so sequence models can reshape it to
// [L, variables]) followed by calendar sin/cos; the targets are the differences
// y_{t+h} − y_t for every target and horizon (output index target·H + horizon index).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "nowcast/history.h"
#include "nowcast/stream_config.h"

namespace attune::nowcast {

struct FeatureLayout {
  int64_t n_vars = 0;
  int64_t lags = 0;
  int64_t n_calendar = 0;
  int64_t size() const { return n_vars * lags + n_calendar; }
};

FeatureLayout feature_layout(const StreamConfig& config);

// Year phase (and day phase below daily resolution) as sin/cos pairs. The upstream plugin used
// the raw hour in its cos term (§1.3); we use 2π·phase for both.
void calendar_features(int64_t time, int64_t resolution_seconds, double* out);

// Input row at anchor `step` (needs `step − L + 1` retained), as float64 [p].
torch::Tensor feature_row(const History& h, const StreamConfig& c, int64_t step);

// Number of anchors whose inputs and every horizon's target are in the history.
int64_t available_samples(const History& h, const StreamConfig& c);

// The newest `n` complete samples, oldest first: x float64 [n, p], y float64 [n, T·H].
struct Samples {
  torch::Tensor x, y;
  int64_t first_anchor = 0;
};
Samples training_samples(const History& h, const StreamConfig& c,
                         const std::vector<int64_t>& target_vars, int64_t n);

// Min–max scaling of each column to [−1, 1] (§1.3); constant columns map to 0. Plain vectors and
// loops: the scaler is fitted inside every (timed) fit and applied to every forecast, where small
// tensor ops and allocations would cost more than the arithmetic.
struct MinMaxScaler {
  std::vector<double> center, half_range;  // per column
  void fit(const torch::Tensor& x);        // x float64 [n ≥ 1, columns]
  // From per-column minima and maxima (what fit() computes).
  void fit_ranges(const std::vector<double>& lo, const std::vector<double>& hi);
  torch::Tensor transform(const torch::Tensor& x) const;  // (x − center) / half_range
  torch::Tensor inverse(const torch::Tensor& x) const;    // x · half_range + center
};

}  // namespace attune::nowcast

// A trainable direct multi-horizon regressor on min–max scaled inputs and targets.
// Implementations: closed-form ridge (ridge.cpp) and the LibTorch FC-MLP, LSTM and Transformer
// encoder (neural.cpp). Persistence and climatology need no regressor (baselines.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "nowcast/features.h"
#include "nowcast/stream_config.h"

namespace attune::nowcast {

struct FitData {
  torch::Tensor x, y, w;    // training part, float64 [n, p], [n, outputs], [n]
  torch::Tensor x_val, y_val;  // held-out tail (early stopping and e_ref)
};

struct FitStats {
  int64_t epochs = 1;  // passes over the training rows (ridge: 1)
  double flops = 0;    // compute proxy of spec §1.8
};

class Regressor {
 public:
  virtual ~Regressor() = default;
  virtual FitStats fit(const FitData& data) = 0;
  // Fits on the unscaled training rows and fits `x_scaler`/`y_scaler` (§1.3) on them in the
  // same passes, without a scaled copy of the window; the same model as scaling, then fit().
  // nullopt: not supported, the caller scales and calls fit(). Ridge supports it.
  virtual std::optional<FitStats> fit_unscaled(const torch::Tensor& x, const torch::Tensor& y,
                                               const torch::Tensor& w, MinMaxScaler& x_scaler,
                                               MinMaxScaler& y_scaler) {
    return std::nullopt;
  }
  // float64 [n, p] → float64 [n, outputs]; thread-compatible, not thread-safe.
  virtual torch::Tensor predict(const torch::Tensor& x) = 0;
  virtual void save(torch::serialize::OutputArchive& archive) const = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;
};

// A fresh, untrained regressor. `seed` fixes every random draw of a neural model (init,
// shuffling, dropout): each model owns its generator, so concurrent fits stay reproducible.
// Throws std::invalid_argument for persistence/climatology.
std::unique_ptr<Regressor> make_regressor(const ModelConfig& config, const FeatureLayout& layout,
                                          int64_t n_outputs, uint64_t seed);

std::unique_ptr<Regressor> make_ridge(double l2);
std::unique_ptr<Regressor> make_neural(const ModelConfig& config, const FeatureLayout& layout,
                                       int64_t n_outputs, uint64_t seed);

}  // namespace attune::nowcast

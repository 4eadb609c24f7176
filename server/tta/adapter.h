// Test-time adaptation sessions: the entry point for the service layer.
//
//   auto adapter = attune::tta::make_adapter(serving_model, options);   // private copy
//   adapter->compute_fisher(clean_samples, 64);                          // needed by EATA
//   for (batch : stream) { auto r = adapter->adapt(batch); ... r.probs, r.stats ... }
//   adapter->stats(); adapter->reset(); adapter->export_module();
//
// Errors: std::invalid_argument for bad options (INVALID_ARGUMENT), InvalidBatch for unusable
// batches (INVALID_ARGUMENT), FailedPrecondition (FAILED_PRECONDITION) — see tta/errors.h.
// LibTorch's c10::Error can still escape from the model's own forward (e.g. a wrong input
// shape). An Adapter is not thread-safe: the session layer serialises calls.
#pragma once
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tta/fisher.h"
#include "tta/options.h"

namespace attune::tta {

// Per-batch statistics. Sample counts add up over `steps` rounds (as the official counters);
// entropy, loss and penalty describe the last round, whose forward produced the logits.
struct BatchStats {
  int64_t samples = 0;
  double mean_entropy = 0;         // mean prediction entropy of the model's softmax (not LAME's Z)
  int64_t reliable = 0;            // EATA/ETA |S1| (E < E0); Tent: every sample
  int64_t used = 0;                // samples in the loss = back-propagated (EATA |S2|, Tent N)
  int64_t filtered_entropy = 0;    // EATA/ETA: N − |S1|
  int64_t filtered_redundant = 0;  // EATA/ETA: |S1| − |S2|
  bool updated = false;            // at least one optimiser step
  std::optional<double> loss;      // loss back-propagated (entropy part + Fisher part)
  std::optional<double> fisher_penalty;  // EATA: β Σ F(θ−θ0)² before the update
  std::optional<double> mean_weight;     // EATA/ETA: mean of 1/exp(E − E0) over S2
  int64_t lame_iterations = 0;
  bool lame_converged = false;
};

struct AdaptResult {
  torch::Tensor logits;  // [N, C] of the forward that predicted (pre-update for tent/eta/eata)
  torch::Tensor probs;   // [N, C] softmax(logits), or LAME's corrected assignment Z
  BatchStats stats;
};

// Cumulative over the session's life (reset() keeps them: they are telemetry).
struct SessionStats {
  int64_t batches = 0;
  int64_t samples = 0;
  int64_t updates = 0;   // optimiser steps
  int64_t resets = 0;    // explicit reset() calls (episodic resets not counted)
  int64_t reliable = 0;  // EATA n1 (num_samples_update_1); Tent: samples seen × steps
  int64_t used = 0;      // EATA n2 (num_samples_update_2): samples back-propagated
  int64_t filtered_entropy = 0;
  int64_t filtered_redundant = 0;
  double param_distance = 0;           // ‖θ − θ0‖₂ over the adapted BatchNorm parameters
  std::optional<double> fisher_drift;  // Σ F (θ − θ0)² (no β) once Fisher exists
  torch::Tensor moving_avg;            // EATA/ETA m; undefined before a reliable sample
  std::optional<double> moving_avg_entropy;  // entropy of m (collapse indicator)
  // LAME: where p and f come from: "features+head" (one backbone pass), "features+forward"
  // (two passes) or "logits" (the model has no features method).
  std::string lame_inputs;
};

class Adapter {
 public:
  virtual ~Adapter() = default;

  // Adapts on (tent/eta/eata/norm) or corrects (lame) one batch [N, ...] of the model's input
  // dtype, finite, N ≥ 1 (N ≥ 2 for methods normalising with batch statistics); returns the
  // predictions. Episodic sessions reset before every batch.
  virtual AdaptResult adapt(const torch::Tensor& batch) = 0;

  // Restores the adapted parameters, BatchNorm buffers and optimiser state to the source's
  // and clears EATA's moving average m (it describes the predictions of the model being
  // discarded). Keeps the Fisher information and the cumulative counters.
  virtual void reset() = 0;

  // EATA's Fisher information from clean in-distribution batches, at the source parameters θ0
  // whatever the session has adapted so far; replaces any previous one. Valid for tent, eta and
  // eata (only eata uses it in the loss; the others report fisher_drift). Others:
  // FailedPrecondition.
  virtual const FisherInfo& compute_fisher(const std::vector<torch::Tensor>& batches);
  // Same on consecutive slices of `samples` [M, ...] of `batch_size` (the last may be shorter);
  // the caller shuffles. InvalidBatch if a slice would hold a single sample.
  const FisherInfo& compute_fisher(const torch::Tensor& samples, int64_t batch_size);
  // Installs a Fisher computed elsewhere (e.g. once per model, shared by sessions).
  virtual void set_fisher(FisherInfo fisher);
  // Null until computed or set.
  virtual const FisherInfo* fisher() const { return nullptr; }

  virtual SessionStats stats() const = 0;

  // Current values of the adapted parameters (names as in the model), detached copies.
  virtual std::vector<std::pair<std::string, torch::Tensor>> adapted_parameters() const {
    return {};
  }

  // The adapted model as a new TorchScript module in eval mode (BatchNorm running statistics
  // are the exponential average of the adaptation batches' statistics). FailedPrecondition for
  // source and lame, which never change the model.
  virtual torch::jit::Module export_module() const = 0;

  const Options& options() const { return options_; }

 protected:
  explicit Adapter(Options options) : options_(std::move(options)) {}
  Options options_;
};

// Validates `options` (std::invalid_argument) and builds the session on a private deep copy of
// `source`; the source module is never modified. FailedPrecondition when the method needs
// BatchNorm (norm, tent, eta, eata) and the model has none.
std::unique_ptr<Adapter> make_adapter(const torch::jit::Module& source, const Options& options);

}  // namespace attune::tta

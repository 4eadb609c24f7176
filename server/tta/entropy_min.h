// One adaptation step of Tent (Wang et al., ICLR 2021) and of EATA/ETA (Niu et al., ICML 2022)
// on a BnModel, matching DequanWang/tent `forward_and_adapt` and mr-eggplant/EATA
// `forward_and_adapt_eata` (tta spec §2-§3).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <optional>

#include "tta/bn_model.h"
#include "tta/fisher.h"

namespace attune::tta {

// −Σ_k softmax(ℓ)_k log_softmax(ℓ)_k per row, the official `softmax_entropy`; `probs`, if given,
// receives the softmax it computed (in the autograd graph).
torch::Tensor softmax_entropy(const torch::Tensor& logits, torch::Tensor* probs = nullptr);

struct StepOutcome {
  torch::Tensor logits;                  // pre-update forward (returned to the caller, as official)
  torch::Tensor probs;                   // softmax(logits), detached
  torch::Tensor entropy;                 // [N], detached
  int64_t reliable = 0;                  // |S1| (Tent: N)
  int64_t used = 0;                      // |S2|, samples in the loss (Tent: N)
  torch::Tensor weights;                 // EATA: 1/exp(E − E0) of the samples in S2, detached
  std::optional<double> mean_weight;     // EATA: mean of `weights` (S2 non-empty)
  bool updated = false;                  // backward + optimiser step taken
  std::optional<double> loss;            // value passed to backward
  std::optional<double> fisher_penalty;  // β Σ F(θ−θ0)² before the step
};

// Tent: loss = mean entropy of the batch; backward, step, zero_grad.
StepOutcome tent_step(BnModel& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x);

struct EataStepConfig {
  double e_margin_factor;       // E0 = factor · ln C
  double d_margin;              // ε
  const FisherPenalty* fisher;  // null for ETA
  double fisher_alpha;          // β
};

// EATA/ETA. `moving_avg` is m, the running mean of reliable non-redundant probabilities
// (undefined until the first batch with a reliable sample); updated in place. CPU tensors.
StepOutcome eata_step(BnModel& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                      const EataStepConfig& config, torch::Tensor& moving_avg);

}  // namespace attune::tta

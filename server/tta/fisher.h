// EATA's Fisher information and anti-forgetting regulariser (Niu et al., ICML 2022, Eq. 9),
// estimated exactly as the official main.py does (tta spec §2): the average over clean batches
// of the squared gradient of the batch-mean cross-entropy against argmax pseudo-labels.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "tta/bn_model.h"

namespace attune::tta {

struct FisherInfo {
  std::vector<std::string> names;     // BatchNorm parameter names, BnModel::param_names() order
  std::vector<torch::Tensor> F;       // (1/B) Σ_b (∇θ mean_{i∈b} CE(f(x_i), argmax f(x_i)))²
  std::vector<torch::Tensor> theta0;  // parameters at which F was estimated (the source's)
  int64_t batches = 0;
  int64_t samples = 0;

  bool empty() const { return F.empty(); }
};

// Estimates F at the model's current parameters with batch-statistic BatchNorm. Leaves the
// parameter gradients zeroed; BatchNorm running statistics are updated as a side effect.
FisherInfo estimate_fisher(BnModel& model, const std::vector<torch::Tensor>& batches);

// The regulariser β Σ_params Σ F ⊙ (θ − θ0)² (no ½, sums over elements; official). Its
// gradient is added by hand instead of through autograd: a differentiable penalty over a few
// hundred BatchNorm numbers cost ~30 dispatched ops forward and backward (~0.25 ms per batch,
// more than the arithmetic by orders of magnitude). Each element's gradient is computed with the
// official roundings, (β·F)·(2·(θ − θ0)), and added to .grad as autograd would, so parameters
// match the official ones bit for bit; the reported scalar is summed in another order than the
// official per-parameter accumulation (last-ulp differences). CPU tensors.
class FisherPenalty {
 public:
  explicit FisherPenalty(const FisherInfo& fisher);
  // β Σ F(θ−θ0)² at `params`.
  double value(const std::vector<torch::Tensor>& params, double fisher_alpha) const;
  // Adds ∂/∂θ of the penalty to every parameter's gradient (allocated if undefined).
  void add_gradient(const std::vector<torch::Tensor>& params, double fisher_alpha) const;

 private:
  torch::Tensor F_, theta0_;  // flattened and concatenated in params() order
};

// Checks that `fisher` matches the model's parameters by name and shape; throws
// std::invalid_argument naming the first mismatch.
void check_fisher_matches(const FisherInfo& fisher, const BnModel& model);

}  // namespace attune::tta

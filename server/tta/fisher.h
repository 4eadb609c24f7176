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

// The regulariser β Σ_params Σ F ⊙ (θ − θ0)² (no ½, sums over elements; official), differentiable
// in θ. The parameters are concatenated into one vector, so a step costs a handful of ops instead
// of six per parameter: each element's gradient β·F·2(θ − θ0) is the official one bit for bit;
// the scalar itself is summed in another order than the official per-parameter accumulation
// (last-ulp differences, it is only reported).
class FisherPenalty {
 public:
  explicit FisherPenalty(const FisherInfo& fisher);
  torch::Tensor operator()(const std::vector<torch::Tensor>& params, double fisher_alpha) const;

 private:
  torch::Tensor F_, theta0_;
};

// Checks that `fisher` matches the model's parameters by name and shape; throws
// std::invalid_argument naming the first mismatch.
void check_fisher_matches(const FisherInfo& fisher, const BnModel& model);

}  // namespace attune::tta

// AdaGrad-Norm: the scalar step-size rule of Ward, Wu & Bottou (2019) as used by AdAdaGrad-Norm
// (Lau, Liu, Kolar, arXiv:2402.11215): b_k² = b_{k−1}² + ‖g_k‖², θ ← θ − η·g_k/(b_k + ε), with one
// b per param group (one group = the whole model, as in the paper).
// The official AdAdaGrad `Adagradnorm` is different (spec §4, §0.6): one accumulator per output
// row/channel, 1-D parameters borrowing the previous layer's rows, and a weight-decay branch that
// adds −ηλ·g instead of decaying θ. Here weight decay is plain L2 (g ← g + λθ).
#pragma once
#include <torch/torch.h>

#include <vector>

namespace attune::optim {

struct AdaGradNormOptions : public torch::optim::OptimizerCloneableOptions<AdaGradNormOptions> {
  AdaGradNormOptions(double lr = 1.0);
  TORCH_ARG(double, lr) = 1.0;
  TORCH_ARG(double, initial_accumulator_value) = 1e-2;  // b₀²
  TORCH_ARG(double, eps) = 1e-10;
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(bool, fused) = true;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

// Each parameter keeps its own share Σ_k ‖g_k^(p)‖²; a group's b² is b₀² plus the sum of its
// parameters' shares, so the scalar survives save/load without a group-level slot.
struct AdaGradNormParamState
    : public torch::optim::OptimizerCloneableParamState<AdaGradNormParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(double, sum_sq) = 0;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

class AdaGradNorm : public torch::optim::Optimizer {
 public:
  explicit AdaGradNorm(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                       AdaGradNormOptions defaults = {});
  explicit AdaGradNorm(std::vector<torch::Tensor> params, AdaGradNormOptions defaults = {})
      : AdaGradNorm({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}

  torch::Tensor step(LossClosure closure = nullptr) override;
  // b_k² of a param group after the last step.
  double accumulator(size_t group) const;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
};

}  // namespace attune::optim

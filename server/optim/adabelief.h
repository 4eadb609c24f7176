// AdaBelief: "AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed Gradients",
// Zhuang et al., NeurIPS 2020. Matches the official adabelief-pytorch 0.2.1 (spec §3), whose
// defaults (rectify, decoupled decay, eps 1e-16) are kept.
#pragma once
#include <torch/torch.h>

#include <tuple>
#include <vector>

namespace attune::optim {

struct AdaBeliefOptions : public torch::optim::OptimizerCloneableOptions<AdaBeliefOptions> {
  AdaBeliefOptions(double lr = 1e-3);
  TORCH_ARG(double, lr) = 1e-3;
  typedef std::tuple<double, double> betas_t;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  // ε sits inside the root (an Adam eps of x is roughly an AdaBelief eps of x²).
  TORCH_ARG(double, eps) = 1e-16;
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(bool, amsgrad) = false;  // ignored by the rectified branch, as official
  TORCH_ARG(bool, weight_decouple) = true;
  TORCH_ARG(bool, fixed_decay) = false;  // decoupled decay θ(1 − λ) instead of θ(1 − ηλ)
  // RAdam-style rectification; with β₂ = 0.999 steps 1-5 are then SGD-with-momentum steps.
  TORCH_ARG(bool, rectify) = true;
  TORCH_ARG(bool, degenerated_to_sgd) = true;
  TORCH_ARG(bool, fused) = true;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

struct AdaBeliefParamState : public torch::optim::OptimizerCloneableParamState<AdaBeliefParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, exp_avg);          // m
  TORCH_ARG(torch::Tensor, exp_avg_var);      // s, including the accumulated ε
  TORCH_ARG(torch::Tensor, max_exp_avg_var);  // amsgrad only

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

class AdaBelief : public torch::optim::Optimizer {
 public:
  explicit AdaBelief(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                     AdaBeliefOptions defaults = {});
  explicit AdaBelief(std::vector<torch::Tensor> params, AdaBeliefOptions defaults = {})
      : AdaBelief({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}

  // In L2 mode (weight_decouple false) g + λθ is written into p.grad, as official.
  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
};

}  // namespace attune::optim

// Adan: "Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing Deep Models",
// Xie et al., TPAMI 2024, arXiv:2208.06677. Matches the official sail-sg/Adan adan.py (spec §2):
// code-convention betas (β_code = 1 − β_paper), bias correction on all three moments, g₀ := g₁.
#pragma once
#include <torch/torch.h>

#include <tuple>
#include <vector>

namespace attune::optim {

struct AdanOptions : public torch::optim::OptimizerCloneableOptions<AdanOptions> {
  AdanOptions(double lr = 1e-3);
  TORCH_ARG(double, lr) = 1e-3;
  typedef std::tuple<double, double, double> betas_t;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.98, 0.92, 0.99);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0;
  // Global-norm clipping threshold; as in the official code only the optimizer defaults' value
  // counts (a per-group value is ignored). 0 disables it.
  TORCH_ARG(double, max_grad_norm) = 0;
  // false: the paper's proximal decay θ/(1 + ηλ); true: AdamW-style θ(1 − ηλ).
  TORCH_ARG(bool, no_prox) = false;
  TORCH_ARG(bool, fused) = true;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

// The official code keeps one step per param group; here it is per parameter (LibTorch's
// pattern). They agree while every parameter gets a gradient each step; a parameter that
// skips steps bias-corrects with its own count.
struct AdanParamState : public torch::optim::OptimizerCloneableParamState<AdanParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, exp_avg);       // m
  TORCH_ARG(torch::Tensor, exp_avg_diff);  // v, EMA of the gradient difference
  TORCH_ARG(torch::Tensor, exp_avg_sq);    // n
  TORCH_ARG(torch::Tensor, pre_grad);      // previous clipped gradient (official: its negation)

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

class Adan : public torch::optim::Optimizer {
 public:
  explicit Adan(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                AdanOptions defaults = {});
  explicit Adan(std::vector<torch::Tensor> params, AdanOptions defaults = {})
      : Adan({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}

  // Side effect kept for parity: the clipped gradient is written into p.grad.
  torch::Tensor step(LossClosure closure = nullptr) override;
  // Zeroes m, v, n and the step counters; the next step re-initialises g_prev (official
  // restart_opt; there is no automatic restart condition).
  void restart();
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
};

}  // namespace attune::optim

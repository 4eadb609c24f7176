// EXAdam: "EXAdam: The Power of Adaptive Cross-Moments", A. M. Adly, arXiv:2412.20302.
// Matches the official exadam.py at HEAD (spec §1); log_step_size(true) gives arXiv v1's
// growing step size η·ln(√2·√(t+1)) (official 9ff8463).
#pragma once
#include <torch/torch.h>

#include <tuple>
#include <vector>

namespace attune::optim {

struct EXAdamOptions : public torch::optim::OptimizerCloneableOptions<EXAdamOptions> {
  EXAdamOptions(double lr = 1e-3);
  TORCH_ARG(double, lr) = 1e-3;
  typedef std::tuple<double, double> betas_t;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  // Decoupled, applied before the moment update (spec §1 step 1), although the official
  // docstring calls it an L2 penalty.
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(bool, log_step_size) = false;
  // Single-pass kernel; false runs the tensor-op reference path (same results bit for bit).
  TORCH_ARG(bool, fused) = true;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

struct EXAdamParamState : public torch::optim::OptimizerCloneableParamState<EXAdamParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, exp_avg);     // m
  TORCH_ARG(torch::Tensor, exp_avg_sq);  // v

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

class EXAdam : public torch::optim::Optimizer {
 public:
  explicit EXAdam(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                  EXAdamOptions defaults = {});
  explicit EXAdam(std::vector<torch::Tensor> params, EXAdamOptions defaults = {})
      : EXAdam({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}

  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
};

}  // namespace attune::optim

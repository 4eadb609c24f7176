#include "optim/adagrad_norm.h"

#include <cmath>

#include "optim/fused_loop.h"
#include "optim/kernels/adagrad_norm_kernel.h"
#include "optim/options_check.h"
#include "optim/step_support.h"

namespace attune::optim {

AdaGradNormOptions::AdaGradNormOptions(double lr) : lr_(lr) {}

void AdaGradNormOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(initial_accumulator_value);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(fused);
}

void AdaGradNormOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, initial_accumulator_value);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, fused);
}

double AdaGradNormOptions::get_lr() const { return lr(); }
void AdaGradNormOptions::set_lr(const double lr) { this->lr(lr); }

void AdaGradNormParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(sum_sq);
}

void AdaGradNormParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, sum_sq);
}

AdaGradNorm::AdaGradNorm(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                         AdaGradNormOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<AdaGradNormOptions>(defaults)) {
  check_hyperparameters("AdaGradNorm", defaults.lr(), defaults.eps(), defaults.weight_decay(), {});
  require_non_negative("AdaGradNorm.initial_accumulator_value", defaults.initial_accumulator_value());
}

double AdaGradNorm::accumulator(size_t group) const {
  const auto& g = param_groups_.at(group);
  double b_sq = static_cast<const AdaGradNormOptions&>(g.options()).initial_accumulator_value();
  for (const auto& p : g.params()) {
    auto it = state_.find(detail::state_key(p));
    if (it != state_.end()) b_sq += static_cast<const AdaGradNormParamState&>(*it->second).sum_sq();
  }
  return b_sq;
}

torch::Tensor AdaGradNorm::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  const auto loss = detail::evaluate_closure(closure);
  for (size_t gi = 0; gi < param_groups_.size(); ++gi) {
    auto& group = param_groups_[gi];
    const auto& options = static_cast<const AdaGradNormOptions&>(group.options());
    // Pass 1: ‖g_k‖² of the (L2-decayed) gradient into each parameter's share.
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      detail::check_grad(p, p.grad(), "AdaGradNorm");
      auto& s = detail::state_of<AdaGradNormParamState>(state_, p, [](AdaGradNormParamState&) {});
      detail::MathView w(p, p.grad());
      auto g = options.weight_decay() != 0 ? w.grad.add(w.param, options.weight_decay()) : w.grad;
      const double norm = at::linalg_vector_norm(g, 2).item<double>();
      s.sum_sq(s.sum_sq() + norm * norm);
      s.step(s.step() + 1);
    }
    kernels::AdaGradNormCoeffs c;
    c.weight_decay = options.weight_decay();
    c.neg_step = -options.lr() / (std::sqrt(accumulator(gi)) + options.eps());
    // Pass 2: θ ← θ − η·g/(b + ε).
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto grad = p.grad();
      if (options.fused() && fusable({p, grad})) {
        parallel_chunks({p, grad}, [&](const kernels::Chunk& chunk) {
          kernels::adagrad_norm_update(c, p.scalar_type(), chunk, *aten_arith());
        });
        detail::mark_modified({p});
      } else {
        detail::MathView w(p, grad);
        auto g = c.weight_decay != 0 ? w.grad.add(w.param, c.weight_decay) : w.grad;
        w.param.add_(g, c.neg_step);
        w.commit(/*grad_changed=*/false);
      }
    }
  }
  return loss;
}

void AdaGradNorm::save(torch::serialize::OutputArchive& archive) const {
  torch::optim::serialize<AdaGradNormParamState, AdaGradNormOptions>(archive, *this);
}

void AdaGradNorm::load(torch::serialize::InputArchive& archive) {
  detail::load_state_and_options<AdaGradNormParamState, AdaGradNormOptions>(archive, *this);
}

}  // namespace attune::optim

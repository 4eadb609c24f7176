#include "optim/exadam.h"

#include <cmath>

#include "optim/fused_loop.h"
#include "optim/kernels/exadam_kernel.h"
#include "optim/options_check.h"
#include "optim/step_support.h"

namespace attune::optim {

EXAdamOptions::EXAdamOptions(double lr) : lr_(lr) {}

void EXAdamOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(betas);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(log_step_size);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(fused);
}

void EXAdamOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(betas_t, betas);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, log_step_size);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, fused);
}

double EXAdamOptions::get_lr() const { return lr(); }
void EXAdamOptions::set_lr(const double lr) { this->lr(lr); }

void EXAdamParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg_sq);
}

void EXAdamParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg_sq);
}

EXAdam::EXAdam(std::vector<torch::optim::OptimizerParamGroup> param_groups, EXAdamOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<EXAdamOptions>(defaults)) {
  check_hyperparameters("EXAdam", defaults.lr(), defaults.eps(), defaults.weight_decay(),
                        {std::get<0>(defaults.betas()), std::get<1>(defaults.betas())});
}

namespace {

kernels::EXAdamCoeffs coefficients(const EXAdamOptions& o, int64_t step) {
  const auto [beta1, beta2] = o.betas();
  kernels::EXAdamCoeffs c;
  c.decay = o.weight_decay() != 0;
  c.neg_lr_wd = o.lr() * -o.weight_decay();
  c.beta1 = beta1;
  c.one_minus_beta1 = 1 - beta1;
  c.beta2 = beta2;
  c.one_minus_beta2 = 1 - beta2;
  c.eps = o.eps();
  c.beta1_t = std::pow(beta1, static_cast<double>(step));
  c.beta2_t = std::pow(beta2, static_cast<double>(step));
  c.bias_correction1 = 1 - c.beta1_t;
  c.bias_correction2 = 1 - c.beta2_t;
  // v1: η_t = η·ln(√(t+1)·√2), in that operand order as in 9ff8463.
  const double step_size =
      o.log_step_size() ? o.lr() * std::log(std::sqrt(static_cast<double>(step + 1)) * std::sqrt(2.0))
                        : o.lr();
  c.neg_step = -step_size;
  return c;
}

// Tensor-op reference: the official op sequence, so it also pins the fused kernel's rounding.
void reference_update(const kernels::EXAdamCoeffs& c, detail::MathView& w,
                      EXAdamParamState& state) {
  auto& p = w.param;
  const auto& grad = w.grad;
  auto& m = state.exp_avg();
  auto& v = state.exp_avg_sq();
  if (c.decay) p.add_(p, c.neg_lr_wd);
  m.mul_(c.beta1).add_(grad, c.one_minus_beta1);
  v.mul_(c.beta2).addcmul_(grad, grad, c.one_minus_beta2);
  auto d1 = v.div(v + c.eps).mul_(c.beta2_t).add_(1);
  auto m_sq = m * m;
  auto d2 = m_sq.div(m_sq + c.eps).mul_(c.beta1_t).add_(1);
  auto m_tilde = m.div(c.bias_correction1).mul_(d1);
  auto v_tilde = v.div(c.bias_correction2).mul_(d2);
  auto g_tilde = grad.div(c.bias_correction1).mul_(d1);
  p.add_(m_tilde.add_(g_tilde).mul_(c.neg_step).div_(v_tilde.sqrt_().add_(c.eps)));
}

}  // namespace

torch::Tensor EXAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  const auto loss = detail::evaluate_closure(closure);
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const EXAdamOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto grad = p.grad();
      detail::check_grad(p, grad, "EXAdam");
      auto& state = detail::state_of<EXAdamParamState>(state_, p, [&](EXAdamParamState& s) {
        s.exp_avg(detail::zeros_state(p));
        s.exp_avg_sq(detail::zeros_state(p));
      });
      state.step(state.step() + 1);
      const auto c = coefficients(options, state.step());
      const std::vector<at::Tensor> operands{p, grad, state.exp_avg(), state.exp_avg_sq()};
      if (options.fused() && fusable(operands)) {
        parallel_chunks(operands, [&](const kernels::Chunk& chunk) {
          kernels::exadam_update(c, p.scalar_type(), chunk, *aten_arith());
        });
        detail::mark_modified({p, state.exp_avg(), state.exp_avg_sq()});
      } else {
        detail::MathView w(p, grad);
        reference_update(c, w, state);
        w.commit(/*grad_changed=*/false);
      }
    }
  }
  return loss;
}

void EXAdam::save(torch::serialize::OutputArchive& archive) const {
  torch::optim::serialize<EXAdamParamState, EXAdamOptions>(archive, *this);
}

void EXAdam::load(torch::serialize::InputArchive& archive) {
  detail::load_state_and_options<EXAdamParamState, EXAdamOptions>(archive, *this);
}

}  // namespace attune::optim

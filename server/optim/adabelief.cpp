#include "optim/adabelief.h"

#include <cmath>

#include "optim/fused_loop.h"
#include "optim/kernels/adabelief_kernel.h"
#include "optim/options_check.h"
#include "optim/step_support.h"

namespace attune::optim {

AdaBeliefOptions::AdaBeliefOptions(double lr) : lr_(lr) {}

void AdaBeliefOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(betas);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(amsgrad);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decouple);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(fixed_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(rectify);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(degenerated_to_sgd);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(fused);
}

void AdaBeliefOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(betas_t, betas);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, amsgrad);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, weight_decouple);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, fixed_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, rectify);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, degenerated_to_sgd);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, fused);
}

double AdaBeliefOptions::get_lr() const { return lr(); }
void AdaBeliefOptions::set_lr(const double lr) { this->lr(lr); }

void AdaBeliefParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg_var);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(max_exp_avg_var);
}

void AdaBeliefParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg_var);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, max_exp_avg_var);
}

AdaBelief::AdaBelief(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                     AdaBeliefOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<AdaBeliefOptions>(defaults)) {
  check_hyperparameters("AdaBelief", defaults.lr(), defaults.eps(), defaults.weight_decay(),
                        {std::get<0>(defaults.betas()), std::get<1>(defaults.betas())});
}

namespace {

using kernels::AdaBeliefRule;

kernels::AdaBeliefCoeffs coefficients(const AdaBeliefOptions& o, int64_t step) {
  const auto [beta1, beta2] = o.betas();
  const double t = static_cast<double>(step);
  const double lr = o.lr();
  const double bc1 = 1 - std::pow(beta1, t);
  const double bc2 = 1 - std::pow(beta2, t);
  kernels::AdaBeliefCoeffs c;
  c.decoupled = o.weight_decouple();
  c.decay_factor = o.fixed_decay() ? 1.0 - o.weight_decay() : 1.0 - lr * o.weight_decay();
  c.l2 = !o.weight_decouple() && o.weight_decay() != 0;
  c.weight_decay = o.weight_decay();
  c.beta1 = beta1;
  c.one_minus_beta1 = 1 - beta1;
  c.beta2 = beta2;
  c.one_minus_beta2 = 1 - beta2;
  c.eps = o.eps();
  c.bias_correction2_sqrt = std::sqrt(bc2);
  c.amsgrad = o.amsgrad();
  if (!o.rectify()) {
    c.rule = AdaBeliefRule::kAdaptive;
    c.neg_step = -(lr / bc1);
    return c;
  }
  // RAdam's length of the approximated SMA, ρ_t (spec §3 step 6), in the official operand order.
  const double beta2_t = std::pow(beta2, t);
  const double rho_inf = 2 / (1 - beta2) - 1;
  const double rho_t = rho_inf - 2 * t * beta2_t / (1 - beta2_t);
  if (rho_t >= 5) {
    const double r = std::sqrt((1 - beta2_t) * (rho_t - 4) / (rho_inf - 4) * (rho_t - 2) / rho_t *
                               rho_inf / (rho_inf - 2)) /
                     bc1;
    c.rule = AdaBeliefRule::kRectified;
    c.neg_step = -r * lr;
  } else if (o.degenerated_to_sgd()) {
    c.rule = AdaBeliefRule::kSgd;
    c.neg_step = -(1.0 / bc1) * lr;
  } else {
    c.rule = AdaBeliefRule::kNone;
  }
  return c;
}

// Tensor-op reference in the official op order (spec §3 steps 2-6).
void reference_update(const kernels::AdaBeliefCoeffs& c, detail::MathView& w,
                      AdaBeliefParamState& s) {
  auto& p = w.param;
  auto& grad = w.grad;
  if (c.decoupled) {
    p.mul_(c.decay_factor);
  } else if (c.l2) {
    grad.add_(p, c.weight_decay);
  }
  auto& m = s.exp_avg();
  auto& var = s.exp_avg_var();
  m.mul_(c.beta1).add_(grad, c.one_minus_beta1);
  auto residual = grad - m;
  var.mul_(c.beta2).addcmul_(residual, residual, c.one_minus_beta2).add_(c.eps);
  if (c.amsgrad) at::max_out(s.max_exp_avg_var(), s.max_exp_avg_var(), var);
  switch (c.rule) {
    case AdaBeliefRule::kAdaptive: {
      const auto& s_hat = c.amsgrad ? s.max_exp_avg_var() : var;
      p.addcdiv_(m, s_hat.sqrt().div_(c.bias_correction2_sqrt).add_(c.eps), c.neg_step);
      break;
    }
    case AdaBeliefRule::kRectified:
      p.addcdiv_(m, var.sqrt().add_(c.eps), c.neg_step);
      break;
    case AdaBeliefRule::kSgd:
      p.add_(m, c.neg_step);
      break;
    case AdaBeliefRule::kNone:
      break;
  }
}

}  // namespace

torch::Tensor AdaBelief::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  const auto loss = detail::evaluate_closure(closure);
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const AdaBeliefOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto grad = p.grad();
      detail::check_grad(p, grad, "AdaBelief");
      auto& s = detail::state_of<AdaBeliefParamState>(state_, p, [&](AdaBeliefParamState& fresh) {
        fresh.exp_avg(detail::zeros_state(p));
        fresh.exp_avg_var(detail::zeros_state(p));
      });
      if (options.amsgrad() && !s.max_exp_avg_var().defined()) {
        s.max_exp_avg_var(detail::zeros_state(p));
      }
      s.step(s.step() + 1);
      const auto c = coefficients(options, s.step());
      std::vector<at::Tensor> operands{p, grad, s.exp_avg(), s.exp_avg_var()};
      if (c.amsgrad) operands.push_back(s.max_exp_avg_var());
      if (options.fused() && fusable(operands)) {
        parallel_chunks(operands, [&](const kernels::Chunk& chunk) {
          kernels::adabelief_update(c, p.scalar_type(), chunk, *aten_arith());
        });
        detail::mark_modified({p, s.exp_avg(), s.exp_avg_var()});
        if (c.amsgrad) detail::mark_modified({s.max_exp_avg_var()});
        if (c.l2) detail::mark_modified({grad});
      } else {
        detail::MathView w(p, grad);
        reference_update(c, w, s);
        w.commit(/*grad_changed=*/c.l2);
      }
    }
  }
  return loss;
}

void AdaBelief::save(torch::serialize::OutputArchive& archive) const {
  torch::optim::serialize<AdaBeliefParamState, AdaBeliefOptions>(archive, *this);
}

void AdaBelief::load(torch::serialize::InputArchive& archive) {
  detail::load_state_and_options<AdaBeliefParamState, AdaBeliefOptions>(archive, *this);
}

}  // namespace attune::optim

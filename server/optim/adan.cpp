#include "optim/adan.h"

#include <cmath>

#include "optim/fused_loop.h"
#include "optim/kernels/adan_kernel.h"
#include "optim/options_check.h"
#include "optim/step_support.h"

namespace attune::optim {

AdanOptions::AdanOptions(double lr) : lr_(lr) {}

void AdanOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(betas);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(max_grad_norm);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(no_prox);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(fused);
}

void AdanOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(betas_t, betas);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, max_grad_norm);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, no_prox);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, fused);
}

double AdanOptions::get_lr() const { return lr(); }
void AdanOptions::set_lr(const double lr) { this->lr(lr); }

void AdanParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg_diff);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg_sq);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(pre_grad);
}

void AdanParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg_diff);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg_sq);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, pre_grad);
}

Adan::Adan(std::vector<torch::optim::OptimizerParamGroup> param_groups, AdanOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<AdanOptions>(defaults)) {
  const auto [b1, b2, b3] = defaults.betas();
  check_hyperparameters("Adan", defaults.lr(), defaults.eps(), defaults.weight_decay(), {b1, b2, b3});
  require_non_negative("Adan.max_grad_norm", defaults.max_grad_norm());
}

namespace {

// Spec §2 step 0, official semantics: N over every gradient of every group, accumulated in a
// 1-element tensor (fp32 at least, fp64 for fp64 gradients), c = min(1, max_norm / (N + ε)) with
// ε of the *last* group.
double clip_coefficient(std::vector<torch::optim::OptimizerParamGroup>& groups, double max_grad_norm) {
  auto acc_type = at::kFloat;
  for (auto& group : groups) {
    for (auto& p : group.params()) {
      if (p.grad().defined() && p.grad().scalar_type() == at::kDouble) acc_type = at::kDouble;
    }
  }
  auto total = at::zeros({1}, at::TensorOptions().dtype(acc_type));
  for (auto& group : groups) {
    for (auto& p : group.params()) {
      if (p.grad().defined()) total.add_(p.grad().to(acc_type).pow(2).sum());
    }
  }
  const double eps = static_cast<const AdanOptions&>(groups.back().options()).eps();
  auto max_norm = at::full({}, max_grad_norm, total.options());
  return at::clamp(max_norm / (total.sqrt() + eps), c10::nullopt, 1.0).item<double>();
}

kernels::AdanCoeffs coefficients(const AdanOptions& o, int64_t step, double clip) {
  const auto [beta1, beta2, beta3] = o.betas();
  const double k = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(beta1, k), bc2 = 1.0 - std::pow(beta2, k),
               bc3 = 1.0 - std::pow(beta3, k);
  kernels::AdanCoeffs c;
  c.clip = clip;
  c.beta1 = beta1;
  c.one_minus_beta1 = 1 - beta1;
  c.beta2 = beta2;
  c.one_minus_beta2 = 1 - beta2;
  c.beta3 = beta3;
  c.one_minus_beta3 = 1 - beta3;
  c.bias_correction3_sqrt = std::sqrt(bc3);
  c.eps = o.eps();
  c.neg_step_size = -(o.lr() / bc1);
  c.neg_step_size_diff = -(o.lr() * beta2 / bc2);
  c.no_prox = o.no_prox();
  c.decay = o.no_prox() ? 1 - o.lr() * o.weight_decay() : 1 + o.lr() * o.weight_decay();
  c.first_step = step == 1;
  c.write_grad = clip != 1.0;
  return c;
}

// Tensor-op reference in the official op order (spec §2 steps 3-7).
void reference_update(const kernels::AdanCoeffs& c, detail::MathView& w, AdanParamState& s) {
  auto& p = w.param;
  auto& grad = w.grad;
  if (c.write_grad) grad.mul_(c.clip);
  if (c.first_step) s.pre_grad().copy_(grad);
  auto diff = grad - s.pre_grad();
  s.exp_avg().mul_(c.beta1).add_(grad, c.one_minus_beta1);
  s.exp_avg_diff().mul_(c.beta2).add_(diff, c.one_minus_beta2);
  auto nesterov = diff.mul_(c.beta2).add_(grad);  // g + β₂Δ
  s.exp_avg_sq().mul_(c.beta3).addcmul_(nesterov, nesterov, c.one_minus_beta3);
  auto denom = s.exp_avg_sq().sqrt().div_(c.bias_correction3_sqrt).add_(c.eps);
  if (c.no_prox) p.mul_(c.decay);
  p.addcdiv_(s.exp_avg(), denom, c.neg_step_size);
  p.addcdiv_(s.exp_avg_diff(), denom, c.neg_step_size_diff);
  if (!c.no_prox) p.div_(c.decay);
  s.pre_grad().copy_(grad);
}

}  // namespace

torch::Tensor Adan::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  const auto loss = detail::evaluate_closure(closure);
  const double max_grad_norm = static_cast<const AdanOptions&>(defaults()).max_grad_norm();
  const double clip = max_grad_norm > 0 ? clip_coefficient(param_groups_, max_grad_norm) : 1.0;
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const AdanOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto grad = p.grad();
      detail::check_grad(p, grad, "Adan");
      auto& s = detail::state_of<AdanParamState>(state_, p, [&](AdanParamState& fresh) {
        fresh.exp_avg(detail::zeros_state(p));
        fresh.exp_avg_diff(detail::zeros_state(p));
        fresh.exp_avg_sq(detail::zeros_state(p));
        fresh.pre_grad(detail::zeros_state(p));
      });
      s.step(s.step() + 1);
      const auto c = coefficients(options, s.step(), clip);
      const std::vector<at::Tensor> operands{p, grad, s.exp_avg(), s.exp_avg_diff(), s.exp_avg_sq(),
                                             s.pre_grad()};
      if (options.fused() && fusable(operands)) {
        parallel_chunks(operands, [&](const kernels::Chunk& chunk) {
          kernels::adan_update(c, p.scalar_type(), chunk, *aten_arith());
        });
        detail::mark_modified({p, s.exp_avg(), s.exp_avg_diff(), s.exp_avg_sq(), s.pre_grad()});
        if (c.write_grad) detail::mark_modified({grad});
      } else {
        detail::MathView w(p, grad);
        reference_update(c, w, s);
        w.commit(/*grad_changed=*/c.write_grad);
      }
    }
  }
  return loss;
}

void Adan::restart() {
  torch::NoGradGuard no_grad;
  for (auto& [key, slot] : state_) {
    auto& s = static_cast<AdanParamState&>(*slot);
    s.exp_avg().zero_();
    s.exp_avg_diff().zero_();
    s.exp_avg_sq().zero_();
    s.step(0);
  }
}

void Adan::save(torch::serialize::OutputArchive& archive) const {
  torch::optim::serialize<AdanParamState, AdanOptions>(archive, *this);
}

void Adan::load(torch::serialize::InputArchive& archive) {
  detail::load_state_and_options<AdanParamState, AdanOptions>(archive, *this);
}

}  // namespace attune::optim

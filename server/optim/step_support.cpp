#include "optim/step_support.h"

namespace attune::optim::detail {

torch::Tensor evaluate_closure(const torch::optim::Optimizer::LossClosure& closure) {
  if (!closure) return {};
  torch::AutoGradMode enable_grad(true);
  return closure();
}

void mark_modified(at::TensorList written) {
  for (const auto& t : written) t.unsafeGetTensorImpl()->bump_version();
}

void check_grad(const at::Tensor& p, const at::Tensor& grad, const char* optimizer) {
  TORCH_CHECK(!grad.is_sparse(), optimizer, " does not support sparse gradients");
  TORCH_CHECK(grad.scalar_type() == p.scalar_type(), optimizer, ": gradient dtype ",
              grad.scalar_type(), " differs from parameter dtype ", p.scalar_type());
}

std::string state_key(const at::Tensor& p) {
  return c10::guts::to_string(p.unsafeGetTensorImpl());
}

at::TensorOptions state_options(const at::Tensor& p) {
  const bool reduced = p.scalar_type() == at::kHalf || p.scalar_type() == at::kBFloat16;
  return p.options().dtype(reduced ? at::kFloat : p.scalar_type());
}

at::Tensor zeros_state(const at::Tensor& p) {
  return at::zeros(p.sizes(), state_options(p).memory_format(at::MemoryFormat::Contiguous));
}

MathView::MathView(const at::Tensor& p, const at::Tensor& grad) : p_(p), grad_(grad) {
  const auto math = state_options(p).dtype();
  param = p.scalar_type() == math ? p : p.to(math);
  this->grad = grad.scalar_type() == math ? grad : grad.to(math);
}

void MathView::commit(bool grad_changed) {
  if (!param.is_same(p_)) p_.copy_(param);
  if (grad_changed && !grad.is_same(grad_)) grad_.copy_(grad);
}

}  // namespace attune::optim::detail

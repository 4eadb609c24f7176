// Plumbing shared by the attune optimizers' step(), save() and load().
#pragma once
#include <torch/torch.h>

#include <string>

namespace attune::optim::detail {

// Runs the closure (if any) with grad mode on, as LibTorch's optimizers do; returns its loss.
torch::Tensor evaluate_closure(const torch::optim::Optimizer::LossClosure& closure);

// Throws if grad is sparse or its dtype differs from p's.
void check_grad(const at::Tensor& p, const at::Tensor& grad, const char* optimizer);

// Key of p in Optimizer::state().
std::string state_key(const at::Tensor& p);

// p's state, made by init() on first use.
template <class State, class Init>
State& state_of(ska::flat_hash_map<std::string, std::unique_ptr<torch::optim::OptimizerParamState>>& state,
                const at::Tensor& p, Init init) {
  auto& slot = state[state_key(p)];
  if (!slot) {
    auto fresh = std::make_unique<State>();
    init(*fresh);
    slot = std::move(fresh);
  }
  return static_cast<State&>(*slot);
}

// The fused kernels write through raw pointers; this bumps the version counters as in-place
// ATen ops would, so autograd still detects a parameter modified after it was saved.
void mark_modified(at::TensorList written);

// State buffers are fp32 for fp16/bf16 parameters (fp32 optimizer maths), else p's dtype.
at::TensorOptions state_options(const at::Tensor& p);
at::Tensor zeros_state(const at::Tensor& p);

// The parameter and its gradient in the math dtype, for the tensor-op reference path. For
// fp16/bf16 they are fp32 copies that commit() writes back; otherwise they alias p and p.grad.
class MathView {
 public:
  MathView(const at::Tensor& p, const at::Tensor& grad);
  at::Tensor param, grad;
  void commit(bool grad_changed);

 private:
  at::Tensor p_, grad_;
};

// LibTorch's Optimizer::load restores per-parameter state but keeps the groups' current options;
// this restores the saved options (lr, betas, flags) as well.
template <class State, class Options>
void load_state_and_options(torch::serialize::InputArchive& archive,
                            torch::optim::Optimizer& optimizer) {
  torch::optim::serialize<State, Options>(archive, optimizer);
  torch::serialize::InputArchive groups_archive;
  archive.read("param_groups", groups_archive);
  std::vector<std::pair<std::vector<std::string>, std::unique_ptr<torch::optim::OptimizerOptions>>>
      saved;
  torch::optim::detail::serialize<Options>(groups_archive, saved);
  for (size_t i = 0; i < saved.size(); ++i) {
    optimizer.param_groups()[i].set_options(std::move(saved[i].second));
  }
}

}  // namespace attune::optim::detail

#include "tta/bn_model.h"

#include <sstream>

#include "tta/errors.h"

namespace attune::tta {
namespace {

bool is_batchnorm(const torch::jit::Module& m) {
  const auto name = m.type()->name();
  return name && name->name().find("BatchNorm") != std::string::npos;
}

}  // namespace

std::vector<torch::jit::NameModule> find_batchnorm(const torch::jit::Module& model) {
  std::vector<torch::jit::NameModule> found;
  for (const auto& named : model.named_modules()) {
    if (is_batchnorm(named.value)) found.push_back(named);
  }
  return found;
}

torch::ScalarType model_dtype(const torch::jit::Module& model) {
  for (const auto& p : model.parameters()) {
    if (p.is_floating_point()) return p.scalar_type();
  }
  for (const auto& b : model.buffers()) {
    if (b.is_floating_point()) return b.scalar_type();
  }
  return torch::kFloat;
}

torch::Tensor call_logits(torch::jit::Module& model, const torch::Tensor& x) {
  const auto out = model.forward({x});
  if (!out.isTensor() || out.toTensor().dim() != 2 || out.toTensor().size(0) != x.size(0)) {
    std::ostringstream msg;
    msg << "model: test-time adaptation needs forward(x) to return logits [N, C] for a batch of "
        << x.size(0) << ", but it returned ";
    if (out.isTensor()) {
      msg << "a tensor of shape " << out.toTensor().sizes();
    } else {
      msg << out.tagKind();
    }
    throw FailedPrecondition(msg.str());
  }
  return out.toTensor();
}

BnModel::BnModel(const torch::jit::Module& source, std::string_view method, bool require_affine) {
  {
    // Cloning under no-grad keeps the copies leaves (a clone of a requires-grad tensor would
    // otherwise hang off the source's autograd graph).
    torch::NoGradGuard no_grad;
    module_ = source.deepcopy();
  }
  const auto bns = find_batchnorm(module_);
  if (bns.empty()) {
    throw FailedPrecondition("model: method '" + std::string(method) +
                             "' adapts BatchNorm layers and the model has none");
  }
  module_.eval();
  for (const auto& p : module_.parameters()) p.requires_grad_(false);
  for (auto bn : bns) {
    bn.value.train(true);
    for (const auto& p : bn.value.named_parameters(/*recurse=*/false)) {
      if (p.name != "weight" && p.name != "bias") continue;
      p.value.requires_grad_(true);
      params_.push_back(p.value);
      param_names_.push_back(bn.name.empty() ? p.name : bn.name + "." + p.name);
    }
  }
  if (require_affine && params_.empty()) {
    throw FailedPrecondition("model: method '" + std::string(method) +
                             "' adapts BatchNorm affine parameters and the model's BatchNorm "
                             "layers have none (affine=False)");
  }
  for (const auto& p : module_.parameters()) state_.push_back(p);
  for (const auto& b : module_.buffers()) state_.push_back(b);
  for (const auto& p : params_) {
    for (size_t i = 0; i < state_.size(); ++i) {
      if (state_[i].is_same(p)) param_state_index_.push_back(i);
    }
  }
  source_state_ = save_state();
}

std::vector<torch::Tensor> BnModel::source_params() const {
  std::vector<torch::Tensor> theta0;
  for (const auto i : param_state_index_) theta0.push_back(source_state_[i]);
  return theta0;
}

std::vector<torch::Tensor> BnModel::save_state() const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> copy;
  copy.reserve(state_.size());
  for (const auto& t : state_) copy.push_back(t.clone());
  return copy;
}

void BnModel::load_state(const std::vector<torch::Tensor>& state) {
  TORCH_CHECK(state.size() == state_.size(), "BnModel::load_state: ", state.size(),
              " tensors for a model with ", state_.size());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < state_.size(); ++i) state_[i].copy_(state[i]);
}

void BnModel::zero_grad() {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

torch::jit::Module BnModel::export_eval_copy() const {
  torch::NoGradGuard no_grad;
  auto copy = module_.deepcopy();
  copy.eval();
  return copy;
}

}  // namespace attune::tta

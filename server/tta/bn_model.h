// A private copy of a TorchScript model configured as Tent/EATA configure theirs (tta spec §2):
// every BatchNorm layer normalises with the current batch's statistics and only the BatchNorm
// affine parameters γ/β require gradients.
#pragma once
#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <string_view>
#include <vector>

namespace attune::tta {

// Submodules whose TorchScript class name (last component, so mangled names such as
// "__torch__.torch.nn.modules.batchnorm.___torch_mangle_3.BatchNorm2d" match) contains
// "BatchNorm": BatchNorm1d/2d/3d, SyncBatchNorm and user classes named alike.
std::vector<torch::jit::NameModule> find_batchnorm(const torch::jit::Module& model);

// dtype of the model's first floating-point parameter or buffer (kFloat when it has none).
torch::ScalarType model_dtype(const torch::jit::Module& model);

// Calls the model and checks that it returned a [N, C] tensor of logits; throws
// FailedPrecondition otherwise.
torch::Tensor call_logits(torch::jit::Module& model, const torch::Tensor& x);

class BnModel {
 public:
  // Deep copy of `source` (the source is never touched). Throws FailedPrecondition naming
  // `method` when the model has no BatchNorm layer, or, with `require_affine`, none with
  // affine parameters.
  BnModel(const torch::jit::Module& source, std::string_view method, bool require_affine);

  // Logits with batch-statistic BatchNorm. Other layers stay in eval mode (dropout off):
  // official Tent/EATA call model.train() on the whole model, which is identical for models
  // whose only mode-dependent layers are BatchNorm. The running statistics are updated as a
  // side effect and never used here; they make an exported copy serve (eval mode) with the
  // statistics of the adaptation stream.
  torch::Tensor forward(const torch::Tensor& x) { return call_logits(module_, x); }

  // BatchNorm weight then bias, layer by layer in named_modules order; they alias the
  // module's tensors, so an optimiser over them updates the model.
  const std::vector<torch::Tensor>& params() const { return params_; }
  const std::vector<std::string>& param_names() const { return param_names_; }
  // θ0: the source values of params().
  std::vector<torch::Tensor> source_params() const;

  // Every parameter and buffer of the copy, as clones (a checkpoint) or restored in place.
  std::vector<torch::Tensor> save_state() const;
  void load_state(const std::vector<torch::Tensor>& state);
  void restore_source() { load_state(source_state_); }
  void zero_grad();

  // Deep copy in eval mode for serving or publishing.
  torch::jit::Module export_eval_copy() const;

 private:
  torch::jit::Module module_;
  std::vector<torch::Tensor> params_;
  std::vector<std::string> param_names_;
  std::vector<size_t> param_state_index_;  // position of params_[i] in state_
  std::vector<torch::Tensor> state_;       // parameters then buffers, aliasing module_
  std::vector<torch::Tensor> source_state_;
};

}  // namespace attune::tta

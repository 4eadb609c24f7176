// Global-norm gradient clipping.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace attune::optim {

// Scales every defined gradient by min(1, max_norm / (N + 1e-6)) where N is the global L2 norm
// over all of them (as torch.nn.utils.clip_grad_norm_), and returns N. The norm is accumulated
// in double. A non-finite N leaves the gradients untouched, so the caller can skip the step.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);
double clip_grad_norm(torch::optim::Optimizer& optimizer, double max_norm);

// N without clipping.
double global_grad_norm(const std::vector<torch::Tensor>& params);

}  // namespace attune::optim

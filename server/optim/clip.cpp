#include "optim/clip.h"

#include <cmath>

#include "optim/options_check.h"

namespace attune::optim {

double global_grad_norm(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  double sum_sq = 0;
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    const auto& g = p.grad();
    // fp16/bf16 norms are taken in fp32 (their own range overflows at 65504 / loses digits).
    const bool reduced = g.scalar_type() == at::kHalf || g.scalar_type() == at::kBFloat16;
    const double norm = (reduced ? at::linalg_vector_norm(g, 2, c10::nullopt, false, at::kFloat)
                                 : at::linalg_vector_norm(g, 2))
                            .item<double>();
    sum_sq += norm * norm;
  }
  return std::sqrt(sum_sq);
}

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  require_positive("max_grad_norm", max_norm);
  torch::NoGradGuard no_grad;
  const double norm = global_grad_norm(params);
  const double coef = max_norm / (norm + 1e-6);
  if (std::isfinite(norm) && coef < 1.0) {
    for (const auto& p : params) {
      if (p.grad().defined()) p.grad().mul_(coef);
    }
  }
  return norm;
}

double clip_grad_norm(torch::optim::Optimizer& optimizer, double max_norm) {
  std::vector<torch::Tensor> params;
  for (const auto& group : optimizer.param_groups()) {
    params.insert(params.end(), group.params().begin(), group.params().end());
  }
  return clip_grad_norm(params, max_norm);
}

}  // namespace attune::optim

// Per-sample gradient statistics for AdAdaGrad (spec §4). LibTorch 1.13 has no vmap in C++, so
// the exact path takes one backward per sample; Linear layers also have a closed form; the
// micro-batch estimator is a cheaper approximation.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <optional>
#include <vector>

#include "optim/adadagrad/gradient_moments.h"

namespace attune::optim::adadagrad {

// Loss of sample i (0 ≤ i < batch) of the current batch at the current parameters: a scalar
// with a graph to the parameters.
using SampleLoss = std::function<torch::Tensor(int64_t i)>;
// Mean loss of samples [begin, end) of the current batch.
using RangeLoss = std::function<torch::Tensor(int64_t begin, int64_t end)>;
using SampleVisitor = std::function<void(int64_t i, const std::vector<torch::Tensor>& grads)>;

// ∇ℓᵢ for i = 0..batch−1, one backward each through torch::autograd::grad (p.grad is left
// alone); parameters the loss does not use get zeros.
void for_each_sample_gradient(const std::vector<torch::Tensor>& params, int64_t batch,
                              const SampleLoss& loss, const SampleVisitor& visit);

struct ExactOptions {
  bool projections = true;  // needed by the inner-product and orthogonality tests
  // With projections the per-sample gradients are kept (batch × numel doubles) if they fit;
  // otherwise phase 2 recomputes them (twice the backward passes).
  int64_t max_buffer_bytes = int64_t{256} << 20;
};

struct ExactStatistics {
  GradientMoments moments;
  std::optional<ProjectionMoments> projections;
};

ExactStatistics exact_statistics(const std::vector<torch::Tensor>& params, int64_t batch,
                                 const SampleLoss& loss, const ExactOptions& options = {});

// Closed form for a Linear layer y = x·Wᵀ + b: gᵢ(W) = Δᵢxᵢᵀ and gᵢ(b) = Δᵢ, with inputs
// X [n, in] and Δ [n, out] the gradients of the per-sample losses (of their sum, not mean)
// with respect to the outputs. Adds n samples without building the n × out × in tensor.
void add_linear_samples(GradientMoments& moments, size_t weight, std::optional<size_t> bias,
                        const torch::Tensor& inputs, const torch::Tensor& output_grads);
void add_linear_projections(ProjectionMoments& projections, size_t weight, std::optional<size_t> bias,
                            const torch::Tensor& inputs, const torch::Tensor& output_grads);

// Approximation, labelled so in the result: with J = batch/micro micro-batch mean gradients ĝⱼ
// (J backward passes), S² ≈ micro·Σ_coords Var_j(ĝⱼ), and likewise for the projection
// variances; ‖ḡ‖² is exact. batch must be a multiple of micro, with J ≥ 2.
BatchStatistics microbatch_statistics(const std::vector<torch::Tensor>& params, int64_t batch,
                                      int64_t micro, const RangeLoss& loss, bool projections);

}  // namespace attune::optim::adadagrad

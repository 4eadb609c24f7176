#include "optim/adadagrad/per_sample.h"

#include <numeric>

#include "optim/options_check.h"

namespace attune::optim::adadagrad {
namespace {

std::vector<int64_t> numels_of(const std::vector<torch::Tensor>& params) {
  std::vector<int64_t> out;
  for (const auto& p : params) out.push_back(p.numel());
  return out;
}

std::vector<torch::Tensor> gradients(const torch::Tensor& loss, const std::vector<torch::Tensor>& params) {
  TORCH_CHECK(loss.numel() == 1, "AdAdaGrad: the loss closure must return a scalar, got shape ",
              loss.sizes());
  auto grads = torch::autograd::grad({loss}, params, {}, /*retain_graph=*/false,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  for (size_t l = 0; l < grads.size(); ++l) {
    if (!grads[l].defined()) grads[l] = torch::zeros_like(params[l]);
  }
  return grads;
}

void check_linear(const torch::Tensor& inputs, const torch::Tensor& output_grads) {
  TORCH_CHECK(inputs.dim() == 2 && output_grads.dim() == 2 && inputs.size(0) == output_grads.size(0),
              "AdAdaGrad linear closed form: expected inputs [n, in] and output gradients [n, out], got ",
              inputs.sizes(), " and ", output_grads.sizes());
}

}  // namespace

void for_each_sample_gradient(const std::vector<torch::Tensor>& params, int64_t batch,
                              const SampleLoss& loss, const SampleVisitor& visit) {
  for (int64_t i = 0; i < batch; ++i) {
    torch::AutoGradMode enable_grad(true);
    auto grads = gradients(loss(i), params);
    torch::NoGradGuard no_grad;
    visit(i, grads);
  }
}

ExactStatistics exact_statistics(const std::vector<torch::Tensor>& params, int64_t batch,
                                 const SampleLoss& loss, const ExactOptions& options) {
  if (batch < 2) throw_invalid("batch_size", "at least 2 samples for a sample variance", std::to_string(batch));
  const auto numels = numels_of(params);
  ExactStatistics out{GradientMoments(numels), std::nullopt};
  const int64_t total = std::accumulate(numels.begin(), numels.end(), int64_t{0});
  const bool keep = options.projections && batch * total * 8 <= options.max_buffer_bytes;

  std::vector<torch::Tensor> buffer;  // per tensor [batch, numelˡ], double
  if (keep) {
    for (int64_t n : numels) buffer.push_back(torch::empty({batch, n}, torch::kDouble));
  }
  for_each_sample_gradient(params, batch, loss, [&](int64_t i, const std::vector<torch::Tensor>& grads) {
    if (keep) {
      for (size_t l = 0; l < grads.size(); ++l) buffer[l][i].copy_(grads[l].reshape({-1}));
    } else {
      out.moments.add_sample(grads);
    }
  });
  if (keep) {
    for (size_t l = 0; l < buffer.size(); ++l) out.moments.add(l, buffer[l]);
  }
  if (!options.projections) return out;

  // Phase 2: projections on the batch mean, known only now.
  ProjectionMoments projections(out.moments.means());
  if (keep) {
    for (size_t l = 0; l < buffer.size(); ++l) projections.add(l, buffer[l]);
  } else {
    for_each_sample_gradient(params, batch, loss, [&](int64_t, const std::vector<torch::Tensor>& grads) {
      projections.add_sample(grads);
    });
  }
  out.projections = std::move(projections);
  return out;
}

void add_linear_samples(GradientMoments& moments, size_t weight, std::optional<size_t> bias,
                        const torch::Tensor& inputs, const torch::Tensor& output_grads) {
  torch::NoGradGuard no_grad;
  check_linear(inputs, output_grads);
  auto x = inputs.to(torch::kDouble);
  auto delta = output_grads.to(torch::kDouble);
  const int64_t n = x.size(0);
  auto mean = delta.t().mm(x).div_(static_cast<double>(n));  // [out, in], W's layout
  // ‖Δᵢxᵢᵀ‖² = ‖Δᵢ‖²‖xᵢ‖², so Σᵢ‖gᵢ − ḡ‖² = Σᵢ‖Δᵢ‖²‖xᵢ‖² − n‖ḡ‖².
  const double sum_sq = (delta.pow(2).sum(1) * x.pow(2).sum(1)).sum().item<double>();
  const double m2 = sum_sq - static_cast<double>(n) * mean.pow(2).sum().item<double>();
  moments.add_block(weight, n, mean.reshape({-1}), m2);
  if (bias) moments.add(*bias, delta);
}

void add_linear_projections(ProjectionMoments& projections, size_t weight, std::optional<size_t> bias,
                            const torch::Tensor& inputs, const torch::Tensor& output_grads) {
  torch::NoGradGuard no_grad;
  check_linear(inputs, output_grads);
  auto x = inputs.to(torch::kDouble);
  auto delta = output_grads.to(torch::kDouble);
  auto u = projections.direction(weight).reshape({delta.size(1), x.size(1)});
  // ⟨Δᵢxᵢᵀ, U⟩ = Δᵢᵀ U xᵢ.
  projections.add_projections(weight, (delta.mm(u) * x).sum(1));
  if (bias) projections.add(*bias, delta);
}

BatchStatistics microbatch_statistics(const std::vector<torch::Tensor>& params, int64_t batch,
                                      int64_t micro, const RangeLoss& loss, bool projections) {
  if (micro <= 0 || batch % micro != 0 || batch / micro < 2) {
    throw_invalid("micro_batch_size", "a divisor of batch_size " + std::to_string(batch) +
                                          " giving at least 2 micro-batches",
                  std::to_string(micro));
  }
  const int64_t groups = batch / micro;
  const SampleLoss micro_loss = [&](int64_t j) { return loss(j * micro, (j + 1) * micro); };
  ExactOptions options;
  options.projections = projections;
  const auto stats = exact_statistics(params, groups, micro_loss, options);
  auto summary = summarize(stats.moments, stats.projections ? &*stats.projections : nullptr, batch,
                           static_cast<double>(micro));
  summary.approximate = true;
  return summary;
}

}  // namespace attune::optim::adadagrad

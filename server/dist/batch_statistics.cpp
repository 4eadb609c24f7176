#include "dist/batch_statistics.h"

#include <numeric>
#include <optional>

namespace attune::dist {
namespace {

namespace ada = optim::adadagrad;

struct Merged {
  ada::GradientMoments moments;
  std::optional<ada::ProjectionMoments> projections;
};

// This rank's `local_count` samples, merged with every other rank's.
Merged merged_moments(Group& group, const std::vector<torch::Tensor>& params, int64_t local_count,
                      const ada::SampleLoss& loss, bool projections, int64_t max_buffer_bytes) {
  std::vector<int64_t> numels;
  for (const auto& p : params) numels.push_back(p.numel());
  const int64_t total = std::accumulate(numels.begin(), numels.end(), int64_t{0});
  // With projections phase 2 needs the samples again: keep them if they fit, else recompute.
  const bool keep = projections && local_count * total * 8 <= max_buffer_bytes;
  std::vector<torch::Tensor> buffer;
  if (keep)
    for (int64_t n : numels) buffer.push_back(torch::empty({local_count, n}, torch::kDouble));

  ada::GradientMoments local(numels);
  if (local_count > 0) {
    ada::for_each_sample_gradient(params, local_count, loss, [&](int64_t i, const std::vector<torch::Tensor>& g) {
      if (keep) {
        for (size_t l = 0; l < g.size(); ++l) buffer[l][i].copy_(g[l].reshape({-1}));
      } else {
        local.add_sample(g);
      }
    });
    if (keep)
      for (size_t l = 0; l < buffer.size(); ++l) local.add(l, buffer[l]);
  }
  auto flat = local.to_tensor();
  group.allreduce_sum(flat, "AdAdaGrad moments all-reduce");
  Merged out{ada::GradientMoments::from_tensor(flat, numels), std::nullopt};
  if (!projections) return out;

  ada::ProjectionMoments proj(out.moments.means());
  if (local_count > 0) {
    if (keep) {
      for (size_t l = 0; l < buffer.size(); ++l) proj.add(l, buffer[l]);
    } else {
      ada::for_each_sample_gradient(params, local_count, loss,
                                    [&](int64_t, const std::vector<torch::Tensor>& g) { proj.add_sample(g); });
    }
  }
  auto pflat = proj.to_tensor();
  group.allreduce_sum(pflat, "AdAdaGrad projections all-reduce");
  out.projections = ada::ProjectionMoments::from_tensor(pflat, out.moments.means());
  return out;
}

}  // namespace

ada::BatchStatistics exact_batch_statistics(Group& group, const std::vector<torch::Tensor>& params,
                                            int64_t local_count, int64_t global_batch,
                                            const ada::SampleLoss& loss, bool projections,
                                            int64_t max_buffer_bytes) {
  TORCH_CHECK(global_batch >= 2, "AdAdaGrad: the sample variance needs at least 2 samples, got ", global_batch);
  const auto m = merged_moments(group, params, local_count, loss, projections, max_buffer_bytes);
  TORCH_CHECK(m.moments.count() == global_batch, "AdAdaGrad: ranks contributed ", m.moments.count(),
              " samples to a global batch of ", global_batch);
  return ada::summarize(m.moments, m.projections ? &*m.projections : nullptr, global_batch);
}

ada::BatchStatistics microbatch_batch_statistics(Group& group, const std::vector<torch::Tensor>& params,
                                                 int64_t global_batch, int64_t micro,
                                                 const ada::RangeLoss& loss, bool projections) {
  TORCH_CHECK(micro > 0 && global_batch % micro == 0 && global_batch / micro >= 2,
              "AdAdaGrad: micro_batch_size ", micro, " must divide the batch ", global_batch,
              " into at least 2 micro-batches");
  const int64_t groups = global_batch / micro;
  const int64_t begin = groups * group.rank() / group.size();
  const int64_t end = groups * (group.rank() + 1) / group.size();
  const ada::SampleLoss micro_loss = [&](int64_t j) { return loss((begin + j) * micro, (begin + j + 1) * micro); };
  const auto m = merged_moments(group, params, end - begin, micro_loss, projections, int64_t{256} << 20);
  auto s = ada::summarize(m.moments, m.projections ? &*m.projections : nullptr, global_batch,
                          static_cast<double>(micro));
  s.approximate = true;
  return s;
}

}  // namespace attune::dist

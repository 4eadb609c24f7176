#include "optim/adadagrad/batch_policy.h"

#include <algorithm>
#include <cmath>

#include "optim/options_check.h"

namespace attune::optim::adadagrad {

bool needs_projections(BatchTest test) { return test != BatchTest::kNorm; }

void validate(const AdAdaGradOptions& options) {
  require_positive("adadagrad.eta", options.eta);
  require_positive("adadagrad.theta", options.theta);
  require_positive("adadagrad.nu", options.nu);
  if (options.max_batch_size < 1) {
    throw_invalid("adadagrad.max_batch_size", "an integer >= 1", std::to_string(options.max_batch_size));
  }
  if (options.test_interval < 1) {
    throw_invalid("adadagrad.test_interval", "an integer >= 1", std::to_string(options.test_interval));
  }
}

double candidate_batch_size(const AdAdaGradOptions& o, const BatchStatistics& s) {
  const double g2 = s.grad_norm_sq;
  const double norm = s.sum_variance / (o.eta * o.eta * g2);
  if (o.test == BatchTest::kNorm) return norm;
  TORCH_CHECK(s.has_projection, "AdAdaGrad: the ", o.test == BatchTest::kOrthogonality ? "orthogonality" : "inner-product",
              " test needs projection statistics");
  const double ip = s.ip_variance / (o.theta * o.theta * g2 * g2);
  const double orth = s.orth_variance / (o.nu * o.nu * g2);
  switch (o.test) {
    case BatchTest::kInnerProduct: return ip;
    case BatchTest::kOrthogonality: return orth;
    default: return std::isnan(ip) || std::isnan(orth) ? NAN : std::max(ip, orth);
  }
}

int64_t next_batch_size(const AdAdaGradOptions& options, const BatchStatistics& stats, int64_t current) {
  const double candidate = candidate_batch_size(options, stats);
  const double grown = std::isnan(candidate) ? static_cast<double>(current) : std::ceil(candidate);
  const double next = std::min(std::max(static_cast<double>(current), grown),
                               static_cast<double>(options.max_batch_size));
  return static_cast<int64_t>(next);
}

AdAdaGradPolicy::AdAdaGradPolicy(AdAdaGradOptions options) : options_(options) { validate(options_); }

bool AdAdaGradPolicy::should_test(int64_t iteration, int64_t batch_size) const {
  return iteration % options_.test_interval == 0 && batch_size < options_.max_batch_size;
}

BatchDecision AdAdaGradPolicy::decide(const BatchStatistics& stats) const {
  BatchDecision d;
  d.stats = stats;
  d.candidate = candidate_batch_size(options_, stats);
  d.passed = !(d.candidate > static_cast<double>(stats.batch_size));
  d.next_batch_size = next_batch_size(options_, stats, stats.batch_size);
  return d;
}

BatchDecision AdAdaGradPolicy::evaluate(const std::vector<torch::Tensor>& params, int64_t batch_size,
                                        const SampleLoss& loss, ExactOptions exact) const {
  exact.projections = needs_projections(options_.test);
  const auto stats = exact_statistics(params, batch_size, loss, exact);
  return decide(summarize(stats.moments, stats.projections ? &*stats.projections : nullptr, batch_size));
}

BatchDecision AdAdaGradPolicy::evaluate_microbatch(const std::vector<torch::Tensor>& params,
                                                   int64_t batch_size, int64_t micro_batch_size,
                                                   const RangeLoss& loss) const {
  return decide(microbatch_statistics(params, batch_size, micro_batch_size, loss,
                                      needs_projections(options_.test)));
}

}  // namespace attune::optim::adadagrad

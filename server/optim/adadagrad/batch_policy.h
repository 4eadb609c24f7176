// AdAdaGrad adaptive batch sizes (Lau, Liu, Kolar, arXiv:2402.11215; spec §4): after each step
// the batch grows to the size at which the chosen test would pass, never shrinking, capped at
// B_max: next = min(max(b, ⌈b'⌉), B_max).
#pragma once
#include <cstdint>
#include <vector>

#include "optim/adadagrad/gradient_moments.h"
#include "optim/adadagrad/per_sample.h"

namespace attune::optim::adadagrad {

enum class BatchTest {
  kNorm,                       // Byrd et al. 2012: S²/b ≤ η²‖ḡ‖², b' = S²/(η²‖ḡ‖²)
  kInnerProduct,               // Bollapragada et al. 2018: b' = Var⟨gᵢ, ḡ⟩/(θ²‖ḡ‖⁴)
  kOrthogonality,              // b' = V_orth/(ν²‖ḡ‖²)
  kInnerProductOrthogonality,  // augmented: the larger of the two
};

struct AdAdaGradOptions {
  BatchTest test = BatchTest::kNorm;
  double eta = 0.1;    // η, norm test (official argparse default)
  double theta = 0.1;  // θ, inner-product test
  double nu = 0.1;     // ν, orthogonality test
  int64_t max_batch_size = 0;  // B_max
  int64_t test_interval = 1;   // test every this many iterations while b < B_max
};

bool needs_projections(BatchTest test);

// Throws std::invalid_argument naming the field (constants > 0, B_max ≥ 1, interval ≥ 1).
void validate(const AdAdaGradOptions& options);

// The test's unrounded b'. The ip and orth variances are sums of per-tensor terms, as in the
// official tests.py (cross-tensor covariance ignored).
double candidate_batch_size(const AdAdaGradOptions& options, const BatchStatistics& stats);

// min(max(b, ⌈b'⌉), B_max); a NaN b' (0/0) keeps b, as the official `if b' > b` does.
int64_t next_batch_size(const AdAdaGradOptions& options, const BatchStatistics& stats, int64_t current);

struct BatchDecision {
  int64_t next_batch_size = 0;
  double candidate = 0;  // b'
  bool passed = false;   // b' ≤ b: the current batch was large enough
  BatchStatistics stats;
};

class AdAdaGradPolicy {
 public:
  explicit AdAdaGradPolicy(AdAdaGradOptions options);
  const AdAdaGradOptions& options() const { return options_; }

  // Iteration k (0-based) tests when k % test_interval == 0 and b < B_max.
  bool should_test(int64_t iteration, int64_t batch_size) const;
  BatchDecision decide(const BatchStatistics& stats) const;
  // Exact statistics on the current batch at the current (pre-step) parameters, then decide.
  BatchDecision evaluate(const std::vector<torch::Tensor>& params, int64_t batch_size,
                         const SampleLoss& loss, ExactOptions exact = {}) const;
  // The micro-batch approximation, then decide; result.stats.approximate is true.
  BatchDecision evaluate_microbatch(const std::vector<torch::Tensor>& params, int64_t batch_size,
                                    int64_t micro_batch_size, const RangeLoss& loss) const;

 private:
  AdAdaGradOptions options_;
};

}  // namespace attune::optim::adadagrad

// AdAdaGrad's batch-size tests (spec §4) on a global batch sharded over a process group, as the
// official code does under DDP: each rank accumulates GradientMoments of its own samples, their
// sum forms [n, Σg, Σ‖g‖²] (GradientMoments::to_tensor) are all-reduced, which merges them by the
// law of total variance, Var = mean_w Var_w + mean_w ḡ_w² − (mean_w ḡ_w)²; the tests needing
// projections then project each rank's samples on the merged mean and all-reduce
// ProjectionMoments the same way. Every rank ends with the same statistics, so every rank takes
// the same batch-size decision.
#pragma once
#include "dist/process_group.h"
#include "optim/adadagrad/gradient_moments.h"
#include "optim/adadagrad/per_sample.h"

namespace attune::dist {

// Exact per-sample statistics: `loss(i)` for this rank's samples i < local_count (one backward
// each). `global_batch` (the sum of local counts) must be >= 2.
optim::adadagrad::BatchStatistics exact_batch_statistics(Group& group, const std::vector<torch::Tensor>& params,
                                                         int64_t local_count, int64_t global_batch,
                                                         const optim::adadagrad::SampleLoss& loss,
                                                         bool projections,
                                                         int64_t max_buffer_bytes = int64_t{256} << 20);

// The micro-batch estimate (labelled approximate): the J = global_batch / micro micro-batches are
// split over ranks in contiguous blocks; `loss(begin, end)` is the mean loss of global-batch
// positions [begin, end). global_batch must be a multiple of micro with J >= 2.
optim::adadagrad::BatchStatistics microbatch_batch_statistics(Group& group, const std::vector<torch::Tensor>& params,
                                                              int64_t global_batch, int64_t micro,
                                                              const optim::adadagrad::RangeLoss& loss,
                                                              bool projections);

}  // namespace attune::dist

// Building blocks of the real-data evaluation (tta spec §5), shared by the realdata tests, the
// bench/tta program and demos: supervised training of the source model, stream orders, and
// running an Adapter over a labelled stream.
#pragma once
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdint>

#include "tta/adapter.h"

namespace attune::tta {

struct TrainOptions {
  int64_t epochs = 1;
  int64_t decayed_epochs = 0;  // the last ones of `epochs`, run at lr × 0.1 (step decay)
  int64_t batch_size = 64;
  double lr = 1e-3;  // Adam
  uint64_t seed = 0;
};

// Trains every parameter of `model` in place (train mode, cross-entropy, Adam, minibatches
// shuffled with `seed`) and leaves it in eval mode. Returns the mean loss of the last epoch.
double train_classifier(torch::jit::Module& model, const torch::Tensor& images,
                        const torch::Tensor& labels, const TrainOptions& options);

// Eval-mode accuracy (fraction in [0, 1]).
double eval_accuracy(torch::jit::Module& model, const torch::Tensor& images,
                     const torch::Tensor& labels, int64_t batch_size = 256);

torch::Tensor iid_order(int64_t n, uint64_t seed);              // a random permutation
torch::Tensor label_sorted_order(const torch::Tensor& labels);  // stable sort by label

struct StreamResult {
  double accuracy = 0;  // argmax of AdaptResult::probs vs labels
  int64_t samples = 0;
  int64_t batches = 0;
  double seconds = 0;  // wall time inside Adapter::adapt
};

// Feeds images[order] to `adapter` in consecutive batches of `batch_size` (the last may be
// shorter) and scores the predictions.
StreamResult run_stream(Adapter& adapter, const torch::Tensor& images, const torch::Tensor& labels,
                        const torch::Tensor& order, int64_t batch_size);

}  // namespace attune::tta

// Losses and evaluation for training jobs.
#pragma once
#include <torch/script.h>

#include "core/dataset_store.h"
#include "train/job_spec.h"

namespace attune::train {

// kAuto: cross-entropy for integer labels, MSE for floating labels. Throws
// attune::Error(kInvalidArgument) when the loss cannot apply to the labels.
LossKind resolve_loss(LossKind requested, const DatasetInfo& dataset);

// Features of rows `index` as the model's input dtype, multiplied by the dataset's scale.
torch::Tensor batch_features(const Dataset& d, const torch::Tensor& index, torch::ScalarType dtype);
torch::Tensor batch_labels(const Dataset& d, const torch::Tensor& index);

// Mean loss over the batch; targets are reshaped to the output where that is unambiguous.
torch::Tensor compute_loss(LossKind kind, const torch::Tensor& output, const torch::Tensor& target);

struct Evaluation {
  double loss = 0;
  double accuracy = std::numeric_limits<double>::quiet_NaN();  // cross-entropy only
};

// Eval mode, no autograd, in chunks; restores the module's training flag.
Evaluation evaluate(torch::jit::Module& model, const Dataset& d, int64_t begin, int64_t end,
                    LossKind kind, torch::ScalarType input_dtype);

}  // namespace attune::train

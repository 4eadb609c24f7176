// Online fine-tuning (TrainStream): every labelled batch a client sends gets one optimizer step
// on a private copy of the model.
#pragma once
#include <torch/script.h>
#include <torch/torch.h>

#include <memory>

#include "optim/factory.h"
#include "train/job_spec.h"

namespace attune::train {

class OnlineTrainer {
 public:
  // kAuto resolves on the first batch (integer labels: cross-entropy, else MSE).
  OnlineTrainer(torch::jit::Module model, LossKind loss, const optim::OptimizerConfig& optimizer,
                double clip_grad_norm, torch::ScalarType input_dtype);

  struct Step {
    int64_t step = 0;
    double loss = 0;  // of the batch, before the update
    double learning_rate = 0;
  };
  // Throws attune::Error(kInvalidArgument) when the batch does not fit the model, and
  // FAILED_PRECONDITION when the loss is not finite (the parameters are left as they were).
  Step step(const torch::Tensor& features, const torch::Tensor& labels);
  torch::jit::Module& model() { return model_; }
  int64_t steps() const { return steps_; }

 private:
  torch::jit::Module model_;
  LossKind loss_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  double clip_;
  torch::ScalarType input_dtype_;
  int64_t steps_ = 0;
};

}  // namespace attune::train

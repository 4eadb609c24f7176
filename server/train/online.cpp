#include "train/online.h"

#include <cmath>

#include "core/error.h"
#include "core/model_inspect.h"
#include "optim/clip.h"
#include "train/loss.h"

namespace attune::train {

OnlineTrainer::OnlineTrainer(torch::jit::Module model, LossKind loss,
                             const optim::OptimizerConfig& optimizer, double clip_grad_norm,
                             torch::ScalarType input_dtype)
    : model_(std::move(model)), loss_(loss), clip_(clip_grad_norm), input_dtype_(input_dtype) {
  model_.train();
  const auto params = optim::named_parameters(model_);
  if (params.empty()) throw FailedPrecondition("model has no trainable parameters");
  try {
    optimizer_ = optim::make_optimizer(optimizer, params);
  } catch (const std::invalid_argument& e) {
    throw InvalidArgument(std::string("optimizer.") + e.what());
  }
}

OnlineTrainer::Step OnlineTrainer::step(const torch::Tensor& features, const torch::Tensor& labels) {
  if (features.dim() < 1 || labels.dim() < 1 || features.size(0) != labels.size(0) || features.size(0) == 0)
    throw InvalidArgument("batch: features and labels need the same non-zero number of rows, received " +
                          shape_str(features.sizes()) + " and " + shape_str(labels.sizes()));
  if (loss_ == LossKind::kAuto)
    loss_ = labels.is_floating_point() ? LossKind::kMse : LossKind::kCrossEntropy;
  if (loss_ == LossKind::kCrossEntropy && labels.is_floating_point())
    throw InvalidArgument("batch.labels: cross-entropy needs integer class ids, received " +
                          std::string(c10::toString(labels.scalar_type())));
  const auto x = features.to(input_dtype_);
  const auto y = loss_ == LossKind::kCrossEntropy ? labels.to(torch::kInt64) : labels;
  optimizer_->zero_grad();
  torch::Tensor loss;
  try {
    loss = compute_loss(loss_, tensors_of(model_.forward({x}))[0], y);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw InvalidArgument("batch does not fit the model: " + torch_error_message(e));
  }
  const double value = loss.item<double>();
  if (!std::isfinite(value))
    throw FailedPrecondition("loss is not finite at step " + std::to_string(steps_ + 1) +
                             "; the update was skipped (lower the learning rate)");
  loss.backward();
  if (clip_ > 0) optim::clip_grad_norm(*optimizer_, clip_);
  optimizer_->step();
  ++steps_;
  return {steps_, value, optimizer_->param_groups()[0].options().get_lr()};
}

}  // namespace attune::train

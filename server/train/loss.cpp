#include "train/loss.h"

#include "core/error.h"
#include "core/model_inspect.h"

namespace attune::train {

LossKind resolve_loss(LossKind requested, const DatasetInfo& d) {
  const bool integer = !is_floating(d.labels.dtype);
  if (requested == LossKind::kAuto) return integer ? LossKind::kCrossEntropy : LossKind::kMse;
  if (requested == LossKind::kCrossEntropy && (!integer || !d.labels.shape.empty()))
    throw InvalidArgument("loss: CROSS_ENTROPY needs one integer class id per sample; dataset '" +
                          d.name + "' has " + dtype_name(d.labels.dtype) + " labels of shape " +
                          shape_str(d.labels.shape) + " (use MSE or L1)");
  return requested;
}

torch::Tensor batch_features(const Dataset& d, const torch::Tensor& index, torch::ScalarType dtype) {
  auto x = d.features.index_select(0, index).to(dtype);
  if (d.info.feature_scale != 1.0) x.mul_(d.info.feature_scale);
  return x;
}

torch::Tensor batch_labels(const Dataset& d, const torch::Tensor& index) {
  return d.labels.index_select(0, index);
}

torch::Tensor compute_loss(LossKind kind, const torch::Tensor& output, const torch::Tensor& target) {
  if (kind == LossKind::kCrossEntropy) {
    if (output.dim() != 2)
      throw InvalidArgument("loss: CROSS_ENTROPY needs model outputs [batch, classes], got " +
                            shape_str(output.sizes()));
    return torch::nn::functional::cross_entropy(output, target);
  }
  auto t = target.to(output.scalar_type());
  if (t.numel() == output.numel()) t = t.reshape(output.sizes());
  if (t.sizes() != output.sizes())
    throw InvalidArgument("labels " + shape_str(target.sizes()) + " do not match model outputs " +
                          shape_str(output.sizes()));
  return kind == LossKind::kL1 ? torch::l1_loss(output, t) : torch::mse_loss(output, t);
}

Evaluation evaluate(torch::jit::Module& model, const Dataset& d, int64_t begin, int64_t end,
                    LossKind kind, torch::ScalarType input_dtype) {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  double loss_sum = 0, correct = 0;
  const int64_t n = end - begin;
  for (int64_t start = begin; start < end; start += 256) {
    const int64_t stop = std::min(end, start + 256);
    auto index = torch::arange(start, stop, torch::kInt64);
    auto out = tensors_of(model.forward({batch_features(d, index, input_dtype)}))[0];
    auto y = batch_labels(d, index);
    loss_sum += compute_loss(kind, out, y).item<double>() * static_cast<double>(stop - start);
    if (kind == LossKind::kCrossEntropy) correct += out.argmax(1).eq(y).sum().item<double>();
  }
  model.train(was_training);
  Evaluation e;
  e.loss = loss_sum / static_cast<double>(n);
  if (kind == LossKind::kCrossEntropy) e.accuracy = correct / static_cast<double>(n);
  return e;
}

}  // namespace attune::train

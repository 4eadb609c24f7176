#include "tta/evaluation.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>

#include "tta/bn_model.h"

namespace attune::tta {

double train_classifier(torch::jit::Module& model, const torch::Tensor& images,
                        const torch::Tensor& labels, const TrainOptions& options) {
  TORCH_CHECK(images.size(0) == labels.size(0), "train_classifier: ", images.size(0), " images, ",
              labels.size(0), " labels");
  torch::AutoGradMode enable_grad(true);
  std::vector<torch::Tensor> params;
  for (const auto& p : model.parameters()) params.push_back(p.requires_grad_(true));
  torch::optim::Adam adam(params, torch::optim::AdamOptions(options.lr));
  auto gen = at::detail::createCPUGenerator(options.seed);
  model.train(true);
  double last_epoch_loss = 0;
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    if (epoch == options.epochs - options.decayed_epochs) {
      static_cast<torch::optim::AdamOptions&>(adam.param_groups()[0].options())
          .lr(0.1 * options.lr);
    }
    const auto order = torch::randperm(images.size(0), gen, torch::kLong);
    double total = 0;
    int64_t steps = 0;
    for (const auto& idx : order.split(options.batch_size)) {
      if (idx.size(0) < 2) continue;  // BatchNorm cannot train on a single sample
      const auto loss = torch::nn::functional::cross_entropy(
          call_logits(model, images.index_select(0, idx)), labels.index_select(0, idx));
      adam.zero_grad();
      loss.backward();
      adam.step();
      total += loss.item<double>();
      ++steps;
    }
    last_epoch_loss = total / static_cast<double>(std::max<int64_t>(steps, 1));
  }
  model.eval();
  return last_epoch_loss;
}

double eval_accuracy(torch::jit::Module& model, const torch::Tensor& images,
                     const torch::Tensor& labels, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model.eval();
  int64_t correct = 0;
  const auto xs = images.split(batch_size);
  const auto ys = labels.split(batch_size);
  for (size_t i = 0; i < xs.size(); ++i) {
    correct += (call_logits(model, xs[i]).argmax(1) == ys[i]).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(images.size(0));
}

torch::Tensor iid_order(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randperm(n, gen, torch::kLong);
}

torch::Tensor label_sorted_order(const torch::Tensor& labels) {
  return std::get<1>(labels.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
}

StreamResult run_stream(Adapter& adapter, const torch::Tensor& images, const torch::Tensor& labels,
                        const torch::Tensor& order, int64_t batch_size) {
  StreamResult result;
  int64_t correct = 0;
  for (const auto& idx : order.split(batch_size)) {
    const auto x = images.index_select(0, idx);
    const auto start = std::chrono::steady_clock::now();
    const auto r = adapter.adapt(x);
    result.seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    correct += (r.probs.argmax(1) == labels.index_select(0, idx)).sum().item<int64_t>();
    result.samples += idx.size(0);
    ++result.batches;
  }
  result.accuracy =
      static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(result.samples, 1));
  return result;
}

}  // namespace attune::tta

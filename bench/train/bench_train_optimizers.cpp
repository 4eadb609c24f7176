// Fine-tuning on real Fashion-MNIST (Debian's dataset-fashion-mnist) with the built-in BN CNN:
// Adam vs EXAdam vs Adan vs AdaBelief vs AdamW at their official default hyperparameters, same
// seeds, several seeds each. Writes one CSV row per evaluation point:
//   optimizer,seed,step,samples,seconds,train_loss,test_loss,test_accuracy
//
//   bench_train_optimizers --out curves.csv [--epochs 1] [--seeds 3] [--eval-every 100]
//                          [--train-limit 60000] [--test-limit 10000] [--batch 64]
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "core/architectures.h"
#include "data/idx.h"
#include "optim/factory.h"
#include "optim/param_groups.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Eval {
  double loss, accuracy;
};

Eval evaluate(torch::jit::Module& m, const attune::data::ImageSet& test) {
  m.eval();
  torch::NoGradGuard g;
  double loss = 0, correct = 0;
  const int64_t n = test.images.size(0);
  for (int64_t b = 0; b < n; b += 500) {
    const int64_t k = std::min<int64_t>(500, n - b);
    auto out = m.forward({test.images.narrow(0, b, k)}).toTensor();
    auto y = test.labels.narrow(0, b, k);
    loss += torch::nn::functional::cross_entropy(out, y).item<double>() * k;
    correct += out.argmax(1).eq(y).sum().item<double>();
  }
  m.train();
  return {loss / n, correct / n};
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "curves.csv";
  int64_t epochs = 1, seeds = 3, eval_every = 100, train_limit = 60000, test_limit = 10000, batch = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--out") out = v;
    else if (a == "--epochs") epochs = std::stoll(v);
    else if (a == "--seeds") seeds = std::stoll(v);
    else if (a == "--eval-every") eval_every = std::stoll(v);
    else if (a == "--train-limit") train_limit = std::stoll(v);
    else if (a == "--test-limit") test_limit = std::stoll(v);
    else if (a == "--batch") batch = std::stoll(v);
  }
  const auto dir = attune::data::fashion_mnist_dir();
  const auto train = attune::data::load_mnist_style(dir, true, train_limit);
  const auto test = attune::data::load_mnist_style(dir, false, test_limit);
  std::cerr << "Fashion-MNIST: " << train.images.size(0) << " train, " << test.images.size(0) << " test images\n";

  std::ofstream csv(out);
  csv << "optimizer,seed,step,samples,seconds,train_loss,test_loss,test_accuracy\n";
  const std::vector<std::string> optimizers{"adam", "exadam", "adan", "adabelief", "adamw"};
  const int64_t n = train.images.size(0);
  for (int64_t seed = 0; seed < seeds; ++seed) {
    for (const auto& name : optimizers) {
      attune::ArchitectureSpec spec;
      spec.kind = "cnn";
      spec.in_channels = 1;
      spec.height = 28;
      spec.width = 28;
      spec.classes = 10;
      auto model = attune::build_architecture(spec, static_cast<uint64_t>(seed)).module;
      model.train();
      attune::optim::OptimizerConfig cfg;
      cfg.name = name;  // official defaults: lr 1e-3 everywhere, AdamW wd 1e-2
      auto opt = attune::optim::make_optimizer(cfg, attune::optim::named_parameters(model));
      auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(seed) + 1000);
      double seconds = 0, running = 0;
      int64_t step = 0, samples = 0, window = 0;
      auto record = [&] {
        const auto e = evaluate(model, test);
        csv << name << "," << seed << "," << step << "," << samples << "," << std::setprecision(6) << seconds
            << "," << (window ? running / window : std::nan("")) << "," << e.loss << "," << e.accuracy << "\n";
        running = 0;
        window = 0;
        return e;
      };
      record();
      for (int64_t epoch = 0; epoch < epochs; ++epoch) {
        const auto order = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64));
        for (int64_t b = 0; b < n; b += batch) {
          const auto idx = order.narrow(0, b, std::min(batch, n - b));
          const auto x = train.images.index_select(0, idx);
          const auto y = train.labels.index_select(0, idx);
          const auto t0 = Clock::now();
          opt->zero_grad();
          auto loss = torch::nn::functional::cross_entropy(model.forward({x}).toTensor(), y);
          loss.backward();
          opt->step();
          seconds += std::chrono::duration<double>(Clock::now() - t0).count();  // evaluation excluded
          running += loss.item<double>();
          ++window;
          ++step;
          samples += idx.size(0);
          if (step % eval_every == 0) record();
        }
      }
      const auto e = record();
      std::cerr << name << " seed " << seed << ": test accuracy " << e.accuracy << " after " << step << " steps, "
                << seconds << " s\n";
    }
  }
  return 0;
}

#include "eval_setup.h"

#include <chrono>
#include <filesystem>
#include <iostream>

#include "data/idx.h"
#include "tta/evaluation.h"

namespace attune::bench {

Data load_data(const Config& c) {
  const auto dir = data::fashion_mnist_dir();
  auto train = data::load_mnist_style(dir, /*train=*/true, c.train_size);
  auto test = data::load_mnist_style(dir, /*train=*/false);
  return {train.images, train.labels, test.images, test.labels};
}

torch::jit::Module source_model(const Config& c, const Data& d, double* train_seconds) {
  *train_seconds = 0;
  const std::string cache =
      c.cache_dir.empty()
          ? std::string()
          : c.cache_dir + "/cnn_bn_fmnist_n" + std::to_string(d.train_x.size(0)) + "_e" +
                std::to_string(c.epochs) + "_d" + std::to_string(c.decayed_epochs) + ".pt";
  if (!cache.empty() && std::filesystem::exists(cache)) {
    std::cerr << "source model: cached " << cache << "\n";
    auto m = torch::jit::load(cache);
    m.eval();
    return m;
  }
  auto model = torch::jit::load(c.model_path);
  const auto start = std::chrono::steady_clock::now();
  tta::TrainOptions t;
  t.epochs = c.epochs;
  t.decayed_epochs = c.decayed_epochs;
  const double loss = tta::train_classifier(model, d.train_x, d.train_y, t);
  *train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << "source model: trained on " << d.train_x.size(0) << " images x " << c.epochs
            << " epochs in " << *train_seconds << " s, last-epoch loss " << loss << "\n";
  if (!cache.empty()) {
    std::filesystem::create_directories(c.cache_dir);
    model.save(cache);
  }
  return model;
}

std::vector<MethodSpec> compared_methods() {
  using tta::Method;
  auto make = [](Method m) {
    tta::Options o;
    o.method = m;
    o.optimizer.kind = tta::OptimizerOptions::Kind::kAdam;
    o.optimizer.lr = 1e-3;
    o.eata.e_margin_factor = 0.4;
    o.eata.d_margin = 0.4;
    o.eata.fisher_alpha = 1.0;
    o.lame.knn = 5;
    return o;
  };
  auto knn = make(Method::kLame);
  knn.lame.affinity = tta::Affinity::kKnn;
  auto rbf = make(Method::kLame);
  rbf.lame.affinity = tta::Affinity::kRbf;
  return {{"source", make(Method::kSource)},
          {"BN-adapt", make(Method::kNorm)},
          {"Tent", make(Method::kTent)},
          {"ETA", make(Method::kEta)},
          {"EATA", make(Method::kEata)},
          {"LAME-kNN", knn},
          {"LAME-rbf", rbf}};
}

std::unique_ptr<tta::Adapter> session(const torch::jit::Module& model, const MethodSpec& spec,
                                      const tta::FisherInfo& fisher) {
  auto a = tta::make_adapter(model, spec.options);
  if (spec.options.method == tta::Method::kEata) a->set_fisher(fisher);
  return a;
}

tta::FisherInfo clean_fisher(const torch::jit::Module& model, const Data& d, int64_t fisher_size) {
  tta::Options o;
  o.method = tta::Method::kEata;
  auto a = tta::make_adapter(model, o);
  const auto idx = tta::iid_order(d.train_x.size(0), /*seed=*/2020).slice(0, 0, fisher_size);
  return a->compute_fisher(d.train_x.index_select(0, idx), 64);
}

}  // namespace attune::bench

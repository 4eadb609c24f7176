// Setup of the real-data TTA evaluation: configuration, Fashion-MNIST, the trained source model,
// the Fisher information and the compared methods (tta spec §5 recipe for C = 10).
#pragma once
#include <torch/script.h>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "tta/adapter.h"

namespace attune::bench {

struct Config {
  std::string model_path;  // exported cnn_bn TorchScript (untrained weights)
  std::string cache_dir;   // trained source models, reused when the training config matches
  int64_t train_size = 60000;
  int64_t epochs = 3;
  int64_t decayed_epochs = 1;  // last epoch at lr 1e-4: closes the train/eval BatchNorm gap
  int64_t per_setting = 2000;  // test images per (corruption, severity, stream, batch) at bs 64
  int64_t per_setting_bs16 = 1000;
  int64_t continual_segment = 1000;
  int64_t fisher_size = 2000;
  int threads = 2;
  bool quick = false;  // a smoke run: few settings, small subsets
  std::string sections = "grid,continual,cost";
};

struct Data {
  torch::Tensor train_x, train_y, test_x, test_y;  // float [N,1,28,28] in [0,1], int64
};

Data load_data(const Config& c);

// Loads the cached trained model or trains the exported cnn_bn on the train split (Adam 1e-3,
// batch 64, seed 0, step decay) and caches it under a name made of the training config.
torch::jit::Module source_model(const Config& c, const Data& d, double* train_seconds);

struct MethodSpec {
  std::string label;
  tta::Options options;
};

// source, BN-adapt, Tent (Adam 1e-3), ETA and EATA (Adam 1e-3, E0 = 0.4 ln 10, ε = 0.4, β = 1),
// LAME kNN and rbf (k = 5).
std::vector<MethodSpec> compared_methods();

// A fresh session of `spec` on `model`; EATA gets `fisher`.
std::unique_ptr<tta::Adapter> session(const torch::jit::Module& model, const MethodSpec& spec,
                                      const tta::FisherInfo& fisher);

// Fisher from `fisher_size` random clean training images in batches of 64.
tta::FisherInfo clean_fisher(const torch::jit::Module& model, const Data& d, int64_t fisher_size);

}  // namespace attune::bench

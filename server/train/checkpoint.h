// Training checkpoints: <job>/ckpt-<step>/{model.pt,optimizer.pt,state.json}, made current by
// atomically rewriting <job>/CURRENT, so a crash at any moment leaves the previous checkpoint
// intact and readable.
#pragma once
#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <optional>

namespace attune::train {

struct CheckpointState {
  int64_t step = 0;
  int64_t epoch = 0;
  int64_t position = 0;  // next sample of the epoch's order
  int64_t samples = 0;
  int64_t batch_size = 0;
  double loss = std::numeric_limits<double>::quiet_NaN();
  double validation_loss = std::numeric_limits<double>::quiet_NaN();
  double validation_accuracy = std::numeric_limits<double>::quiet_NaN();
  double best_validation_loss = std::numeric_limits<double>::infinity();
  int64_t evaluations_without_improvement = 0;
  double train_seconds = 0;
  std::string rng_state;  // hex of the default CPU generator (dropout, ...)
};

// Returns the checkpoint's size in bytes.
int64_t write_checkpoint(const std::filesystem::path& job_dir, const torch::jit::Module& model,
                         torch::optim::Optimizer& optimizer, const CheckpointState& state);

struct Checkpoint {
  torch::jit::Module model;
  std::filesystem::path optimizer_file;
  CheckpointState state;
};
std::optional<Checkpoint> read_checkpoint(const std::filesystem::path& job_dir);
void load_optimizer(torch::optim::Optimizer& optimizer, const std::filesystem::path& file);

std::string generator_state_hex();
void restore_generator_state(const std::string& hex);

}  // namespace attune::train

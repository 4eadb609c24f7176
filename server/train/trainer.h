// The training loop of one job: data order, optimizer, schedule, adaptive batch size,
// validation and early stopping, periodic checkpoints, cancellation within one step, and resume
// from the last checkpoint with the exact same trajectory in deterministic mode.
#pragma once
#include <torch/script.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "core/dataset_store.h"
#include "train/job_spec.h"

namespace attune::train {

struct Progress {
  int64_t step = 0;
  int64_t total_steps = 0;
  int64_t epoch = 0;
  int64_t samples = 0;
  double loss = std::numeric_limits<double>::quiet_NaN();
  double validation_loss = std::numeric_limits<double>::quiet_NaN();
  double validation_accuracy = std::numeric_limits<double>::quiet_NaN();
  double learning_rate = 0;
  int64_t batch_size = 0;
  double samples_per_second = 0;
  double eta_seconds = 0;
  int64_t checkpoint_step = -1;
  double step_seconds = 0;         // duration of the last step
  double checkpoint_seconds = 0;   // duration of the last checkpoint write
};

enum class EventKind { kState = 1, kProgress = 2, kValidation = 3, kCheckpoint = 4, kBatchSize = 5 };
using EmitFn = std::function<void(EventKind, const Progress&, const std::string& message)>;

struct TrainInputs {
  JobSpec spec;
  std::filesystem::path job_dir;
  // The model to start from when the job has no checkpoint yet (a private copy).
  torch::jit::Module initial_model;
  torch::ScalarType input_dtype = torch::kFloat32;
  std::shared_ptr<const Dataset> train;
  int64_t train_end = 0;  // rows [0, train_end) of `train` are trained on
  std::shared_ptr<const Dataset> validation;  // may be `train` (rows [val_begin, val_end))
  int64_t val_begin = 0, val_end = 0;
  LossKind loss = LossKind::kCrossEntropy;
  const std::atomic<bool>* cancel = nullptr;     // user cancellation
  const std::atomic<bool>* interrupt = nullptr;  // server shutdown: checkpoint and stop
  EmitFn emit;
};

enum class StopReason { kCompleted, kMaxSteps, kEarlyStopping, kCancelled, kInterrupted };
std::string stop_reason_name(StopReason r);

struct TrainOutcome {
  StopReason reason = StopReason::kCompleted;
  torch::jit::Module model;
  Progress progress;
  bool resumed = false;  // started from an existing checkpoint
};

// Throws attune::Error (e.g. FAILED_PRECONDITION for a NaN loss, INVALID_ARGUMENT when the
// model rejects the data) with a message the job records.
TrainOutcome run_training(TrainInputs& in);

}  // namespace attune::train

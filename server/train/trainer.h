// The training loop of one job: data order, optimizer, schedule, adaptive batch size,
// validation and early stopping, periodic checkpoints, cancellation within one step, and resume
// from the last checkpoint with the exact same trajectory in deterministic mode.
#pragma once
#include <torch/script.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/dataset_store.h"
#include "train/job_spec.h"

namespace attune::dist {
class Group;
}

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
  int64_t world_size = 1;          // ranks training the job
  double allreduce_seconds = 0;    // gradient all-reduce of the last step (distributed jobs)
};

enum class EventKind { kState = 1, kProgress = 2, kValidation = 3, kCheckpoint = 4, kBatchSize = 5 };
using EmitFn = std::function<void(EventKind, const Progress&, const std::string& message)>;

// One rank of a data-parallel job (world_size > 1; design in server/train/DISTRIBUTED.md). Every rank
// runs this loop on its slice of each global batch; gradients are summed across ranks before the
// optimizer step, so all ranks hold identical parameters and optimizer state. Rank 0 is the
// server that owns the job: it validates, checkpoints and reports; the others follow its
// decisions (cancel, shutdown, early stopping) through the collectives.
struct DistributedRole {
  int rank = 0;
  int world_size = 1;
  bool has_validation = false;  // whether rank 0 validates (the others join its decision)
  int64_t bucket_bytes = int64_t{25} << 20;
  // Forms the process group once the starting checkpoint is in place (written by rank 0,
  // downloaded by the others); `step` is that checkpoint's step.
  std::function<std::unique_ptr<dist::Group>(int64_t step)> connect;
  // Rank 0: adds what it knows about the other ranks (which one left) to a collective failure.
  std::function<std::string(const std::string& what)> explain;
};

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
  std::optional<DistributedRole> distributed;
};

// kRankShutdown: another rank of a distributed job is shutting down; rank 0 checkpointed and the
// job waits for the ranks again.
enum class StopReason { kCompleted, kMaxSteps, kEarlyStopping, kCancelled, kInterrupted, kRankShutdown };
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

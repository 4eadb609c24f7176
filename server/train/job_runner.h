// Training jobs as long-running operations: a bounded queue in front of a fixed worker pool,
// every job persisted as <data>/jobs/<id>/job.json (+ its checkpoints), progress events kept
// for watchers, and unfinished jobs resumed from their last checkpoint after a restart.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/dataset_store.h"
#include "core/error.h"
#include "core/model_registry.h"
#include "train/coordinator.h"
#include "train/job_spec.h"
#include "train/trainer.h"

namespace attune::train {

// Histogram boundaries of attune_train_allreduce_seconds: 100 µs (small models on one host) to
// seconds (large models across a slow network).
const std::vector<double>& allreduce_seconds_buckets();

enum class JobState { kQueued = 1, kRunning = 2, kSucceeded = 3, kFailed = 4, kCancelled = 5 };
std::string job_state_name(JobState s);
bool is_terminal(JobState s);

struct JobResult {
  std::string model_name;
  int64_t model_version = 0;
  double final_loss = 0, validation_loss = 0, validation_accuracy = 0;
  int64_t steps = 0;
  std::string stop_reason;
};

struct JobRecord {
  std::string id;
  JobSpec spec;
  JobState state = JobState::kQueued;
  Progress progress;
  std::optional<JobResult> result;
  std::optional<std::pair<Code, std::string>> error;
  double created = 0, started = 0, finished = 0;
  int64_t resumes = 0;
  std::string model;  // the name the result is published under
  std::vector<TensorSpec> inputs, outputs;  // of the model being trained (set on first start)
};

struct JobEventRecord {
  int64_t sequence = 0;
  EventKind kind = EventKind::kState;
  JobState state = JobState::kQueued;
  Progress progress;
  std::string message;
  bool done = false;
};

struct WatchBatch {
  std::vector<JobEventRecord> events;
  JobRecord job;
  int64_t last_sequence = 0;  // newest event of the job so far
  bool done = false;      // the job reached a terminal state
  bool stopping = false;  // the server is shutting down
};

class JobRunner {
 public:
  JobRunner(std::filesystem::path data_dir, ModelRegistry& models, DatasetStore& datasets,
            int workers, int max_queued, CoordinatorOptions distributed = {});
  ~JobRunner();

  // Loads persisted jobs (unfinished ones are queued again) and starts the workers.
  void start();
  // Validates against hosted models and datasets, persists and queues. INVALID_ARGUMENT /
  // NOT_FOUND / FAILED_PRECONDITION for bad specs, RESOURCE_EXHAUSTED when the queue is full,
  // UNAVAILABLE while shutting down.
  JobRecord submit(JobSpec spec);
  JobRecord get(const std::string& id) const;
  std::vector<JobRecord> list(std::optional<JobState> state) const;
  JobRecord cancel(const std::string& id);
  // A FAILED or CANCELLED job is queued again and resumes from its last checkpoint (e.g. after a
  // rank of a distributed job was lost). FAILED_PRECONDITION for other states.
  JobRecord restart(const std::string& id);
  // Events newer than `after`; waits up to `timeout` for one when there is none yet.
  WatchBatch watch(const std::string& id, int64_t after, std::chrono::milliseconds timeout) const;
  // Running jobs checkpoint and stop (they resume on the next start); workers are joined.
  void shutdown();
  bool dataset_in_use(const std::string& name) const;
  int queued() const;
  // Rank 0's side of distributed jobs (world_size > 1).
  Coordinator& coordinator() { return coordinator_; }

 private:
  struct Job {
    JobRecord rec;
    std::atomic<bool> cancel{false};
    std::deque<JobEventRecord> events;
    int64_t next_sequence = 1;
    std::chrono::steady_clock::time_point last_progress_event{};
  };

  void worker_loop();
  void run(const std::shared_ptr<Job>& job);
  void execute(const std::shared_ptr<Job>& job);
  void persist(const JobRecord& rec) const;
  // Caller holds mu_.
  void add_event_locked(Job& job, EventKind kind, const std::string& message, bool done);
  void set_state(const std::shared_ptr<Job>& job, JobState state, const std::string& message);
  void update_gauges_locked() const;
  std::shared_ptr<Job> find_locked(const std::string& id) const;
  void check_compatible(const JobSpec& spec) const;
  // A state event with the job's current progress (WatchJob shows it).
  void note(const std::shared_ptr<Job>& job, const std::string& message);

  std::filesystem::path dir_;
  ModelRegistry& models_;
  DatasetStore& datasets_;
  int workers_count_, max_queued_;
  mutable std::mutex mu_;
  std::condition_variable queue_cv_;
  mutable std::condition_variable events_cv_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::string> queue_;
  std::vector<std::thread> workers_;
  std::atomic<bool> interrupt_{false};
  bool stopping_ = false;
  Coordinator coordinator_;
};

}  // namespace attune::train

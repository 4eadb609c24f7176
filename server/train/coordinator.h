// Rank 0's side of distributed jobs (design: server/train/DISTRIBUTED.md). A job with
// world_size W > 1 runs on the server that accepted it as rank 0; each attempt to run it opens
// W − 1 worker slots here. Worker processes (`attune-server --worker`) claim a slot through
// rpc/distributed_service.cpp, download the attempt's starting checkpoint and training rows, and
// join the attempt's c10d rendezvous store. A worker's session stays open while it trains; its
// end tells rank 0 that the rank left, which explain() turns into the job's error.
#pragma once
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/dataset_store.h"

namespace attune::dist {
class StoreServer;
}

namespace attune::train {

struct CoordinatorOptions {
  int store_port = 0;           // rank 0's TCPStore; 0 = a free port (told to workers)
  std::string advertise_host;   // how workers reach the store; "" = the host they reached rank 0 at
  std::string device_host;      // rank 0's Gloo address; "" = this host's name
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};       // each collective
  std::chrono::milliseconds join_timeout{std::chrono::seconds(600)};  // waiting for the ranks
  int64_t bucket_bytes = int64_t{25} << 20;
};

// What a worker needs to take part in one attempt of one job.
struct Assignment {
  std::string job;
  int64_t attempt = 0;
  int rank = 0;
  int world_size = 0;
  std::string store_host;  // "" = the host the worker reached rank 0 at
  int store_port = 0;
  std::string prefix;      // store key namespace of the attempt
  std::string spec_json;   // train::JobSpec (job_spec.h to_json)
  int64_t checkpoint_step = 0;
  int64_t train_rows = 0;
  int loss = 0;          // train::LossKind, resolved
  int input_dtype = 0;   // c10::ScalarType of the model input
  bool has_validation = false;
  double timeout_seconds = 0, join_timeout_seconds = 0;
  int64_t bucket_bytes = 0;
};

class Coordinator {
 public:
  struct Attempt;
  using Note = std::function<void(const std::string& message)>;

  explicit Coordinator(CoordinatorOptions options);
  ~Coordinator();
  const CoordinatorOptions& options() const { return options_; }

  // ---- rank 0 (JobRunner) ----
  // Starts the attempt's store and offers ranks 1..W−1 to workers. `base` is rank 0's view
  // (job, world_size, spec, checkpoint, data shape); `note` receives state messages for WatchJob.
  std::shared_ptr<Attempt> open(Assignment base, std::filesystem::path checkpoint_dir,
                                std::shared_ptr<const Dataset> data, Note note);
  // Rank 0's copy of what workers are told (store port, key prefix, attempt number).
  Assignment assignment(const std::shared_ptr<Attempt>& a) const;
  // Every rank joined the group: no more claims.
  void formed(const std::shared_ptr<Attempt>& a);
  // Ends the attempt: workers' sessions get `outcome` and close.
  void close(const std::shared_ptr<Attempt>& a, const std::string& outcome);
  // A collective failed: waits up to `grace` for news of the ranks (a session closing, a
  // worker's own error) and returns `what` prefixed with them.
  std::string explain(const std::shared_ptr<Attempt>& a, const std::string& what,
                      std::chrono::milliseconds grace = std::chrono::seconds(2));

  // ---- workers (rpc/distributed_service.cpp) ----
  // Waits up to `wait` for an open attempt with a free slot (`rank`, or any when -1). Throws
  // InvalidArgument for rank 0 (the server that owns the job) or a negative rank.
  std::optional<Assignment> claim(int rank, const std::string& worker, std::chrono::milliseconds wait);
  // The worker's session ended: before the group formed the slot is free again; after, the
  // rank is gone and the attempt will fail.
  void left(const std::string& job, int64_t attempt, int rank);
  void report(const std::string& job, int64_t attempt, int rank, const std::string& message);
  // The outcome once the attempt is closed (waits up to `wait`); NOT_FOUND when unknown.
  std::optional<std::string> wait_closed(const std::string& job, int64_t attempt, std::chrono::milliseconds wait);
  std::filesystem::path checkpoint_dir(const std::string& job, int64_t attempt) const;
  std::shared_ptr<const Dataset> dataset(const std::string& job, int64_t attempt, int64_t* rows) const;

 private:
  std::shared_ptr<Attempt> find_locked(const std::string& job, int64_t attempt) const;

  CoordinatorOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Attempt>> attempts_;  // open or recently closed, oldest first
  int64_t next_attempt_ = 1;
};

}  // namespace attune::train

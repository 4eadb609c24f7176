// `attune-server --worker --coordinator HOST:PORT`: a worker rank of distributed training jobs
// (design: server/train/DISTRIBUTED.md). It keeps nothing of its own: it asks the coordinator
// (the server that owns a job, rank 0) for a rank, downloads the attempt's starting checkpoint
// and training rows into a scratch folder under --data-dir, joins the c10d group and trains its
// slice of every global batch, then asks for the next job. It serves grpc.health.v1 on --listen
// (for probes) and its own per-rank metrics on --metrics-listen.
#pragma once
#include <grpcpp/server.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "attune/v1/distributed_service.grpc.pb.h"
#include "core/config.h"

namespace prometheus {
class Exposer;
}

namespace attune::rpc {

class TrainWorker {
 public:
  explicit TrainWorker(ServerConfig cfg);
  ~TrainWorker();

  // Health server, metrics and the ready file. Throws when a listener cannot bind.
  void start();
  // Takes part in jobs until stop() or --worker-jobs attempts; returns the process exit code
  // (0, or 1 when the last attempt failed).
  int run();
  // SIGTERM: a running attempt stops after the current step (rank 0 checkpoints and waits for
  // the ranks again); run() returns.
  void stop();

 private:
  // One assignment, from download to the end of the session; false when this rank failed.
  bool run_attempt(v1::DistributedTrainingService::Stub& stub, grpc::ClientContext& ctx,
                   grpc::ClientReader<v1::JoinResponse>& stream, const v1::Assignment& a);

  ServerConfig cfg_;
  std::unique_ptr<grpc::Server> health_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int grpc_port_ = 0, metrics_port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  grpc::ClientContext* waiting_ = nullptr;  // the Join call waiting for a job (cancelled by stop())
};

}  // namespace attune::rpc

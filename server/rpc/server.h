// Owns the gRPC server, the services, the metrics exposer and the shutdown sequence:
// SIGTERM -> health NOT_SERVING -> optional delay -> stop background work -> drain in-flight RPCs
// within --drain-seconds -> exit 0.
#pragma once
#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/lifecycle.h"
#include "adapt/session_manager.h"
#include "core/dataset_store.h"
#include "core/model_registry.h"
#include "streams/stream_store.h"
#include "train/job_runner.h"

namespace prometheus {
class Exposer;
}

namespace attune::rpc {

class Server {
 public:
  explicit Server(ServerConfig cfg);
  ~Server();

  // Restores persisted state, binds the listeners and starts serving. Throws on bind failure.
  void start();
  // SIGHUP: re-read the token file.
  void reload();
  // Idempotent; returns once every RPC has finished.
  void shutdown();
  void wait();

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  ModelRegistry& registry() { return *registry_; }
  train::JobRunner& jobs() { return *jobs_; }
  streams::StreamStore& streams() { return *streams_; }
  // Health-checked service names (plus "" for the whole server and "liveness").
  static std::vector<std::string> service_names();

 private:
  void write_ready_file() const;
  void set_health(bool serving);

  ServerConfig cfg_;
  Lifecycle life_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<DatasetStore> datasets_;
  std::unique_ptr<train::JobRunner> jobs_;
  std::unique_ptr<adapt::SessionManager> sessions_;
  std::unique_ptr<streams::StreamStore> streams_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> health_server_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  bool shut_down_ = false;
};

}  // namespace attune::rpc

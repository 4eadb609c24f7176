// Server configuration from flags and ATTUNE_* environment variables (flag wins over env, env
// over the default). `attune-server --help` prints every option with its variable.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attune {

struct ServerConfig {
  std::string listen = "0.0.0.0:50051";
  std::string metrics_listen = "0.0.0.0:9464";
  std::string health_listen;  // extra plaintext listener (health only), for TLS deployments
  std::string data_dir = "./data";
  std::string model_repository;  // default <data_dir>/repository
  std::string datasets_dir;      // ImportDataset root; default <data_dir>/imports
  int64_t max_message_bytes = 64ll << 20;
  int threads = 0;  // intra-op threads; 0 = from the cgroup CPU limit, else all cores
  std::string log_level = "info";
  double drain_seconds = 10.0;       // in-flight RPCs get this long after SIGTERM
  double shutdown_delay_seconds = 0;  // NOT_SERVING before draining (k8s endpoint removal)
  std::string ready_file;  // JSON {"grpc_port":..,"metrics_port":..} written once serving
  std::vector<std::string> load_models;  // repository models loaded at start
  int max_models = 256;
  int train_workers = 1;
  int max_queued_jobs = 16;
  int max_sessions = 64;
  double session_idle_seconds = 900;
  int max_streams = 64;
  // Security (off by default; see README "Security").
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;  // set => mutual TLS
  std::string tokens_file;
  // Distributed training (see server/train/DISTRIBUTED.md). The server that accepts a job with
  // world_size > 1 is its rank 0; `--worker` processes are the other ranks.
  bool worker = false;              // run as a worker rank of --coordinator's jobs
  std::string coordinator;          // worker: rank 0's gRPC address (host:port)
  std::string coordinator_token;    // worker: bearer token for rank 0 (train role)
  std::string coordinator_ca;       // worker: PEM CA when rank 0 serves TLS
  int rank = -1;                    // worker: -1 = JOB_COMPLETION_INDEX+1, hostname ordinal+1, or any
  int worker_jobs = 0;              // worker: exit after this many job attempts (0 = never)
  std::string dist_host;            // this rank's Gloo address ("" = the host name)
  int dist_store_port = 0;          // rank 0: rendezvous store port (0 = any free port)
  std::string dist_advertise_host;  // rank 0: host workers use for the store ("" = --coordinator's)
  double dist_timeout_seconds = 120;
  double dist_join_timeout_seconds = 600;
  int dist_bucket_mb = 25;
};

// Throws std::invalid_argument with a message saying which flag is wrong and how to fix it.
// Sets *help when --help was given (the caller prints usage()).
ServerConfig parse_config(int argc, const char* const* argv, bool* help = nullptr);
std::string usage();
// CPUs available to this process: cgroup v2 cpu.max quota if set, else hardware threads.
int available_cpus();

}  // namespace attune

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
};

// Throws std::invalid_argument with a message saying which flag is wrong and how to fix it.
// Sets *help when --help was given (the caller prints usage()).
ServerConfig parse_config(int argc, const char* const* argv, bool* help = nullptr);
std::string usage();
// CPUs available to this process: cgroup v2 cpu.max quota if set, else hardware threads.
int available_cpus();

}  // namespace attune

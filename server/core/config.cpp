#include "core/config.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace attune {
namespace {

struct Option {
  const char* flag;
  const char* env;
  const char* help;
  std::function<void(ServerConfig&, const std::string&)> set;
  bool boolean = false;  // a switch: `--flag` alone means true (`--flag=false` too)
};

bool to_bool(const std::string& flag, const std::string& v) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw std::invalid_argument(flag + ": expected true or false, received '" + v + "'");
}


int64_t to_int(const std::string& flag, const std::string& v) {
  size_t pos = 0;
  long long x = 0;
  try {
    x = std::stoll(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v.size() || v.empty())
    throw std::invalid_argument(flag + ": expected an integer, received '" + v + "'");
  return x;
}

double to_double(const std::string& flag, const std::string& v) {
  size_t pos = 0;
  double x = 0;
  try {
    x = std::stod(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v.size() || v.empty() || !std::isfinite(x))
    throw std::invalid_argument(flag + ": expected a number, received '" + v + "'");
  return x;
}

double positive_seconds(const std::string& flag, const std::string& v) {
  const double x = to_double(flag, v);
  if (x <= 0) throw std::invalid_argument(flag + ": expected a number of seconds > 0, received " + v);
  return x;
}

int positive(const std::string& flag, const std::string& v) {
  const int64_t x = to_int(flag, v);
  if (x < 1 || x > 1'000'000)
    throw std::invalid_argument(flag + ": expected an integer >= 1, received " + v);
  return static_cast<int>(x);
}

const std::vector<Option>& options() {
  static const std::vector<Option> opts = {
      {"--listen", "ATTUNE_LISTEN", "gRPC address (host:port)",
       [](ServerConfig& c, const std::string& v) { c.listen = v; }},
      {"--metrics-listen", "ATTUNE_METRICS_LISTEN", "Prometheus /metrics address (host:port)",
       [](ServerConfig& c, const std::string& v) { c.metrics_listen = v; }},
      {"--health-listen", "ATTUNE_HEALTH_LISTEN",
       "extra plaintext listener serving only grpc.health.v1 (for probes when TLS is on)",
       [](ServerConfig& c, const std::string& v) { c.health_listen = v; }},
      {"--data-dir", "ATTUNE_DATA_DIR", "where models, jobs, datasets and streams persist",
       [](ServerConfig& c, const std::string& v) { c.data_dir = v; }},
      {"--model-repository", "ATTUNE_MODEL_REPOSITORY",
       "model repository root (<repo>/<name>/<version>/model.pt); default <data-dir>/repository",
       [](ServerConfig& c, const std::string& v) { c.model_repository = v; }},
      {"--datasets-dir", "ATTUNE_DATASETS_DIR",
       "root for ImportDataset paths; default <data-dir>/imports",
       [](ServerConfig& c, const std::string& v) { c.datasets_dir = v; }},
      {"--max-message-bytes", "ATTUNE_MAX_MESSAGE_BYTES",
       "largest gRPC message accepted (bigger models: LoadModelStream)",
       [](ServerConfig& c, const std::string& v) {
         const int64_t x = to_int("--max-message-bytes", v);
         if (x < 1024 || x > 2147483647)
           throw std::invalid_argument("--max-message-bytes: expected 1024..2147483647, received " + v);
         c.max_message_bytes = x;
       }},
      {"--threads", "ATTUNE_THREADS", "LibTorch intra-op threads (0 = CPU limit)",
       [](ServerConfig& c, const std::string& v) {
         const int64_t x = to_int("--threads", v);
         if (x < 0 || x > 1024)
           throw std::invalid_argument("--threads: expected 0..1024, received " + v);
         c.threads = static_cast<int>(x);
       }},
      {"--log-level", "ATTUNE_LOG_LEVEL", "debug|info|warn|error",
       [](ServerConfig& c, const std::string& v) { c.log_level = v; }},
      {"--drain-seconds", "ATTUNE_DRAIN_SECONDS",
       "after SIGTERM, how long in-flight RPCs may run before they are cancelled",
       [](ServerConfig& c, const std::string& v) { c.drain_seconds = to_double("--drain-seconds", v); }},
      {"--shutdown-delay-seconds", "ATTUNE_SHUTDOWN_DELAY_SECONDS",
       "after SIGTERM, report NOT_SERVING this long before draining (load balancers catch up)",
       [](ServerConfig& c, const std::string& v) {
         c.shutdown_delay_seconds = to_double("--shutdown-delay-seconds", v);
       }},
      {"--ready-file", "ATTUNE_READY_FILE",
       "write {\"grpc_port\":..,\"metrics_port\":..} here once serving (ports may be 0 = any)",
       [](ServerConfig& c, const std::string& v) { c.ready_file = v; }},
      {"--load-model", "ATTUNE_LOAD_MODELS",
       "repository model to load at start (repeatable; env: comma-separated)",
       [](ServerConfig& c, const std::string& v) {
         std::stringstream ss(v);
         std::string item;
         while (std::getline(ss, item, ','))
           if (!item.empty()) c.load_models.push_back(item);
       }},
      {"--max-models", "ATTUNE_MAX_MODELS", "most model versions hosted at once",
       [](ServerConfig& c, const std::string& v) { c.max_models = positive("--max-models", v); }},
      {"--train-workers", "ATTUNE_TRAIN_WORKERS", "training jobs running at once",
       [](ServerConfig& c, const std::string& v) { c.train_workers = positive("--train-workers", v); }},
      {"--max-queued-jobs", "ATTUNE_MAX_QUEUED_JOBS", "training jobs waiting for a worker",
       [](ServerConfig& c, const std::string& v) {
         c.max_queued_jobs = positive("--max-queued-jobs", v);
       }},
      {"--max-sessions", "ATTUNE_MAX_SESSIONS", "adaptation sessions open at once",
       [](ServerConfig& c, const std::string& v) { c.max_sessions = positive("--max-sessions", v); }},
      {"--session-idle-seconds", "ATTUNE_SESSION_IDLE_SECONDS",
       "adaptation sessions idle this long are closed",
       [](ServerConfig& c, const std::string& v) {
         c.session_idle_seconds = to_double("--session-idle-seconds", v);
       }},
      {"--max-streams", "ATTUNE_MAX_STREAMS", "nowcasting streams hosted at once",
       [](ServerConfig& c, const std::string& v) { c.max_streams = positive("--max-streams", v); }},
      {"--tls-cert", "ATTUNE_TLS_CERT", "PEM server certificate (enables TLS)",
       [](ServerConfig& c, const std::string& v) { c.tls_cert = v; }},
      {"--tls-key", "ATTUNE_TLS_KEY", "PEM server private key",
       [](ServerConfig& c, const std::string& v) { c.tls_key = v; }},
      {"--tls-client-ca", "ATTUNE_TLS_CLIENT_CA", "PEM CA for client certificates (mutual TLS)",
       [](ServerConfig& c, const std::string& v) { c.tls_client_ca = v; }},
      {"--tokens-file", "ATTUNE_TOKENS_FILE",
       "bearer tokens with roles (enables authentication; reloaded on SIGHUP)",
       [](ServerConfig& c, const std::string& v) { c.tokens_file = v; }},
      {"--worker", "ATTUNE_WORKER",
       "run as a worker rank of distributed training jobs owned by --coordinator (no value needed)",
       [](ServerConfig& c, const std::string& v) { c.worker = to_bool("--worker", v); }, true},
      {"--coordinator", "ATTUNE_COORDINATOR",
       "worker: gRPC address (host:port) of the server that owns the jobs (rank 0)",
       [](ServerConfig& c, const std::string& v) { c.coordinator = v; }},
      {"--coordinator-token", "ATTUNE_COORDINATOR_TOKEN",
       "worker: bearer token (train role) for the coordinator when it requires tokens",
       [](ServerConfig& c, const std::string& v) { c.coordinator_token = v; }},
      {"--coordinator-ca", "ATTUNE_COORDINATOR_CA", "worker: PEM CA certificate when the coordinator serves TLS",
       [](ServerConfig& c, const std::string& v) { c.coordinator_ca = v; }},
      {"--rank", "ATTUNE_RANK",
       "worker: this rank (>= 1); default JOB_COMPLETION_INDEX+1, else the pod's ordinal+1, else any",
       [](ServerConfig& c, const std::string& v) { c.rank = positive("--rank", v); }},
      {"--worker-jobs", "ATTUNE_WORKER_JOBS",
       "worker: exit after this many job attempts (0 = keep serving; 1 suits a Kubernetes Job)",
       [](ServerConfig& c, const std::string& v) {
         const int64_t x = to_int("--worker-jobs", v);
         if (x < 0 || x > 1'000'000) throw std::invalid_argument("--worker-jobs: expected >= 0, received " + v);
         c.worker_jobs = static_cast<int>(x);
       }},
      {"--dist-host", "ATTUNE_DIST_HOST",
       "address this rank's Gloo transport binds to and advertises (default: the host name)",
       [](ServerConfig& c, const std::string& v) { c.dist_host = v; }},
      {"--dist-store-port", "ATTUNE_DIST_STORE_PORT",
       "rank 0: port of a distributed job's rendezvous store (0 = any free port, told to workers)",
       [](ServerConfig& c, const std::string& v) {
         const int64_t x = to_int("--dist-store-port", v);
         if (x < 0 || x > 65535) throw std::invalid_argument("--dist-store-port: expected 0..65535, received " + v);
         c.dist_store_port = static_cast<int>(x);
       }},
      {"--dist-advertise-host", "ATTUNE_DIST_ADVERTISE_HOST",
       "rank 0: host workers use to reach the rendezvous store (default: the host in their --coordinator)",
       [](ServerConfig& c, const std::string& v) { c.dist_advertise_host = v; }},
      {"--dist-timeout-seconds", "ATTUNE_DIST_TIMEOUT_SECONDS",
       "distributed jobs: a collective (all-reduce) waiting longer than this fails the job",
       [](ServerConfig& c, const std::string& v) {
         c.dist_timeout_seconds = positive_seconds("--dist-timeout-seconds", v);
       }},
      {"--dist-join-timeout-seconds", "ATTUNE_DIST_JOIN_TIMEOUT_SECONDS",
       "rank 0: how long a distributed job waits for all its ranks before it fails",
       [](ServerConfig& c, const std::string& v) {
         c.dist_join_timeout_seconds = positive_seconds("--dist-join-timeout-seconds", v);
       }},
      {"--dist-bucket-mb", "ATTUNE_DIST_BUCKET_MB", "distributed jobs: gradient all-reduce bucket size in MiB",
       [](ServerConfig& c, const std::string& v) { c.dist_bucket_mb = positive("--dist-bucket-mb", v); }},
  };
  return opts;
}

void validate(const ServerConfig& c) {
  if (c.drain_seconds < 0 || c.shutdown_delay_seconds < 0)
    throw std::invalid_argument("--drain-seconds/--shutdown-delay-seconds: expected >= 0");
  if (c.session_idle_seconds <= 0)
    throw std::invalid_argument("--session-idle-seconds: expected > 0");
  if (c.tls_cert.empty() != c.tls_key.empty())
    throw std::invalid_argument("--tls-cert and --tls-key: give both or neither");
  if (!c.tls_client_ca.empty() && c.tls_cert.empty())
    throw std::invalid_argument("--tls-client-ca needs --tls-cert and --tls-key (mutual TLS)");
  if (c.data_dir.empty()) throw std::invalid_argument("--data-dir: must not be empty");
  if (c.worker && c.coordinator.empty())
    throw std::invalid_argument("--worker needs --coordinator HOST:PORT (the server that owns the jobs)");
  if (!c.worker && !c.coordinator.empty())
    throw std::invalid_argument("--coordinator is for workers: add --worker");
}

}  // namespace

ServerConfig parse_config(int argc, const char* const* argv, bool* help) {
  ServerConfig c;
  for (const auto& o : options())
    if (const char* v = std::getenv(o.env); v && *v) o.set(c, v);
  bool models_from_flags = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      if (help) *help = true;
      return c;
    }
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const Option* found = nullptr;
    for (const auto& o : options())
      if (arg == o.flag) found = &o;
    if (!found)
      throw std::invalid_argument("unknown option '" + arg + "' (see attune-server --help)");
    if (!has_value && found->boolean) {
      value = "true";
    } else if (!has_value) {
      if (i + 1 >= argc) throw std::invalid_argument(arg + ": missing value");
      value = argv[++i];
    }
    if (arg == "--load-model" && !models_from_flags) {
      c.load_models.clear();  // flags replace ATTUNE_LOAD_MODELS
      models_from_flags = true;
    }
    found->set(c, value);
  }
  if (c.model_repository.empty()) c.model_repository = c.data_dir + "/repository";
  if (c.datasets_dir.empty()) c.datasets_dir = c.data_dir + "/imports";
  validate(c);
  return c;
}

std::string usage() {
  std::ostringstream o;
  o << "usage: attune-server [options]\n\nEvery option can also be set through its environment "
       "variable (the flag wins).\n\n";
  for (const auto& opt : options()) {
    o << "  " << opt.flag << (opt.boolean ? "      " : " VALUE");
    o << std::string(std::max<size_t>(2, 30 - std::string(opt.flag).size()), ' ') << opt.help
      << "\n" << std::string(38, ' ') << "env " << opt.env << "\n";
  }
  return o.str();
}

int available_cpus() {
  std::ifstream in("/sys/fs/cgroup/cpu.max");
  std::string quota, period;
  if (in >> quota >> period && quota != "max") {
    try {
      const double q = std::stod(quota), p = std::stod(period);
      if (q > 0 && p > 0) return std::max(1, static_cast<int>(std::ceil(q / p)));
    } catch (const std::exception&) {
    }
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace attune

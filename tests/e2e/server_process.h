// Runs attune-server as a child process on loopback with free ports, for end-to-end tests.
#pragma once
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace attune::test {

// A fresh directory under /tmp, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class ServerProcess {
 public:
  // Starts `attune-server --data-dir data_dir --model-repository <build>/models ...extra`.
  explicit ServerProcess(std::filesystem::path data_dir, std::vector<std::string> extra = {});
  ~ServerProcess();

  void start();
  // Sends `sig` and waits for exit; returns the exit status (or -signal when killed).
  int stop(int sig = 15, std::chrono::seconds timeout = std::chrono::seconds(60));
  int kill9() { return stop(9); }
  bool running() const { return pid_ > 0; }
  int pid() const { return pid_; }
  // CPU seconds (utime + stime) the server process has used so far, from /proc/<pid>/stat.
  double cpu_seconds() const;

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  std::shared_ptr<grpc::Channel> channel() const;
  std::string log() const;  // the server's stderr so far
  const std::filesystem::path& data_dir() const { return data_dir_; }

 private:
  std::filesystem::path data_dir_;
  std::vector<std::string> extra_;
  std::filesystem::path log_file_, ready_file_;
  int pid_ = -1;
  int grpc_port_ = 0, metrics_port_ = 0;
};

std::filesystem::path binary_dir();
std::filesystem::path source_dir();
std::filesystem::path models_dir();  // <build>/models (exported by scripts/export_models.py)
std::string read_bytes(const std::filesystem::path& p);

// HTTP/1.0 GET on 127.0.0.1; returns the body (throws on connection failure or non-200).
std::string http_get(int port, const std::string& path);

// Runs a shell command, returning its exit code and filling `output` with stdout+stderr.
int run_command(const std::string& cmd, std::string* output = nullptr);

grpc::ClientContext* with_deadline(grpc::ClientContext* ctx, double seconds = 30);

}  // namespace attune::test

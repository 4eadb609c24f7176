// c10d process groups for data-parallel training: rank 0 hosts a TCPStore, every rank announces
// itself there, and once all have a Gloo group is formed over the store. Every wait is bounded:
// joining by `join_timeout`, each collective by `timeout` (Gloo's context timeout), so a lost
// rank fails the job with an error instead of hanging it. A rank that dies closes its sockets and
// the others' pending collectives fail at once; a rank that stops responding is noticed after
// `timeout`.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace attune::dist {

// A collective or the rendezvous failed (peer gone, timeout). what() is one line.
class CollectiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Joining stopped because `GroupOptions::abort` said so (cancel, shutdown).
class JoinAborted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Rank 0's TCPStore server. Port 0 binds a free port; port() tells which.
class StoreServer {
 public:
  StoreServer(const std::string& host, int port, std::chrono::milliseconds timeout);
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct GroupOptions {
  std::string store_host = "127.0.0.1";
  int store_port = 0;
  std::string prefix;  // namespaces the keys of one attempt of one job
  int rank = 0;
  int world_size = 1;
  // Address this rank's Gloo device binds to and advertises; "" = this host's name (as
  // `hostname` resolves; Gloo falls back to loopback when it does not resolve).
  std::string device_host;
  std::chrono::milliseconds join_timeout{std::chrono::seconds(600)};
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  int threads = 2;  // Gloo worker threads: two buckets can be in flight at once
  // Polled while waiting for the other ranks; true stops the wait with JoinAborted.
  std::function<bool()> abort;
  // Rank 0: called when the number of announced ranks changes.
  std::function<void(int joined)> on_joined;
};

class Group {
 public:
  // Connects to the store (retrying until join_timeout), announces this rank, waits until every
  // rank has, then forms the Gloo group. Throws CollectiveError naming the missing ranks on
  // timeout, JoinAborted when `abort` fired.
  static std::unique_ptr<Group> join(const GroupOptions& options);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // Sums each tensor (contiguous, CPU) in place across ranks: one collective per tensor, all in
  // flight together, then waits for all. Throws CollectiveError.
  void allreduce_sum(std::vector<torch::Tensor>& tensors, const char* what);
  void allreduce_sum(torch::Tensor tensor, const char* what);
  // Root's values everywhere.
  void broadcast(torch::Tensor tensor, int root, const char* what);
  // Every rank's value, in rank order.
  std::vector<int64_t> allgather(int64_t value, const char* what);

 private:
  struct Impl;
  Group(std::unique_ptr<Impl> impl, int rank, int size, std::chrono::milliseconds timeout);
  std::unique_ptr<Impl> impl_;
  int rank_, size_;
  std::chrono::milliseconds timeout_;
};

// 64-bit FNV-1a of the tensors' bytes (contiguous copies), in order: equal on every rank iff the
// replicas hold bit-identical parameters.
int64_t fingerprint(const std::vector<torch::Tensor>& tensors);

}  // namespace attune::dist

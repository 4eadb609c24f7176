// The worker threads that run background fits for every stream. Each worker runs LibTorch with a
// single intra-op thread, so one fit never fans out over every core and a fit's arithmetic does
// not depend on the server's --threads (the spec's one-thread-per-model rule, §4).
// The queue is bounded by construction: a stream has at most one fit in flight (the library's
// rule), so it never holds more jobs than there are streams.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace attune::streams {

class FitPool {
 public:
  explicit FitPool(int workers);
  ~FitPool();
  FitPool(const FitPool&) = delete;
  FitPool& operator=(const FitPool&) = delete;

  // Returns false (and drops the job) after shutdown().
  bool submit(std::function<void()> job);
  // Runs `job` on a worker and waits for it (replay runs held fits this way so that they see
  // the same threading as live fits).
  void run_and_wait(std::function<void()> job);
  // Stops taking jobs, drops the queued ones and waits for the running ones. Dropping is safe:
  // a stream's snapshot keeps the request of its unfinished fit, which is refitted on restore.
  void shutdown();

  int workers() const { return static_cast<int>(threads_.size()); }
  size_t queued() const;

 private:
  void work();

  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace attune::streams

// A stream's executor for background fits (NowcasterOptions::executor). Live, it hands fits to
// the shared FitPool. While the stream is being replayed it holds them back instead, so that
// replay can run each one exactly when the original run swapped it in (hosted_stream.h).
#pragma once

#include <deque>
#include <functional>
#include <mutex>

namespace attune::streams {

class FitPool;

class FitGate {
 public:
  explicit FitGate(FitPool& pool) : pool_(pool) {}

  void submit(std::function<void()> job);
  // Runs the oldest held fit on the pool and waits for it; false if none is held.
  bool run_held();
  // Ends replay: held fits go to the pool, later ones go there directly.
  void release();

 private:
  FitPool& pool_;
  std::mutex m_;
  bool holding_ = true;
  std::deque<std::function<void()>> held_;
};

}  // namespace attune::streams

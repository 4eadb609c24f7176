// The fit pool: one LibTorch intra-op thread per worker without lowering anyone else's, and a
// shutdown that drops queued fits but waits for running ones.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <thread>

#include "stream_test_util.h"

namespace attune::streams::testing {
namespace {

TEST(FitPool, WorkersRunSingleThreadedAndLeaveTheProcessDefaultAlone) {
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  FitPool pool(1);
  int in_worker = 0;
  pool.run_and_wait([&] {
    (void)torch::ones({1 << 20}).sum();  // a parallel op: LibTorch initialises the thread here
    in_worker = at::get_num_threads();
  });
  EXPECT_EQ(in_worker, 1);
  int elsewhere = 0;
  std::thread([&] {
    (void)torch::ones({1 << 20}).sum();
    elsewhere = at::get_num_threads();
  }).join();
  EXPECT_EQ(elsewhere, 2);
  at::set_num_threads(before);
}

TEST(FitPool, ShutdownDropsQueuedJobsAndWaitsForTheRunningOne) {
  FitPool pool(1);
  Blocker running;
  std::atomic<int> finished{0}, dropped_ran{0};
  std::atomic<bool> started{false};
  pool.submit([&] {
    started = true;
    running.wait();
    ++finished;
  });
  pool.submit([&] { ++dropped_ran; });
  while (!started) std::this_thread::yield();
  std::thread stopper([&] { pool.shutdown(); });
  while (pool.queued() != 0) std::this_thread::yield();  // shutdown has dropped the second job
  running.open();
  stopper.join();
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(dropped_ran, 0);
  EXPECT_FALSE(pool.submit([] {}));
  int inline_ran = 0;
  pool.run_and_wait([&] { ++inline_ran; });  // after shutdown: runs on the caller
  EXPECT_EQ(inline_ran, 1);
}

}  // namespace
}  // namespace attune::streams::testing

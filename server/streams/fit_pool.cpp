#include "streams/fit_pool.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <future>

#include "core/log.h"

namespace attune::streams {
namespace {

// Sets this thread's OpenMP thread count, which is what LibTorch's OpenMP backend reads for
// intra-op parallelism. at::set_num_threads(1) would instead change the process-wide default
// that every other thread (inference, training jobs) picks up on its first parallel op. Looked
// up at run time in the OpenMP runtime LibTorch already loaded, so no OpenMP flags are needed.
void single_intra_op_thread() {
  // First let LibTorch apply the process default to this thread (it does so once per thread, at
  // its first parallel op), then lower this thread's own setting.
  at::internal::lazy_init_num_threads();
  using SetThreads = void (*)(int);
  static const auto set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set) set(1);
}

}  // namespace

FitPool::FitPool(int workers) {
  for (int i = 0; i < std::max(1, workers); ++i) threads_.emplace_back([this] { work(); });
}

FitPool::~FitPool() { shutdown(); }

void FitPool::work() {
  single_intra_op_thread();
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(m_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      LOG_ERROR("background fit: " << e.what());
    }
  }
}

bool FitPool::submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(m_);
    if (stopping_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void FitPool::run_and_wait(std::function<void()> job) {
  std::promise<void> done;
  auto finished = done.get_future();
  const bool queued = submit([&] {
    try {
      job();
    } catch (const std::exception& e) {
      LOG_ERROR("background fit: " << e.what());
    }
    done.set_value();
  });
  if (!queued) job();
  else finished.wait();
}

void FitPool::shutdown() {
  {
    std::lock_guard<std::mutex> lock(m_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

size_t FitPool::queued() const {
  std::lock_guard<std::mutex> lock(m_);
  return queue_.size();
}

}  // namespace attune::streams

#include "streams/fit_gate.h"

#include "streams/fit_pool.h"

namespace attune::streams {

void FitGate::submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(m_);
    if (holding_) {
      held_.push_back(std::move(job));
      return;
    }
  }
  pool_.submit(std::move(job));
}

bool FitGate::run_held() {
  std::function<void()> job;
  {
    std::lock_guard<std::mutex> lock(m_);
    if (held_.empty()) return false;
    job = std::move(held_.front());
    held_.pop_front();
  }
  pool_.run_and_wait(std::move(job));
  return true;
}

void FitGate::release() {
  std::deque<std::function<void()>> held;
  {
    std::lock_guard<std::mutex> lock(m_);
    holding_ = false;
    held.swap(held_);
  }
  for (auto& job : held) pool_.submit(std::move(job));
}

}  // namespace attune::streams

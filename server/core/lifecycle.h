// Process-wide serving state shared by the services (drain on SIGTERM).
#pragma once
#include <atomic>

namespace attune {

struct Lifecycle {
  std::atomic<bool> ready{false};     // restored state, listening
  std::atomic<bool> draining{false};  // SIGTERM received: finish in-flight work, accept no more
};

}  // namespace attune

// Small helpers of the TTA evaluation's report: timing and number formatting.
#pragma once
#include <chrono>
#include <iomanip>
#include <sstream>
#include <string>

namespace attune::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

inline std::string pct(double x, int digits = 1) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << 100.0 * x;
  return s.str();
}

inline std::string fixed(double x, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << x;
  return s.str();
}

}  // namespace attune::bench

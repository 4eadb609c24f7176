// One-line, timestamped log records on stderr: "2026-11-27T10:00:00.123Z info  message".
#pragma once
#include <sstream>
#include <string>

namespace attune::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_level(Level level);
// Accepts debug|info|warn|error; throws std::invalid_argument otherwise.
Level parse_level(const std::string& s);
bool enabled(Level level);
void write(Level level, const std::string& message);

}  // namespace attune::log

#define ATTUNE_LOG(level, expr)                                  \
  do {                                                           \
    if (::attune::log::enabled(::attune::log::Level::level)) {   \
      std::ostringstream attune_log_os_;                         \
      attune_log_os_ << expr;                                    \
      ::attune::log::write(::attune::log::Level::level, attune_log_os_.str()); \
    }                                                            \
  } while (0)
#define LOG_DEBUG(expr) ATTUNE_LOG(kDebug, expr)
#define LOG_INFO(expr) ATTUNE_LOG(kInfo, expr)
#define LOG_WARN(expr) ATTUNE_LOG(kWarn, expr)
#define LOG_ERROR(expr) ATTUNE_LOG(kError, expr)

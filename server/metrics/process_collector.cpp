#include "metrics/process_collector.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace attune::metrics {
namespace {

prometheus::MetricFamily gauge(const std::string& name, const std::string& help, double v,
                               prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = v;
  else
    m.gauge.value = v;
  f.metric.push_back(m);
  return f;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  // The command name (field 2) may contain spaces; fields restart after the last ')'.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::vector<std::string> f;
  for (std::string tok; rest >> tok;) f.push_back(tok);
  // f[0] is field 3 (state); field N is f[N - 3].
  if (f.size() < 22) return {};
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double cpu = (std::stod(f[14 - 3]) + std::stod(f[15 - 3])) / ticks;
  const double start = boot_time_seconds() + std::stod(f[22 - 3]) / ticks;
  const double vsize = std::stod(f[23 - 3]);
  const double rss = std::stod(f[24 - 3]) * page;
  double fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  return {
      gauge("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", cpu,
            prometheus::MetricType::Counter),
      gauge("process_resident_memory_bytes", "Resident memory size in bytes.", rss),
      gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", vsize),
      gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            start),
      gauge("process_open_fds", "Number of open file descriptors.", fds),
  };
}

}  // namespace attune::metrics

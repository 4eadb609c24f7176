#include "stats.h"

#include <algorithm>
#include <cmath>

namespace attune::load {

void OpStats::merge(const OpStats& o) {
  latencies_ms.insert(latencies_ms.end(), o.latencies_ms.begin(), o.latencies_ms.end());
  for (const auto& [code, n] : o.errors) errors[code] += n;
}

namespace {
// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}
}  // namespace

Summary summarize(std::vector<double> v, const std::map<int, int64_t>& errors) {
  std::sort(v.begin(), v.end());
  Summary s;
  s.ok = static_cast<int64_t>(v.size());
  for (const auto& [_, n] : errors) s.errors += n;
  s.p50 = percentile(v, 50);
  s.p90 = percentile(v, 90);
  s.p99 = percentile(v, 99);
  s.max = v.empty() ? 0 : v.back();
  return s;
}

std::string code_name(int code) {
  static const char* names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
                                "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? names[code] : "CODE_" + std::to_string(code);
}

}  // namespace attune::load

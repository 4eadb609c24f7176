// Latency samples and status counts per operation, merged across client threads.
#pragma once
#include <grpcpp/support/status.h>

#include <map>
#include <string>
#include <vector>

namespace attune::load {

struct OpStats {
  std::vector<double> latencies_ms;      // successful calls
  std::map<int, int64_t> errors;         // grpc::StatusCode -> count
  void merge(const OpStats& o);
};

struct Summary {
  int64_t ok = 0, errors = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};
Summary summarize(std::vector<double> latencies_ms, const std::map<int, int64_t>& errors);

std::string code_name(int code);

}  // namespace attune::load

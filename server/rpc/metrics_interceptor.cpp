#include "rpc/metrics_interceptor.h"

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "metrics/catalog.h"
#include "metrics/registry.h"

namespace attune::rpc {
namespace {

using Hook = grpc::experimental::InterceptionHookPoints;
using Clock = std::chrono::steady_clock;

const char* type_label(grpc::experimental::ServerRpcInfo::Type t) {
  using T = grpc::experimental::ServerRpcInfo::Type;
  switch (t) {
    case T::UNARY: return "unary";
    case T::CLIENT_STREAMING: return "client_stream";
    case T::SERVER_STREAMING: return "server_stream";
    case T::BIDI_STREAMING: return "bidi_stream";
  }
  return "unary";
}

// Per-method metric children, created once: the hot path does no label lookups.
struct MethodMetrics {
  std::map<std::string, std::string> labels;
  prometheus::Counter* started;
  prometheus::Histogram* seconds;
  std::mutex mu;
  std::unordered_map<int, prometheus::Counter*> handled;

  prometheus::Counter& handled_for(int code) {
    std::lock_guard<std::mutex> lock(mu);
    auto& c = handled[code];
    if (!c) {
      auto l = labels;
      l["grpc_code"] = grpc_code_label(code);
      c = &metrics::catalog().grpc_handled.Add(l);
    }
    return *c;
  }
};

MethodMetrics& method_metrics(const char* full_method, const char* type) {
  // gRPC hands every call of a method the same method-name pointer, so the cache is keyed by
  // pointer: no string building on the hot path.
  static std::mutex mu;
  static std::unordered_map<const void*, std::unique_ptr<MethodMetrics>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[full_method];
  if (!slot) {
    std::string m = full_method ? full_method : "/unknown/unknown";
    const auto slash = m.rfind('/');
    slot = std::make_unique<MethodMetrics>();
    slot->labels = {{"grpc_service", m.substr(1, slash - 1)},
                    {"grpc_method", m.substr(slash + 1)},
                    {"grpc_type", type}};
    slot->started = &metrics::catalog().grpc_started.Add(slot->labels);
    slot->seconds = &metrics::catalog().grpc_handling_seconds.Add(slot->labels,
                                                                  metrics::buckets::rpc_seconds());
  }
  return *slot;
}

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit MetricsInterceptor(grpc::experimental::ServerRpcInfo* info)
      : m_(method_metrics(info->method(), type_label(info->type()))), start_(Clock::now()) {
    m_.started->Increment();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      m_.handled_for(methods->GetSendStatus().error_code()).Increment();
      m_.seconds->Observe(std::chrono::duration<double>(Clock::now() - start_).count());
    }
    methods->Proceed();
  }

 private:
  MethodMetrics& m_;
  Clock::time_point start_;
};

}  // namespace

const char* grpc_code_label(int code) {
  static const char* names[] = {"OK",           "Canceled",         "Unknown",
                                "InvalidArgument", "DeadlineExceeded", "NotFound",
                                "AlreadyExists",   "PermissionDenied", "ResourceExhausted",
                                "FailedPrecondition", "Aborted",       "OutOfRange",
                                "Unimplemented",   "Internal",         "Unavailable",
                                "DataLoss",        "Unauthenticated"};
  return code >= 0 && code <= 16 ? names[code] : "Unknown";
}

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new MetricsInterceptor(info);
}

}  // namespace attune::rpc

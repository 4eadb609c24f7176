// Emits the standard gRPC server families (grpc_server_started_total,
// grpc_server_handled_total{grpc_code}, grpc_server_handling_seconds) for every RPC, with the
// label values of grpc-ecosystem/go-grpc-prometheus so stock dashboards and alerts work.
#pragma once
#include <grpcpp/support/server_interceptor.h>

namespace attune::rpc {

class MetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

// "OK", "InvalidArgument", ... as go-grpc-prometheus writes them.
const char* grpc_code_label(int code);

}  // namespace attune::rpc

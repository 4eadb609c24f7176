// The RPC boundary: every handler runs inside guard(), which turns any exception into a precise
// gRPC status. Nothing thrown by LibTorch (c10::Error) or the domain escapes as a crash.
#pragma once
#include <grpcpp/support/status.h>

#include <exception>
#include <string>

#include "core/error.h"
#include "rpc/auth.h"

namespace attune::rpc {

grpc::StatusCode to_grpc_code(attune::Code code);
grpc::Status to_status(std::exception_ptr e);

template <class F>
grpc::Status guard(F&& f) {
  try {
    return f();
  } catch (...) {
    return to_status(std::current_exception());
  }
}

// The same, after checking that the caller's token has `role` (when tokens are configured).
template <class F>
grpc::Status guard(const grpc::ServerContext* ctx, Role role, F&& f) {
  return guard([&] {
    TokenAuthority::instance().authorize(*ctx, role);
    return f();
  });
}

}  // namespace attune::rpc

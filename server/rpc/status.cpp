#include "rpc/status.h"

#include <c10/util/Exception.h>

#include <new>
#include <stdexcept>

#include "core/log.h"

namespace attune::rpc {

grpc::StatusCode to_grpc_code(attune::Code code) {
  switch (code) {
    case Code::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case Code::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case Code::kAlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case Code::kFailedPrecondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case Code::kResourceExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case Code::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case Code::kPermissionDenied: return grpc::StatusCode::PERMISSION_DENIED;
    case Code::kUnauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    case Code::kCancelled: return grpc::StatusCode::CANCELLED;
    case Code::kDeadlineExceeded: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case Code::kAborted: return grpc::StatusCode::ABORTED;
    case Code::kInternal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

grpc::Status to_status(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const attune::Error& err) {
    if (err.code() == Code::kInternal) LOG_ERROR("internal error: " << err.what());
    return {to_grpc_code(err.code()), err.what()};
  } catch (const std::invalid_argument& err) {
    return {grpc::StatusCode::INVALID_ARGUMENT, err.what()};
  } catch (const c10::Error& err) {
    // Inputs are validated before LibTorch sees them, so what remains is ours to investigate.
    LOG_ERROR("LibTorch error: " << err.what());
    return {grpc::StatusCode::INTERNAL,
            std::string("LibTorch error: ") + err.what_without_backtrace()};
  } catch (const std::bad_alloc&) {
    LOG_ERROR("out of memory while handling a request");
    return {grpc::StatusCode::RESOURCE_EXHAUSTED,
            "out of memory; send smaller batches or give the server more memory"};
  } catch (const std::exception& err) {
    LOG_ERROR("unexpected error: " << err.what());
    return {grpc::StatusCode::INTERNAL, err.what()};
  } catch (...) {
    LOG_ERROR("unexpected non-standard exception");
    return {grpc::StatusCode::INTERNAL, "unexpected error"};
  }
}

}  // namespace attune::rpc

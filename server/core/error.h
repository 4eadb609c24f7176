// Domain errors. Core and the algorithm libraries throw these (or std::invalid_argument);
// server/rpc maps them to gRPC status codes at the RPC boundary.
#pragma once
#include <stdexcept>
#include <string>

namespace attune {

// Mirrors the gRPC codes attune uses, without depending on gRPC.
enum class Code {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kResourceExhausted,
  kUnavailable,
  kPermissionDenied,
  kUnauthenticated,
  kCancelled,
  kDeadlineExceeded,
  kAborted,
  kInternal,
};

class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Code code() const { return code_; }

 private:
  Code code_;
};

inline Error InvalidArgument(const std::string& m) { return {Code::kInvalidArgument, m}; }
inline Error NotFound(const std::string& m) { return {Code::kNotFound, m}; }
inline Error AlreadyExists(const std::string& m) { return {Code::kAlreadyExists, m}; }
inline Error FailedPrecondition(const std::string& m) { return {Code::kFailedPrecondition, m}; }
inline Error ResourceExhausted(const std::string& m) { return {Code::kResourceExhausted, m}; }
inline Error Unavailable(const std::string& m) { return {Code::kUnavailable, m}; }
inline Error PermissionDenied(const std::string& m) { return {Code::kPermissionDenied, m}; }
inline Error Internal(const std::string& m) { return {Code::kInternal, m}; }

}  // namespace attune

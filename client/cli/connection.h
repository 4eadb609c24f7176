// Channel and per-call settings shared by every command.
#pragma once
#include <grpcpp/grpcpp.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "args.h"

namespace attune::cli {

struct Global {
  std::string server = "localhost:50051";  // --server or $ATTUNE_SERVER
  bool json = false;                       // --json: machine-readable output
  std::string token;                       // --token or $ATTUNE_TOKEN (bearer)
  std::string tls_ca, tls_cert, tls_key;   // --tls-ca (enables TLS), --tls-cert/--tls-key (mTLS)
  double timeout_seconds = 0;              // --timeout; 0 = none for streams, 60 s for unary
};

// Options every command accepts, to merge into its own sets.
const std::set<std::string>& global_flags();
const std::set<std::string>& global_options();
Global global_from(const Args& args);

std::shared_ptr<grpc::Channel> channel(const Global& g);
// Sets the bearer token and the deadline (unary calls default to 60 s).
void prepare(grpc::ClientContext& ctx, const Global& g, bool streaming = false);

struct RpcError : std::runtime_error {
  RpcError(const grpc::Status& s);
  grpc::StatusCode code;
};
void check(const grpc::Status& s);  // throws RpcError unless OK
std::string code_name(grpc::StatusCode code);

}  // namespace attune::cli

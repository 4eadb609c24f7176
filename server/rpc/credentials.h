// Server credentials from the configuration: plaintext by default, TLS with --tls-cert/--tls-key,
// mutual TLS (client certificates required and verified) when --tls-client-ca is set too.
#pragma once
#include <grpcpp/security/server_credentials.h>

#include <memory>

#include "core/config.h"

namespace attune::rpc {

std::shared_ptr<grpc::ServerCredentials> server_credentials(const ServerConfig& cfg);

}  // namespace attune::rpc

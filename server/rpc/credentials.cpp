#include "rpc/credentials.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace attune::rpc {
namespace {

std::string read_pem(const std::string& path, const std::string& flag) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(flag + ": cannot read " + path);
  std::ostringstream o;
  o << in.rdbuf();
  if (o.str().find("-----BEGIN") == std::string::npos)
    throw std::invalid_argument(flag + ": " + path + " is not PEM");
  return o.str();
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> server_credentials(const ServerConfig& cfg) {
  if (cfg.tls_cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions opts(
      cfg.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!cfg.tls_client_ca.empty()) opts.pem_root_certs = read_pem(cfg.tls_client_ca, "--tls-client-ca");
  opts.pem_key_cert_pairs.push_back(
      {read_pem(cfg.tls_key, "--tls-key"), read_pem(cfg.tls_cert, "--tls-cert")});
  return grpc::SslServerCredentials(opts);
}

}  // namespace attune::rpc

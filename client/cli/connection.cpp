#include "connection.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace attune::cli {
namespace {

std::string read_pem(const std::string& path, const std::string& flag) {
  std::ifstream in(path);
  if (!in) throw UsageError(flag + ": cannot read " + path);
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

}  // namespace

const std::set<std::string>& global_flags() {
  static const std::set<std::string> f{"json"};
  return f;
}

const std::set<std::string>& global_options() {
  static const std::set<std::string> o{"server", "token", "tls-ca", "tls-cert", "tls-key", "timeout"};
  return o;
}

Global global_from(const Args& args) {
  Global g;
  if (const char* s = std::getenv("ATTUNE_SERVER"); s && *s) g.server = s;
  if (const char* t = std::getenv("ATTUNE_TOKEN"); t && *t) g.token = t;
  g.server = args.get_or("server", g.server);
  g.token = args.get_or("token", g.token);
  g.json = args.has("json");
  g.tls_ca = args.get_or("tls-ca", "");
  g.tls_cert = args.get_or("tls-cert", "");
  g.tls_key = args.get_or("tls-key", "");
  g.timeout_seconds = args.get_double("timeout", 0);
  return g;
}

std::shared_ptr<grpc::Channel> channel(const Global& g) {
  grpc::ChannelArguments ch;
  ch.SetMaxReceiveMessageSize(1 << 30);
  ch.SetMaxSendMessageSize(1 << 30);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (g.tls_ca.empty()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = read_pem(g.tls_ca, "--tls-ca");
    if (!g.tls_cert.empty()) {
      o.pem_cert_chain = read_pem(g.tls_cert, "--tls-cert");
      o.pem_private_key = read_pem(g.tls_key, "--tls-key");
    }
    creds = grpc::SslCredentials(o);
  }
  return grpc::CreateCustomChannel(g.server, creds, ch);
}

void prepare(grpc::ClientContext& ctx, const Global& g, bool streaming) {
  if (!g.token.empty()) ctx.AddMetadata("authorization", "Bearer " + g.token);
  const double t = g.timeout_seconds > 0 ? g.timeout_seconds : (streaming ? 0 : 60);
  if (t > 0)
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(static_cast<int64_t>(t * 1000)));
}

std::string code_name(grpc::StatusCode code) {
  static const char* names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
                                "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                                "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                                "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
                                "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  const int c = static_cast<int>(code);
  return c >= 0 && c <= 16 ? names[c] : "UNKNOWN";
}

RpcError::RpcError(const grpc::Status& s)
    : std::runtime_error(code_name(s.error_code()) + ": " + s.error_message()), code(s.error_code()) {}

void check(const grpc::Status& s) {
  if (!s.ok()) throw RpcError(s);
}

}  // namespace attune::cli

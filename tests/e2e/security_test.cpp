// Security: TLS and mutual TLS with certificates made by openssl for the test, the plaintext
// health-only port for probes, bearer tokens with roles (UNAUTHENTICATED vs PERMISSION_DENIED),
// and token reload on SIGHUP.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attune/v1/model_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kserve_helpers.h"
#include "server_process.h"

namespace attune::test {
namespace {

namespace fs = std::filesystem;

// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, all from the CA.
struct Pki {
  explicit Pki(const fs::path& dir) : dir(dir) {
    const std::string d = dir.string();
    const std::string script =
        "set -e; cd " + d + ";"
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=attune-test-ca -keyout ca.key -out ca.pem;"
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext;"
        "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr;"
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem;"
        "openssl req -newkey rsa:2048 -nodes -subj /CN=attune-client -keyout client.key -out client.csr;"
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem";
    std::string out;
    if (run_command("bash -c \"" + script + "\"", &out) != 0) throw std::runtime_error("openssl failed: " + out);
  }
  std::string path(const std::string& f) const { return (dir / f).string(); }
  fs::path dir;
};

std::shared_ptr<grpc::Channel> tls_channel(const ServerProcess& s, const Pki& pki, bool client_cert) {
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = read_bytes(pki.path("ca.pem"));
  if (client_cert) {
    o.pem_cert_chain = read_bytes(pki.path("client.pem"));
    o.pem_private_key = read_bytes(pki.path("client.key"));
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(s.grpc_port()), grpc::SslCredentials(o), args);
}

grpc::Status list_models(const std::shared_ptr<grpc::Channel>& ch, const std::string& token = "") {
  auto stub = v1::ModelService::NewStub(ch);
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  v1::ListModelsResponse r;
  return stub->ListModels(with_deadline(&ctx, 10), {}, &r);
}

int free_port() {
  // Bind-and-release; the server binds it right after (good enough on loopback in tests).
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(Security, TlsServesTlsClientsAndRefusesPlaintext) {
  TempDir dir;
  Pki pki(dir.path());
  ServerProcess server(dir.path() / "data", {"--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key")});
  server.start();
  EXPECT_TRUE(list_models(tls_channel(server, pki, false)).ok());
  EXPECT_FALSE(list_models(server.channel()).ok());  // plaintext client against a TLS port
}

TEST(Security, MutualTlsRequiresAClientCertificate) {
  TempDir dir;
  Pki pki(dir.path());
  ServerProcess server(dir.path() / "data", {"--tls-cert", pki.path("server.pem"), "--tls-key",
                                             pki.path("server.key"), "--tls-client-ca", pki.path("ca.pem")});
  server.start();
  EXPECT_TRUE(list_models(tls_channel(server, pki, true)).ok());
  EXPECT_FALSE(list_models(tls_channel(server, pki, false)).ok());
}

TEST(Security, PlaintextHealthPortForProbesWhenTlsIsOn) {
  TempDir dir;
  Pki pki(dir.path());
  const int health_port = free_port();
  ServerProcess server(dir.path() / "data", {"--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"),
                                             "--health-listen", "127.0.0.1:" + std::to_string(health_port)});
  server.start();
  auto plain = grpc::CreateChannel("127.0.0.1:" + std::to_string(health_port), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(plain);
  for (const std::string service : {"", "liveness", "attune.v1.ModelService"}) {
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse r;
    grpc::ClientContext ctx;
    ASSERT_TRUE(health->Check(with_deadline(&ctx, 10), req, &r).ok()) << service;
    EXPECT_EQ(r.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
  // The health port serves nothing else.
  EXPECT_EQ(list_models(plain).error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokens_ = dir_.path() / "tokens";
    write_tokens(true);
    server_ = std::make_unique<ServerProcess>(dir_.path() / "data",
                                              std::vector<std::string>{"--tokens-file", tokens_.string(), "--load-model", "mlp"});
    server_->start();
  }
  static std::string sha(const std::string& token) {
    std::string out;
    run_command("printf %s '" + token + "' | sha256sum", &out);
    return out.substr(0, 64);
  }
  void write_tokens(bool with_reader) {
    std::ofstream o(tokens_);
    o << "# name  sha256  roles\n";
    o << "ops   " << sha("admin-secret") << " admin\n";
    o << "app   " << sha("infer-secret") << " infer   # the inference frontend\n";
    o << "tuner " << sha("train-secret") << " train,adapt\n";
    if (with_reader) o << "reader " << sha("reader-secret") << " infer\n";
  }
  TempDir dir_;
  fs::path tokens_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(TokenTest, MissingOrInvalidTokenIsUnauthenticated) {
  auto s = list_models(server_->channel());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(s.error_message().find("Bearer"), std::string::npos) << s.error_message();
  EXPECT_EQ(list_models(server_->channel(), "wrong").error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(TokenTest, RolesGrantExactlyTheirCalls) {
  EXPECT_TRUE(list_models(server_->channel(), "infer-secret").ok());
  EXPECT_TRUE(list_models(server_->channel(), "admin-secret").ok());
  auto infer = inference::GRPCInferenceService::NewStub(server_->channel());
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer infer-secret");
    inference::ModelInferResponse r;
    EXPECT_TRUE(infer->ModelInfer(with_deadline(&ctx), infer_request("mlp", "input", torch::ones({1, 8})), &r).ok());
  }
  auto models = v1::ModelService::NewStub(server_->channel());
  for (const std::string token : {"infer-secret", "train-secret"}) {
    v1::UnloadModelRequest req;
    req.set_name("mlp");
    v1::UnloadModelResponse r;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    const auto s = models->UnloadModel(with_deadline(&ctx), req, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << token;
    EXPECT_NE(s.error_message().find("lacks the 'admin' role"), std::string::npos) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer train-secret");
    inference::ModelInferResponse r;
    EXPECT_EQ(infer->ModelInfer(with_deadline(&ctx), infer_request("mlp", "input", torch::ones({1, 8})), &r).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // Health stays open for probes.
  auto health = grpc::health::v1::Health::NewStub(server_->channel());
  grpc::health::v1::HealthCheckResponse hr;
  grpc::ClientContext hctx;
  EXPECT_TRUE(health->Check(with_deadline(&hctx), {}, &hr).ok());
}

TEST_F(TokenTest, SighupReloadsTheTokenFile) {
  EXPECT_TRUE(list_models(server_->channel(), "reader-secret").ok());
  write_tokens(false);
  ::kill(server_->pid(), SIGHUP);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  grpc::Status s;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s = list_models(server_->channel(), "reader-secret");
  } while (s.ok() && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(list_models(server_->channel(), "infer-secret").ok());
}

}  // namespace
}  // namespace attune::test

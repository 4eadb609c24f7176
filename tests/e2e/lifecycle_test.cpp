// Process lifecycle: restart keeps every model, an interrupted write is discarded, health Check
// and Watch follow the serving state through SIGTERM, and the process exits 0 after draining.
#include <gtest/gtest.h>

#include <fstream>

#include "attune/v1/model_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kserve_helpers.h"
#include "server_process.h"

namespace attune::test {
namespace {

using HealthResp = grpc::health::v1::HealthCheckResponse;

torch::Tensor infer_once(ServerProcess& server, const std::string& model, const torch::Tensor& x,
                         std::string* version = nullptr) {
  auto stub = inference::GRPCInferenceService::NewStub(server.channel());
  inference::ModelInferResponse r;
  grpc::ClientContext ctx;
  auto s = stub->ModelInfer(with_deadline(&ctx), infer_request(model, "input", x), &r);
  EXPECT_TRUE(s.ok()) << s.error_message();
  if (version) *version = r.model_version();
  return s.ok() ? output_tensor(r) : torch::Tensor();
}

TEST(Lifecycle, RestartKeepsEveryModelAndVersion) {
  TempDir dir;
  const auto data = dir.path() / "data";
  ServerProcess server(data);
  server.start();
  auto stub = v1::ModelService::NewStub(server.channel());
  for (const auto& [name, path] : std::vector<std::pair<std::string, std::string>>{
           {"a", "mlp"}, {"a", "mlp"}, {"b", "cnn_bn"}}) {
    v1::LoadModelRequest req;
    req.set_name(name);
    req.set_repository_path(path);
    v1::Model m;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->LoadModel(with_deadline(&ctx), req, &m).ok());
  }
  auto x = torch::randn({3, 8});
  auto before = infer_once(server, "a", x);
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();

  // Simulate a crash in the middle of writing a version: a hidden staging folder is left behind.
  std::filesystem::create_directories(data / "models/a/.incoming-9-123");
  std::ofstream(data / "models/a/.incoming-9-123/model.pt") << "half a file";

  server.start();
  stub = v1::ModelService::NewStub(server.channel());
  v1::ListModelsResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub->ListModels(with_deadline(&ctx), {}, &list).ok());
  ASSERT_EQ(list.models_size(), 2);
  EXPECT_EQ(list.models(0).name(), "a");
  ASSERT_EQ(list.models(0).versions_size(), 2);
  EXPECT_EQ(list.models(0).serving_version(), 2);
  EXPECT_EQ(list.models(0).versions(0).origin(), "repository:mlp");
  EXPECT_EQ(list.models(1).versions(0).batchnorm_layers(), 3);
  EXPECT_FALSE(std::filesystem::exists(data / "models/a/.incoming-9-123"));
  std::string version;
  EXPECT_TRUE(torch::equal(infer_once(server, "a", x, &version), before));
  EXPECT_EQ(version, "2");

  // The next version after a restart continues the sequence.
  v1::LoadModelRequest req;
  req.set_name("a");
  req.set_repository_path("mlp");
  v1::Model m;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub->LoadModel(with_deadline(&ctx2), req, &m).ok());
  EXPECT_EQ(m.serving_version(), 3);
}

TEST(Lifecycle, HealthCheckPerServiceAndUnknownService) {
  TempDir dir;
  ServerProcess server(dir.path() / "data");
  server.start();
  auto health = grpc::health::v1::Health::NewStub(server.channel());
  for (const std::string name :
       {"", "liveness", "attune.v1.ModelService", "inference.GRPCInferenceService"}) {
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(name);
    HealthResp r;
    grpc::ClientContext ctx;
    ASSERT_TRUE(health->Check(with_deadline(&ctx), req, &r).ok()) << name;
    EXPECT_EQ(r.status(), HealthResp::SERVING) << name;
  }
  grpc::health::v1::HealthCheckRequest req;
  req.set_service("attune.v1.NoSuchService");
  HealthResp r;
  grpc::ClientContext ctx;
  EXPECT_EQ(health->Check(with_deadline(&ctx), req, &r).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(Lifecycle, WatchSeesNotServingOnSigtermThenProcessExitsZero) {
  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--shutdown-delay-seconds", "1.5"});
  server.start();
  auto health = grpc::health::v1::Health::NewStub(server.channel());
  grpc::health::v1::HealthCheckRequest req;
  grpc::ClientContext ctx;
  auto reader = health->Watch(with_deadline(&ctx, 60), req);
  HealthResp r;
  ASSERT_TRUE(reader->Read(&r));
  EXPECT_EQ(r.status(), HealthResp::SERVING);

  std::thread stopper([&] { EXPECT_EQ(server.stop(SIGTERM), 0) << server.log(); });
  std::vector<HealthResp::ServingStatus> seen;
  while (reader->Read(&r)) seen.push_back(r.status());
  stopper.join();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), HealthResp::NOT_SERVING);
}

TEST(Lifecycle, DrainingRejectsNewInferenceWithUnavailable) {
  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--load-model", "mlp", "--shutdown-delay-seconds", "3"});
  server.start();
  auto stub = inference::GRPCInferenceService::NewStub(server.channel());
  ::kill(server.pid(), SIGTERM);
  // During the shutdown delay the server still answers, but reports not ready and sheds work.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  inference::ServerReadyResponse ready;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub->ServerReady(with_deadline(&c1), {}, &ready).ok());
  EXPECT_FALSE(ready.ready());
  inference::ModelInferResponse r;
  grpc::ClientContext c2;
  auto s = stub->ModelInfer(with_deadline(&c2), infer_request("mlp", "input", torch::ones({1, 8})), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(server.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace attune::test

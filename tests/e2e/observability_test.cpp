// Observability: /metrics carries the standard gRPC families and attune's own with the right
// values, passes Debian's `promtool check metrics`, and server reflection lists every service.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "attune/v1/model_service.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "kserve_helpers.h"
#include "server_process.h"

namespace attune::test {
namespace {

double sample(const std::string& text, const std::string& series) {
  // `series` is the exact line prefix, e.g. metric{label="v",...}
  const auto pos = text.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + series.size() + 2));
}

class ObservabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_.path() / "data", std::vector<std::string>{"--load-model", "mlp"});
    server_->start();
  }
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ObservabilityTest, MetricsReflectTrafficAndPassPromtool) {
  auto infer = inference::GRPCInferenceService::NewStub(server_->channel());
  for (int i = 0; i < 3; ++i) {
    inference::ModelInferResponse r;
    grpc::ClientContext ctx;
    ASSERT_TRUE(infer->ModelInfer(with_deadline(&ctx), infer_request("mlp", "input", torch::ones({5, 8})), &r).ok());
  }
  {
    inference::ModelInferResponse r;
    grpc::ClientContext ctx;
    EXPECT_FALSE(infer->ModelInfer(with_deadline(&ctx), infer_request("nope", "input", torch::ones({1, 8})), &r).ok());
  }
  const std::string text = "\n" + http_get(server_->metrics_port(), "/metrics");
  EXPECT_EQ(sample(text, R"(grpc_server_handled_total{grpc_code="OK",grpc_method="ModelInfer",grpc_service="inference.GRPCInferenceService",grpc_type="unary"})"), 3);
  EXPECT_EQ(sample(text, R"(grpc_server_handled_total{grpc_code="NotFound",grpc_method="ModelInfer",grpc_service="inference.GRPCInferenceService",grpc_type="unary"})"), 1);
  EXPECT_EQ(sample(text, R"(grpc_server_started_total{grpc_method="ModelInfer",grpc_service="inference.GRPCInferenceService",grpc_type="unary"})"), 4);
  EXPECT_EQ(sample(text, R"(grpc_server_handling_seconds_count{grpc_method="ModelInfer",grpc_service="inference.GRPCInferenceService",grpc_type="unary"})"), 4);
  EXPECT_EQ(sample(text, R"(attune_inference_samples_total{model="mlp"})"), 15);
  EXPECT_EQ(sample(text, R"(attune_inference_seconds_count{model="mlp"})"), 3);
  EXPECT_EQ(sample(text, R"(attune_models{state="ready"})"), 1);
  EXPECT_EQ(sample(text, R"(attune_model_loads_total{result="ok"})"), 1);
  EXPECT_EQ(sample(text, "attune_model_load_seconds_count"), 1);
  EXPECT_GT(sample(text, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(sample(text, "process_cpu_seconds_total"), 0);
  EXPECT_NE(text.find("attune_build_info{git_sha="), std::string::npos);
  EXPECT_NE(text.find("libtorch=\"1.13"), std::string::npos);

  const auto file = dir_.path() / "scrape.txt";
  std::ofstream(file) << text.substr(1);
  std::string out;
  const int rc = run_command("promtool check metrics < " + file.string(), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << "promtool complained:\n" << out;
}

TEST_F(ObservabilityTest, ReflectionListsEveryService) {
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(server_->channel());
  grpc::ClientContext ctx;
  auto stream = stub->ServerReflectionInfo(with_deadline(&ctx));
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_list_services("*");
  ASSERT_TRUE(stream->Write(req));
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  std::set<std::string> names;
  for (const auto& s : resp.list_services_response().service()) names.insert(s.name());
  for (const std::string expected : {"attune.v1.ModelService", "inference.GRPCInferenceService",
                                     "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"})
    EXPECT_TRUE(names.count(expected)) << expected;

  // A client can fetch the descriptors too (what grpcurl describe does).
  for (const std::string symbol : {"attune.v1.ModelService", "grpc.health.v1.Health"}) {
    req.set_file_containing_symbol(symbol);
    ASSERT_TRUE(stream->Write(req));
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_GT(resp.file_descriptor_response().file_descriptor_proto_size(), 0) << symbol;
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

}  // namespace
}  // namespace attune::test

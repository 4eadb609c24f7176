// KServe v2 inference over gRPC: ModelInfer equals an in-process forward of the same
// TorchScript file (FP32, FP64, INT64 inputs; raw and typed contents), metadata, readiness, and
// concurrent requests on one model.
#include <gtest/gtest.h>
#include <torch/script.h>

#include "attune/v1/model_service.grpc.pb.h"
#include "kserve_helpers.h"
#include "server_process.h"

namespace attune::test {
namespace {

class InferenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess(dir_->path() / "data", {"--load-model", "mlp", "--load-model",
                                                        "mlp64", "--load-model", "bag",
                                                        "--load-model", "cnn_bn"});
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override { stub_ = inference::GRPCInferenceService::NewStub(server_->channel()); }

  torch::Tensor infer(const std::string& model, const std::string& input, const torch::Tensor& x,
                      bool raw, inference::ModelInferResponse* out = nullptr) {
    inference::ModelInferResponse r;
    grpc::ClientContext ctx;
    auto s = stub_->ModelInfer(with_deadline(&ctx), infer_request(model, input, x, raw), &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (out) *out = r;
    return s.ok() ? output_tensor(r) : torch::Tensor();
  }

  static torch::Tensor local_forward(const std::string& model, const torch::Tensor& x) {
    auto m = torch::jit::load((models_dir() / model / "1/model.pt").string());
    m.eval();
    torch::NoGradGuard g;
    return m.forward({x}).toTensor();
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};
TempDir* InferenceTest::dir_ = nullptr;
ServerProcess* InferenceTest::server_ = nullptr;

TEST_F(InferenceTest, Fp32CnnEqualsInProcessForwardAtBatch1And64) {
  torch::manual_seed(1);
  for (int64_t batch : {1, 64}) {
    auto x = torch::rand({batch, 1, 28, 28});
    auto expected = local_forward("cnn_bn", x);
    inference::ModelInferResponse r;
    auto got = infer("cnn_bn", "image", x, /*raw=*/true, &r);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_LE((got - expected).abs().max().item<float>(), 1e-6f);
    EXPECT_EQ(r.outputs(0).name(), "logits");
    EXPECT_EQ(r.outputs(0).datatype(), "FP32");
    EXPECT_EQ(r.model_version(), "1");
  }
}

TEST_F(InferenceTest, TypedContentsEqualRawContents) {
  auto x = torch::randn({5, 8});
  inference::ModelInferResponse typed;
  auto a = infer("mlp", "input", x, /*raw=*/false, &typed);
  auto b = infer("mlp", "input", x, /*raw=*/true);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_EQ(typed.raw_output_contents_size(), 0);  // typed in, typed out
  EXPECT_EQ(typed.outputs(0).contents().fp32_contents_size(), 5 * 4);
  EXPECT_TRUE(torch::allclose(a, local_forward("mlp", x), 0, 1e-6));
}

TEST_F(InferenceTest, Fp64AndInt64Inputs) {
  auto x64 = torch::randn({3, 8}, torch::kFloat64);
  auto y64 = infer("mlp64", "input", x64, true);
  EXPECT_EQ(y64.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(y64, local_forward("mlp64", x64)));
  EXPECT_TRUE(torch::equal(infer("mlp64", "input", x64, false), y64));

  auto ids = torch::randint(0, 50, {4, 6}, torch::kInt64);
  auto scores = infer("bag", "ids", ids, true);
  EXPECT_TRUE(torch::allclose(scores, local_forward("bag", ids), 0, 1e-6));
  EXPECT_TRUE(torch::equal(infer("bag", "ids", ids, false), scores));
}

TEST_F(InferenceTest, RequestedOutputSubsetAndId) {
  auto req = infer_request("mlp", "input", torch::randn({2, 8}));
  req.set_id("req-42");
  req.add_outputs()->set_name("output");
  inference::ModelInferResponse r;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ModelInfer(with_deadline(&ctx), req, &r).ok());
  EXPECT_EQ(r.id(), "req-42");
  EXPECT_EQ(r.outputs_size(), 1);
}

TEST_F(InferenceTest, MetadataAndReadiness) {
  {
    inference::ServerLiveResponse r;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ServerLive(with_deadline(&ctx), {}, &r).ok());
    EXPECT_TRUE(r.live());
  }
  {
    inference::ServerReadyResponse r;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ServerReady(with_deadline(&ctx), {}, &r).ok());
    EXPECT_TRUE(r.ready());
  }
  {
    inference::ModelReadyRequest req;
    req.set_name("cnn_bn");
    inference::ModelReadyResponse r;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ModelReady(with_deadline(&ctx), req, &r).ok());
    EXPECT_TRUE(r.ready());
  }
  {
    inference::ServerMetadataResponse r;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ServerMetadata(with_deadline(&ctx), {}, &r).ok());
    EXPECT_EQ(r.name(), "attune");
    EXPECT_FALSE(r.version().empty());
  }
  inference::ModelMetadataRequest req;
  req.set_name("cnn_bn");
  inference::ModelMetadataResponse r;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ModelMetadata(with_deadline(&ctx), req, &r).ok());
  EXPECT_EQ(r.platform(), "pytorch_libtorch");
  ASSERT_EQ(r.versions_size(), 1);
  ASSERT_EQ(r.inputs_size(), 1);
  EXPECT_EQ(r.inputs(0).name(), "image");
  EXPECT_EQ(r.inputs(0).datatype(), "FP32");
  EXPECT_EQ(std::vector<int64_t>(r.inputs(0).shape().begin(), r.inputs(0).shape().end()),
            (std::vector<int64_t>{-1, 1, 28, 28}));
  EXPECT_EQ(r.outputs(0).name(), "logits");
}

TEST_F(InferenceTest, ConcurrentRequestsOnOneModelAreCorrect) {
  constexpr int kThreads = 8, kRequests = 20;
  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto stub = inference::GRPCInferenceService::NewStub(server_->channel());
      auto x = torch::full({2, 1, 28, 28}, 0.1 * t);
      auto expected = local_forward("cnn_bn", x);
      for (int i = 0; i < kRequests; ++i) {
        inference::ModelInferResponse r;
        grpc::ClientContext ctx;
        if (!stub->ModelInfer(with_deadline(&ctx), infer_request("cnn_bn", "image", x), &r).ok()) {
          ++errors;
          continue;
        }
        if ((output_tensor(r) - expected).abs().max().item<float>() > 1e-6f) ++mismatches;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace attune::test

// The bad-input matrix: every malformed request gets its precise status code and a message that
// names the field with expected vs received, and the server keeps serving afterwards.
#include <gtest/gtest.h>

#include "attune/v1/model_service.grpc.pb.h"
#include "kserve_helpers.h"
#include "server_process.h"

namespace attune::test {
namespace {

using grpc::StatusCode;

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess(dir_->path() / "data",
                                {"--load-model", "cnn_bn", "--load-model", "mlp",
                                 "--max-message-bytes", "2097152"});
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override {
    infer_ = inference::GRPCInferenceService::NewStub(server_->channel());
    models_ = v1::ModelService::NewStub(server_->channel());
  }
  void TearDown() override {
    // Whatever the request did, the server still answers correctly.
    inference::ModelInferResponse r;
    grpc::ClientContext ctx;
    auto s = infer_->ModelInfer(with_deadline(&ctx), infer_request("mlp", "input", torch::ones({1, 8})), &r);
    EXPECT_TRUE(s.ok()) << "server stopped serving after a bad request: " << s.error_message();
  }

  grpc::Status infer(const inference::ModelInferRequest& req) {
    inference::ModelInferResponse r;
    grpc::ClientContext ctx;
    return infer_->ModelInfer(with_deadline(&ctx), req, &r);
  }
  grpc::Status load(const v1::LoadModelRequest& req) {
    v1::Model m;
    grpc::ClientContext ctx;
    return models_->LoadModel(with_deadline(&ctx), req, &m);
  }

  static void expect(const grpc::Status& s, StatusCode code, const std::vector<std::string>& parts) {
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    for (const auto& p : parts)
      EXPECT_NE(s.error_message().find(p), std::string::npos)
          << "message '" << s.error_message() << "' lacks '" << p << "'";
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> infer_;
  std::unique_ptr<v1::ModelService::Stub> models_;
};
TempDir* BadInputTest::dir_ = nullptr;
ServerProcess* BadInputTest::server_ = nullptr;

TEST_F(BadInputTest, UnknownModelIsNotFound) {
  expect(infer(infer_request("nope", "image", torch::rand({1, 1, 28, 28}))), StatusCode::NOT_FOUND,
         {"model 'nope' not found"});
}

TEST_F(BadInputTest, UnknownVersionIsNotFound) {
  auto req = infer_request("cnn_bn", "image", torch::rand({1, 1, 28, 28}));
  req.set_model_version("7");
  expect(infer(req), StatusCode::NOT_FOUND, {"no version 7"});
}

TEST_F(BadInputTest, MalformedVersionIsInvalid) {
  auto req = infer_request("cnn_bn", "image", torch::rand({1, 1, 28, 28}));
  req.set_model_version("latest");
  expect(infer(req), StatusCode::INVALID_ARGUMENT, {"model_version", "'latest'"});
}

TEST_F(BadInputTest, DtypeMismatchNamesExpectedAndReceived) {
  expect(infer(infer_request("cnn_bn", "image", torch::rand({1, 1, 28, 28}, torch::kFloat64))),
         StatusCode::INVALID_ARGUMENT, {"inputs[0] 'image'", "expected FP32", "received FP64"});
}

TEST_F(BadInputTest, ShapeMismatchNamesExpectedAndReceived) {
  expect(infer(infer_request("cnn_bn", "image", torch::rand({2, 1, 28, 27}))),
         StatusCode::INVALID_ARGUMENT, {"shape expected [-1,1,28,28]", "received [2,1,28,27]"});
}

TEST_F(BadInputTest, ByteLengthNotMatchingShape) {
  auto req = infer_request("cnn_bn", "image", torch::rand({2, 1, 28, 28}));
  req.mutable_raw_input_contents(0)->resize(100);
  expect(infer(req), StatusCode::INVALID_ARGUMENT,
         {"raw_input_contents[0]", "expected 6272 bytes", "received 100"});
}

TEST_F(BadInputTest, TypedContentsCountNotMatchingShape) {
  auto req = infer_request("mlp", "input", torch::rand({2, 8}), /*raw=*/false);
  req.mutable_inputs(0)->mutable_contents()->mutable_fp32_contents()->RemoveLast();
  expect(infer(req), StatusCode::INVALID_ARGUMENT, {"fp32_contents", "expected 16 values", "received 15"});
}

TEST_F(BadInputTest, NanIsRejected) {
  auto x = torch::rand({2, 1, 28, 28});
  x[1][0][3][4] = std::numeric_limits<float>::quiet_NaN();
  expect(infer(infer_request("cnn_bn", "image", x)), StatusCode::INVALID_ARGUMENT,
         {"non-finite", "flat index 872"});
}

TEST_F(BadInputTest, InfIsRejected) {
  auto x = torch::rand({1, 8});
  x[0][2] = std::numeric_limits<float>::infinity();
  expect(infer(infer_request("mlp", "input", x)), StatusCode::INVALID_ARGUMENT,
         {"1 non-finite value", "flat index 2"});
}

TEST_F(BadInputTest, EmptyBatchIsRejected) {
  expect(infer(infer_request("cnn_bn", "image", torch::rand({0, 1, 28, 28}))),
         StatusCode::INVALID_ARGUMENT, {"empty batch"});
}

TEST_F(BadInputTest, WrongNumberOfInputs) {
  auto req = infer_request("mlp", "input", torch::rand({1, 8}));
  *req.add_inputs() = req.inputs(0);
  req.add_raw_input_contents(req.raw_input_contents(0));
  expect(infer(req), StatusCode::INVALID_ARGUMENT, {"expected 1 tensor(s) [input]", "received 2"});
}

TEST_F(BadInputTest, UnknownDatatypeString) {
  auto req = infer_request("mlp", "input", torch::rand({1, 8}));
  req.mutable_inputs(0)->set_datatype("FLOAT");
  expect(infer(req), StatusCode::INVALID_ARGUMENT, {"inputs[0].datatype", "'FLOAT'"});
}

TEST_F(BadInputTest, NegativeDimension) {
  auto req = infer_request("mlp", "input", torch::rand({1, 8}));
  req.mutable_inputs(0)->set_shape(0, -3);
  expect(infer(req), StatusCode::INVALID_ARGUMENT, {"shape[0] must be >= 0"});
}

TEST_F(BadInputTest, UnknownRequestedOutput) {
  auto req = infer_request("mlp", "input", torch::rand({1, 8}));
  req.add_outputs()->set_name("probabilities");
  expect(infer(req), StatusCode::INVALID_ARGUMENT, {"'probabilities'", "no such output"});
}

TEST_F(BadInputTest, OversizeMessageIsResourceExhausted) {
  // 4 MiB of pixels against a 2 MiB --max-message-bytes.
  auto s = infer(infer_request("cnn_bn", "image", torch::rand({1400, 1, 28, 28})));
  EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
}

TEST_F(BadInputTest, GarbageTorchScriptIsInvalid) {
  v1::LoadModelRequest req;
  req.set_name("junk");
  req.set_torchscript("PK\x03\x04 not really a zip");
  expect(load(req), StatusCode::INVALID_ARGUMENT, {"torchscript", "TorchScript"});
}

TEST_F(BadInputTest, EmptyTorchScriptIsInvalid) {
  v1::LoadModelRequest req;
  req.set_name("junk");
  req.set_torchscript("");
  expect(load(req), StatusCode::INVALID_ARGUMENT, {"torchscript: empty"});
}

TEST_F(BadInputTest, BadModelNameIsInvalid) {
  v1::LoadModelRequest req;
  req.set_name("../escape");
  req.set_torchscript(read_bytes(models_dir() / "mlp/1/model.pt"));
  expect(load(req), StatusCode::INVALID_ARGUMENT, {"name", "'../escape'"});
}

TEST_F(BadInputTest, RepositoryPathEscapingRootIsDenied) {
  v1::LoadModelRequest req;
  req.set_name("x");
  req.set_repository_path("../models/mlp");
  expect(load(req), StatusCode::PERMISSION_DENIED, {"'..' is not allowed"});
  req.set_repository_path("/etc/passwd");
  expect(load(req), StatusCode::PERMISSION_DENIED, {"absolute paths are not allowed"});
}

TEST_F(BadInputTest, MissingRepositoryModelIsNotFound) {
  v1::LoadModelRequest req;
  req.set_name("x");
  req.set_repository_path("no_such_model");
  expect(load(req), StatusCode::NOT_FOUND, {"'no_such_model' not found"});
}

TEST_F(BadInputTest, ExistingVersionIsAlreadyExists) {
  v1::LoadModelRequest req;
  req.set_name("mlp");
  req.set_torchscript(read_bytes(models_dir() / "mlp/1/model.pt"));
  req.set_version(1);
  expect(load(req), StatusCode::ALREADY_EXISTS, {"version 1 already exists"});
}

TEST_F(BadInputTest, UnloadUnknownModelIsNotFound) {
  v1::UnloadModelRequest req;
  req.set_name("ghost");
  v1::UnloadModelResponse r;
  grpc::ClientContext ctx;
  expect(models_->UnloadModel(with_deadline(&ctx), req, &r), StatusCode::NOT_FOUND, {"'ghost'"});
}

TEST_F(BadInputTest, StreamWithoutRequestHeaderIsInvalid) {
  v1::Model m;
  grpc::ClientContext ctx;
  auto writer = models_->LoadModelStream(with_deadline(&ctx), &m);
  v1::LoadModelChunk c;
  c.set_data("bytes first");
  writer->Write(c);
  writer->WritesDone();
  expect(writer->Finish(), StatusCode::INVALID_ARGUMENT, {"first message"});
}

}  // namespace
}  // namespace attune::test

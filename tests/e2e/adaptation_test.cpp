// Test-time adaptation over gRPC: concurrent sessions on one model are independent and equal to
// the TTA library run in process, the serving model never changes, EATA with a Fisher from a
// dataset, publishing, idle expiry, and the bad-input matrix.
#include <gtest/gtest.h>

#include <thread>

#include "attune/v1/adaptation_service.grpc.pb.h"
#include "kserve_helpers.h"
#include "training_helpers.h"
#include "tta/adapter.h"

namespace attune::test {
namespace {

using grpc::StatusCode;

// Images with a shift the source model never saw: brighter, lower contrast, a stripe pattern.
torch::Tensor shifted_images(int64_t n, double seed) {
  auto idx = torch::arange(n * 28 * 28, torch::kFloat64).reshape({n, 1, 28, 28});
  return (0.6 * torch::sin(idx * 0.013 + seed) + 0.25 * torch::cos(idx * 0.21 + 2 * seed) + 0.3).to(torch::kFloat32);
}

struct AdaptClient {
  explicit AdaptClient(const ServerProcess& s) : stub(v1::AdaptationService::NewStub(s.channel())) {}

  grpc::Status create(const std::string& model, const v1::AdaptationOptions& o, v1::Session* out) {
    v1::CreateSessionRequest req;
    req.mutable_model()->set_name(model);
    *req.mutable_options() = o;
    grpc::ClientContext ctx;
    return stub->CreateSession(with_deadline(&ctx), req, out);
  }
  // Adapts every batch in one stream; returns the probabilities per batch.
  grpc::Status adapt(const std::string& id, const std::vector<torch::Tensor>& batches,
                     std::vector<torch::Tensor>* probs, std::vector<v1::AdaptResponse>* raw = nullptr) {
    grpc::ClientContext ctx;
    auto stream = stub->Adapt(with_deadline(&ctx, 120));
    for (size_t i = 0; i < batches.size(); ++i) {
      v1::AdaptRequest req;
      req.set_session(i == 0 ? id : "");
      fill_tensor(batches[i], req.mutable_batch());
      if (!stream->Write(req)) break;
      v1::AdaptResponse resp;
      if (!stream->Read(&resp)) break;
      const auto& p = resp.probabilities();
      if (probs)
        probs->push_back(torch::from_blob(const_cast<char*>(p.data().data()), {p.shape(0), p.shape(1)}, torch::kFloat32).clone());
      if (raw) raw->push_back(resp);
    }
    stream->WritesDone();
    return stream->Finish();
  }
  v1::Session get(const std::string& id, grpc::Status* status = nullptr) {
    v1::GetSessionRequest req;
    req.set_session(id);
    v1::Session s;
    grpc::ClientContext ctx;
    auto st = stub->GetSession(with_deadline(&ctx), req, &s);
    if (status) *status = st;
    return s;
  }
  std::unique_ptr<v1::AdaptationService::Stub> stub;
};

v1::AdaptationOptions tent_options(double lr) {
  v1::AdaptationOptions o;
  o.set_method("tent");
  o.set_lr(lr);
  return o;
}

std::vector<torch::Tensor> in_process(const std::vector<torch::Tensor>& batches, double lr) {
  torch::set_num_threads(1);
  auto model = torch::jit::load((models_dir() / "cnn_bn/1/model.pt").string());
  tta::Options o;
  o.method = tta::Method::kTent;
  o.optimizer.lr = lr;
  auto adapter = tta::make_adapter(model, o);
  std::vector<torch::Tensor> out;
  for (const auto& b : batches) out.push_back(adapter->adapt(b).probs.to(torch::kFloat32));
  return out;
}

TEST(Adaptation, ConcurrentSessionsAreIndependentAndEqualTheLibraryInProcess) {
  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--load-model", "cnn_bn"});
  server.start();
  std::vector<torch::Tensor> a_batches, b_batches;
  for (int i = 0; i < 5; ++i) {
    a_batches.push_back(shifted_images(16, 0.1 * i));
    b_batches.push_back(shifted_images(16, 3.0 + 0.2 * i) * 0.5);
  }
  const auto probe = shifted_images(4, 9.0);
  auto infer_stub = inference::GRPCInferenceService::NewStub(server.channel());
  auto serve = [&] {
    inference::ModelInferResponse r;
    grpc::ClientContext ctx;
    EXPECT_TRUE(infer_stub->ModelInfer(with_deadline(&ctx), infer_request("cnn_bn", "image", probe), &r).ok());
    return output_tensor(r);
  };
  const auto before = serve();

  AdaptClient c(server);
  v1::Session a, b;
  ASSERT_TRUE(c.create("cnn_bn", tent_options(0.05), &a).ok());
  ASSERT_TRUE(c.create("cnn_bn", tent_options(0.05), &b).ok());
  std::vector<torch::Tensor> a_probs, b_probs;
  std::thread ta([&] { EXPECT_TRUE(c.adapt(a.id(), a_batches, &a_probs).ok()); });
  std::thread tb([&] { EXPECT_TRUE(c.adapt(b.id(), b_batches, &b_probs).ok()); });
  ta.join();
  tb.join();

  const auto a_ref = in_process(a_batches, 0.05), b_ref = in_process(b_batches, 0.05);
  ASSERT_EQ(a_probs.size(), 5u);
  ASSERT_EQ(b_probs.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_LE((a_probs[i] - a_ref[i]).abs().max().item<float>(), 1e-5f) << "session A batch " << i;
    EXPECT_LE((b_probs[i] - b_ref[i]).abs().max().item<float>(), 1e-5f) << "session B batch " << i;
  }
  // Adaptation moved each session's parameters, and only its own.
  const auto sa = c.get(a.id()), sb = c.get(b.id());
  EXPECT_GT(sa.stats().param_distance(), 0);
  EXPECT_GT(sb.stats().param_distance(), 0);
  EXPECT_NE(sa.stats().param_distance(), sb.stats().param_distance());
  EXPECT_EQ(sa.stats().updates(), 5);
  EXPECT_EQ(sa.stats().samples(), 80);
  // The serving model is never mutated.
  EXPECT_TRUE(torch::equal(serve(), before));

  const std::string metrics = "\n" + http_get(server.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("\nattune_adapt_sessions 2"), std::string::npos);
  EXPECT_NE(metrics.find("attune_adapt_samples_total{decision=\"used\",method=\"tent\",model=\"cnn_bn\"} 160"),
            std::string::npos);
  EXPECT_NE(metrics.find("\nattune_adapt_entropy_count{method=\"tent\"} 160"), std::string::npos);
  EXPECT_NE(metrics.find("\nattune_adapt_batch_seconds_count{method=\"tent\"} 10"), std::string::npos);
}

TEST(Adaptation, EataWithFisherFromADatasetThenPublish) {
  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--load-model", "cnn_bn"});
  server.start();
  TrainingClient t(server);
  const auto clean = torch::rand({128, 1, 28, 28}, torch::TensorOptions().dtype(torch::kFloat32));
  ASSERT_TRUE(t.upload("clean", clean, torch::zeros({128}, torch::kInt64)).ok());
  AdaptClient c(server);
  v1::AdaptationOptions o;
  o.set_method("eata");
  o.set_d_margin(0.4);
  o.set_fisher_alpha(1);
  o.set_lr(0.01);
  v1::Session s;
  ASSERT_TRUE(c.create("cnn_bn", o, &s).ok());
  EXPECT_FALSE(s.has_fisher());
  {
    grpc::ClientContext ctx;
    auto w = c.stub->ComputeFisher(with_deadline(&ctx), &s);
    v1::ComputeFisherRequest h;
    h.mutable_header()->set_session(s.id());
    h.mutable_header()->set_dataset("clean");
    h.mutable_header()->set_size(96);
    h.mutable_header()->set_batch_size(32);
    w->Write(h);
    w->WritesDone();
    const auto st = w->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_TRUE(s.has_fisher());
  EXPECT_EQ(s.fisher_samples(), 96);
  std::vector<torch::Tensor> batches;
  for (int i = 0; i < 4; ++i) batches.push_back(shifted_images(32, i));
  std::vector<v1::AdaptResponse> raw;
  ASSERT_TRUE(c.adapt(s.id(), batches, nullptr, &raw).ok());
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(raw[3].sequence(), 4);
  for (const auto& r : raw) {
    EXPECT_EQ(r.predictions_size(), 32);
    EXPECT_LE(r.stats().used(), r.stats().reliable());
    EXPECT_EQ(r.stats().reliable() + r.stats().filtered_entropy(), 32);
  }
  const auto info = c.get(s.id());
  EXPECT_LE(info.stats().used(), info.stats().reliable());
  EXPECT_LE(info.stats().reliable(), info.stats().samples());
  EXPECT_EQ(info.stats().samples(), 128);

  v1::PublishSessionRequest pub;
  pub.set_session(s.id());
  pub.set_name("cnn_adapted");
  v1::Model m;
  grpc::ClientContext ctx;
  const auto st = c.stub->PublishSession(with_deadline(&ctx), pub, &m);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(m.name(), "cnn_adapted");
  EXPECT_EQ(m.versions(0).origin(), "adaptation:" + s.id());
  EXPECT_EQ(m.versions(0).batchnorm_layers(), 3);
}

TEST(Adaptation, IdleSessionsExpire) {
  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--load-model", "cnn_bn", "--session-idle-seconds", "1"});
  server.start();
  AdaptClient c(server);
  v1::Session s;
  v1::AdaptationOptions o;
  o.set_method("lame");
  ASSERT_TRUE(c.create("cnn_bn", o, &s).ok());
  grpc::Status st;
  c.get(s.id(), &st);
  ASSERT_TRUE(st.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  c.get(s.id(), &st);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("expired"), std::string::npos) << st.error_message();
  EXPECT_NE(("\n" + http_get(server.metrics_port(), "/metrics")).find("\nattune_adapt_sessions 0"), std::string::npos);
}

class AdaptationErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess(dir_->path() / "data",
                                {"--load-model", "cnn_bn", "--load-model", "mlp", "--max-sessions", "3"});
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override { c_ = std::make_unique<AdaptClient>(*server_); }
  void TearDown() override {
    v1::ListSessionsResponse all;
    grpc::ClientContext ctx;
    c_->stub->ListSessions(with_deadline(&ctx), {}, &all);
    for (const auto& s : all.sessions()) {
      v1::CloseSessionRequest req;
      req.set_session(s.id());
      v1::CloseSessionResponse r;
      grpc::ClientContext c2;
      c_->stub->CloseSession(with_deadline(&c2), req, &r);
    }
  }
  static void expect(const grpc::Status& s, StatusCode code, const std::vector<std::string>& parts) {
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    for (const auto& p : parts)
      EXPECT_NE(s.error_message().find(p), std::string::npos) << "'" << s.error_message() << "' lacks '" << p << "'";
  }
  v1::Session tent() {
    v1::Session s;
    EXPECT_TRUE(c_->create("cnn_bn", tent_options(0.01), &s).ok());
    return s;
  }
  static TempDir* dir_;
  static ServerProcess* server_;
  std::unique_ptr<AdaptClient> c_;
};
TempDir* AdaptationErrorsTest::dir_ = nullptr;
ServerProcess* AdaptationErrorsTest::server_ = nullptr;

TEST_F(AdaptationErrorsTest, UnknownModelIsNotFound) {
  v1::Session s;
  expect(c_->create("ghost", tent_options(0.01), &s), StatusCode::NOT_FOUND, {"model 'ghost' not found"});
}

TEST_F(AdaptationErrorsTest, UnknownMethodIsInvalid) {
  v1::AdaptationOptions o;
  o.set_method("sar");
  v1::Session s;
  expect(c_->create("cnn_bn", o, &s), StatusCode::INVALID_ARGUMENT, {"sar"});
}

TEST_F(AdaptationErrorsTest, BadOptionIsInvalid) {
  auto o = tent_options(-1);
  v1::Session s;
  expect(c_->create("cnn_bn", o, &s), StatusCode::INVALID_ARGUMENT, {"lr"});
}

TEST_F(AdaptationErrorsTest, EataOnAModelWithoutBatchNormIsAPreconditionFailure) {
  v1::AdaptationOptions o;
  o.set_method("eata");
  v1::Session s;
  expect(c_->create("mlp", o, &s), StatusCode::FAILED_PRECONDITION, {"BatchNorm"});
}

TEST_F(AdaptationErrorsTest, SingleSampleBatchForTentIsInvalid) {
  const auto s = tent();
  expect(c_->adapt(s.id(), {shifted_images(1, 0)}, nullptr), StatusCode::INVALID_ARGUMENT, {"1"});
}

TEST_F(AdaptationErrorsTest, ShapeMismatchIsInvalid) {
  const auto s = tent();
  expect(c_->adapt(s.id(), {torch::rand({4, 1, 28, 27})}, nullptr), StatusCode::INVALID_ARGUMENT,
         {"batch[0]", "shape expected [-1,1,28,28]", "received [4,1,28,27]"});
}

TEST_F(AdaptationErrorsTest, NanBatchIsInvalid) {
  const auto s = tent();
  auto x = shifted_images(4, 0);
  x[2][0][5][5] = std::numeric_limits<float>::quiet_NaN();
  expect(c_->adapt(s.id(), {x}, nullptr), StatusCode::INVALID_ARGUMENT, {"non-finite"});
}

TEST_F(AdaptationErrorsTest, FirstMessageWithoutSessionIsInvalid) {
  grpc::ClientContext ctx;
  auto stream = c_->stub->Adapt(with_deadline(&ctx));
  v1::AdaptRequest req;
  fill_tensor(shifted_images(4, 0), req.mutable_batch());
  stream->Write(req);
  stream->WritesDone();
  expect(stream->Finish(), StatusCode::INVALID_ARGUMENT, {"session"});
}

TEST_F(AdaptationErrorsTest, UnknownSessionIsNotFound) {
  expect(c_->adapt("s000000000000", {shifted_images(4, 0)}, nullptr), StatusCode::NOT_FOUND, {"s000000000000"});
}

TEST_F(AdaptationErrorsTest, TooManySessionsIsResourceExhausted) {
  for (int i = 0; i < 3; ++i) tent();
  v1::Session s;
  expect(c_->create("cnn_bn", tent_options(0.01), &s), StatusCode::RESOURCE_EXHAUSTED,
         {"session limit reached", "--max-sessions 3"});
}

TEST_F(AdaptationErrorsTest, PublishingLameIsAPreconditionFailure) {
  v1::AdaptationOptions o;
  o.set_method("lame");
  v1::Session s;
  ASSERT_TRUE(c_->create("cnn_bn", o, &s).ok());
  v1::PublishSessionRequest req;
  req.set_session(s.id());
  v1::Model m;
  grpc::ClientContext ctx;
  expect(c_->stub->PublishSession(with_deadline(&ctx), req, &m), StatusCode::FAILED_PRECONDITION, {});
}

TEST_F(AdaptationErrorsTest, FisherWithoutSamplesIsInvalid) {
  const auto s = tent();
  v1::Session out;
  grpc::ClientContext ctx;
  auto w = c_->stub->ComputeFisher(with_deadline(&ctx), &out);
  v1::ComputeFisherRequest h;
  h.mutable_header()->set_session(s.id());
  w->Write(h);
  w->WritesDone();
  expect(w->Finish(), StatusCode::INVALID_ARGUMENT, {"samples"});
}

}  // namespace
}  // namespace attune::test

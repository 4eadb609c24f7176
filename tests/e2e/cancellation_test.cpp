// Deadlines and cancellation (issue 8): an expired call gets DEADLINE_EXCEEDED, and a cancelled or
// expired call stops its work within one batch and commits nothing partial: no dataset from a
// cut-off upload or import, no Fisher information from a cut-off sample stream, and Adapt,
// WatchJob and Ingest handlers return as soon as their client is gone.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>

#include "attune/v1/adaptation_service.grpc.pb.h"
#include "attune/v1/nowcast_service.grpc.pb.h"
#include "kserve_helpers.h"
#include "training_helpers.h"

namespace attune::test {
namespace {

using grpc::StatusCode;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class Cancellation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    fs::create_directories(dir_->path() / "imports");
    // 1.5 M rows: parsing takes seconds, far longer than the deadlines below.
    {
      std::ofstream csv(dir_->path() / "imports" / "big.csv");
      csv << "a,b,c,d,label\n";
      for (int i = 0; i < 1'500'000; ++i) csv << i % 97 << ',' << i % 13 << ",0.5," << i % 7 << ',' << i % 3 << '\n';
    }
    server_ = new ServerProcess(dir_->path() / "data", {"--load-model", "cnn_bn", "--load-model", "mlp",
                                                        "--datasets-dir", (dir_->path() / "imports").string()});
    server_->start();
    TrainingClient c(*server_);
    auto [x, y] = synthetic_classes(2048, torch::kFloat32);
    ASSERT_TRUE(c.upload("syn", x, y).ok());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override {
    c_ = std::make_unique<TrainingClient>(*server_);
    adapt_ = v1::AdaptationService::NewStub(server_->channel());
    nowcast_ = v1::NowcastService::NewStub(server_->channel());
  }

  // grpc_server_handled_total for one method and code (the handler returned with that status).
  static double handled(const std::string& method, const std::string& code) {
    const std::string body = http_get(server_->metrics_port(), "/metrics");
    double total = 0;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("grpc_server_handled_total{", 0) != 0) continue;
      if (line.find("grpc_method=\"" + method + "\"") == std::string::npos) continue;
      if (line.find("grpc_code=\"" + code + "\"") == std::string::npos) continue;
      total += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return total;
  }
  // Waits until the handler of `method` has returned `code` more than `before` times.
  static bool wait_handled(const std::string& method, const std::string& code, double before, double seconds = 60) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < deadline) {
      if (handled(method, code) > before) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  bool dataset_exists(const std::string& name) {
    v1::GetDatasetRequest req;
    req.set_name(name);
    v1::Dataset d;
    grpc::ClientContext ctx;
    return c_->datasets->GetDataset(with_deadline(&ctx), req, &d).ok();
  }
  v1::Session session(const std::string& method) {
    v1::CreateSessionRequest req;
    req.mutable_model()->set_name("cnn_bn");
    req.mutable_options()->set_method(method);
    v1::Session s;
    grpc::ClientContext ctx;
    EXPECT_TRUE(adapt_->CreateSession(with_deadline(&ctx), req, &s).ok());
    return s;
  }
  v1::Session get_session(const std::string& id) {
    v1::GetSessionRequest req;
    req.set_session(id);
    v1::Session s;
    grpc::ClientContext ctx;
    EXPECT_TRUE(adapt_->GetSession(with_deadline(&ctx), req, &s).ok());
    return s;
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  std::unique_ptr<TrainingClient> c_;
  std::unique_ptr<v1::AdaptationService::Stub> adapt_;
  std::unique_ptr<v1::NowcastService::Stub> nowcast_;
};
TempDir* Cancellation::dir_ = nullptr;
ServerProcess* Cancellation::server_ = nullptr;

TEST_F(Cancellation, CallWithAnExpiredDeadlineIsDeadlineExceeded) {
  auto infer = inference::GRPCInferenceService::NewStub(server_->channel());
  inference::ModelInferResponse r;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
  const auto st = infer->ModelInfer(&ctx, infer_request("mlp", "input", torch::ones({1, 8})), &r);
  EXPECT_EQ(st.error_code(), StatusCode::DEADLINE_EXCEEDED) << st.error_message();
}

// The import's deadline passes while the server parses the CSV: the client gets
// DEADLINE_EXCEEDED, the server stops parsing (its handler ends CANCELLED) and stores nothing.
TEST_F(Cancellation, ImportPastItsDeadlineStopsAndStoresNothing) {
  const double before = handled("ImportDataset", "Canceled");
  v1::ImportDatasetRequest req;
  req.set_name("big");
  req.set_format(v1::ImportDatasetRequest::CSV);
  req.set_path("big.csv");
  v1::Dataset d;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  const auto st = c_->datasets->ImportDataset(&ctx, req, &d);
  EXPECT_EQ(st.error_code(), StatusCode::DEADLINE_EXCEEDED) << st.error_message();
  ASSERT_TRUE(wait_handled("ImportDataset", "Canceled", before))
      << "the import handler never ended with CANCELLED:\n" << server_->log();
  EXPECT_FALSE(dataset_exists("big")) << "an import past its deadline stored a dataset";
}

// The client cancels an upload after some batches, without closing its side: nothing is stored.
TEST_F(Cancellation, CancelledUploadStoresNothing) {
  const double before = handled("UploadDataset", "Canceled");
  v1::Dataset d;
  grpc::ClientContext ctx;
  with_deadline(&ctx);
  auto w = c_->datasets->UploadDataset(&ctx, &d);
  v1::UploadDatasetChunk head;
  head.mutable_header()->set_name("partial");
  head.mutable_header()->set_feature_dtype(v1::FLOAT32);
  head.mutable_header()->add_feature_shape(8);
  head.mutable_header()->set_label_dtype(v1::INT64);
  ASSERT_TRUE(w->Write(head));
  for (int i = 0; i < 3; ++i) {
    v1::UploadDatasetChunk c;
    fill_tensor(torch::rand({16, 8}), c.mutable_batch()->mutable_features());
    fill_tensor(torch::zeros({16}, torch::kInt64), c.mutable_batch()->mutable_labels());
    ASSERT_TRUE(w->Write(c));
  }
  // Let the server read every batch, then cancel instead of WritesDone().
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ctx.TryCancel();
  EXPECT_EQ(w->Finish().error_code(), StatusCode::CANCELLED);
  ASSERT_TRUE(wait_handled("UploadDataset", "Canceled", before)) << server_->log();
  EXPECT_FALSE(dataset_exists("partial")) << "a cancelled upload stored a partial dataset";
}

// ComputeFisher from streamed samples, cancelled before the client closes its side: the session
// gets no Fisher information from the partial stream.
TEST_F(Cancellation, CancelledFisherStreamLeavesTheSessionUnchanged) {
  const auto s = session("eata");
  const double before = handled("ComputeFisher", "Canceled");
  v1::Session out;
  grpc::ClientContext ctx;
  with_deadline(&ctx);
  auto w = adapt_->ComputeFisher(&ctx, &out);
  v1::ComputeFisherRequest h;
  h.mutable_header()->set_session(s.id());
  h.mutable_header()->set_size(64);
  h.mutable_header()->set_batch_size(8);
  ASSERT_TRUE(w->Write(h));
  v1::ComputeFisherRequest samples;
  fill_tensor(torch::rand({16, 1, 28, 28}), samples.mutable_samples());
  ASSERT_TRUE(w->Write(samples));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ctx.TryCancel();
  EXPECT_EQ(w->Finish().error_code(), StatusCode::CANCELLED);
  ASSERT_TRUE(wait_handled("ComputeFisher", "Canceled", before)) << server_->log();
  EXPECT_FALSE(get_session(s.id()).has_fisher()) << "a cancelled stream set Fisher information";
}

// An Adapt stream with many queued batches is cancelled: the handler returns, and the session
// stops counting batches (at most the one in progress finishes).
TEST_F(Cancellation, CancelledAdaptStreamStopsWithinOneBatch) {
  const auto s = session("tent");
  const double before = handled("Adapt", "Canceled");
  constexpr int kBatches = 40;
  {
    grpc::ClientContext ctx;
    with_deadline(&ctx, 120);
    auto stream = adapt_->Adapt(&ctx);
    for (int i = 0; i < kBatches; ++i) {
      v1::AdaptRequest req;
      req.set_session(i == 0 ? s.id() : "");
      fill_tensor(torch::rand({128, 1, 28, 28}), req.mutable_batch());
      if (!stream->Write(req)) break;
    }
    v1::AdaptResponse first;
    ASSERT_TRUE(stream->Read(&first));
    ctx.TryCancel();
    (void)stream->Finish();
  }
  ASSERT_TRUE(wait_handled("Adapt", "Canceled", before)) << server_->log();
  const int64_t at_return = get_session(s.id()).stats().batches();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int64_t later = get_session(s.id()).stats().batches();
  EXPECT_EQ(later, at_return) << "the session kept adapting after the stream's handler returned";
  EXPECT_LT(at_return, kBatches) << "every queued batch was adapted although the client cancelled";
}

// WatchJob on a long job, cancelled by the client: the handler returns CANCELLED while the job
// keeps running (watching is not owning).
TEST_F(Cancellation, CancelledWatchJobReturnsAndTheJobGoesOn) {
  v1::JobSpec spec;
  spec.mutable_model()->set_name("mlp");
  spec.set_dataset("syn");
  spec.mutable_optimizer()->set_name("adam");
  spec.mutable_batch()->set_size(8);
  spec.set_epochs(200);
  v1::Job job;
  ASSERT_TRUE(c_->start(spec, &job).ok());
  const double before = handled("WatchJob", "Canceled");
  {
    v1::WatchJobRequest req;
    req.set_name(job.name());
    grpc::ClientContext ctx;
    with_deadline(&ctx, 120);
    auto reader = c_->training->WatchJob(&ctx, req);
    v1::JobEvent ev;
    ASSERT_TRUE(reader->Read(&ev));
    ctx.TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), StatusCode::CANCELLED);
  }
  ASSERT_TRUE(wait_handled("WatchJob", "Canceled", before)) << server_->log();
  EXPECT_FALSE(c_->get(job.name()).done()) << "cancelling a watch ended the job";
  v1::CancelJobRequest cancel;
  cancel.set_name(job.name());
  v1::Job out;
  grpc::ClientContext ctx;
  ASSERT_TRUE(c_->training->CancelJob(with_deadline(&ctx), cancel, &out).ok());
  EXPECT_EQ(c_->wait_until(job.name(), [](const v1::Job& j) { return j.done(); }, 120).metadata().state(),
            v1::JOB_CANCELLED);
}

// Ingest cancelled after some messages: the handler returns; every acknowledged message is
// durable and nothing half of a message is.
TEST_F(Cancellation, CancelledIngestReturnsAndKeepsWholeMessagesOnly) {
  v1::CreateStreamRequest create;
  create.mutable_config()->set_name("c");
  create.mutable_config()->add_variables("a");
  create.mutable_config()->add_targets("a");
  v1::NowcastStream created;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(nowcast_->CreateStream(with_deadline(&ctx), create, &created).ok());
  }
  const double before = handled("Ingest", "Canceled");
  constexpr int kPerMessage = 50;
  int64_t acked = 0;
  {
    grpc::ClientContext ctx;
    with_deadline(&ctx, 120);
    auto call = nowcast_->Ingest(&ctx);
    for (int m = 0; m < 20; ++m) {
      v1::IngestRequest req;
      req.set_stream("c");
      for (int k = 0; k < kPerMessage; ++k) {
        auto* o = req.add_observations();
        o->set_time(1'700'000'000 + 86400 * (m * kPerMessage + k));
        (*o->mutable_values())["a"] = std::sin(0.1 * (m * kPerMessage + k));
      }
      if (!call->Write(req)) break;
      if (m < 3) {
        v1::IngestResponse r;
        ASSERT_TRUE(call->Read(&r));
        acked = r.observations();
      }
    }
    ctx.TryCancel();
    (void)call->Finish();
  }
  ASSERT_TRUE(wait_handled("Ingest", "Canceled", before)) << server_->log();
  v1::GetStreamRequest get;
  get.set_name("c");
  v1::NowcastStream s;
  grpc::ClientContext ctx;
  ASSERT_TRUE(nowcast_->GetStream(with_deadline(&ctx), get, &s).ok());
  EXPECT_GE(s.observations(), acked);
  EXPECT_EQ(s.observations() % kPerMessage, 0) << "part of a message was applied";
}

}  // namespace
}  // namespace attune::test

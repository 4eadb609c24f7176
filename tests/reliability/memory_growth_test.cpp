// Memory growth (Triton's L0_memory_growth, done against a live server): 1,000 model
// load/unload cycles and 1,000 adaptation session create/adapt/close cycles must not grow the
// server's resident memory by 2% or more.
//
// How it is measured: the server's own process_resident_memory_bytes (from /metrics, read from
// /proc/self/stat by the server). Each workload first runs a warm-up of 200 cycles, so that
// one-time costs (LibTorch's kernel and graph-executor caches, the allocator's arenas for each
// gRPC worker thread, metric series, protobuf arenas) are paid before the baseline. The baseline
// and the final value are each the median of 5 scrapes 100 ms apart, taken when the server is
// idle. Growth = (final - baseline) / baseline. Intermediate values every 250 cycles are printed
// to show the trend (a leak grows linearly; allocator noise does not).
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <thread>

#include "attune/v1/adaptation_service.grpc.pb.h"
#include "attune/v1/model_service.grpc.pb.h"
#include "server_process.h"
#include "training_helpers.h"

namespace attune::test {
namespace {

constexpr int kWarmup = 200;
constexpr int kCycles = 1000;
constexpr double kMaxGrowth = 0.02;

double rss_once(const ServerProcess& s) {
  static const std::regex re("\nprocess_resident_memory_bytes ([0-9.e+]+)");
  const std::string body = http_get(s.metrics_port(), "/metrics");
  std::smatch m;
  if (!std::regex_search(body, m, re)) throw std::runtime_error("no process_resident_memory_bytes in /metrics");
  return std::stod(m[1]);
}

double rss(const ServerProcess& s) {
  std::vector<double> v;
  for (int i = 0; i < 5; ++i) {
    v.push_back(rss_once(s));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::sort(v.begin(), v.end());
  return v[2];
}

class MemoryGrowth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess(dir_->path() / "data", {"--load-model", "cnn_bn", "--max-sessions", "8"});
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  // Runs `cycle` kWarmup times, then kCycles times between two RSS measurements.
  template <class F>
  void measure(const char* what, F&& cycle) {
    for (int i = 0; i < kWarmup; ++i) ASSERT_NO_FATAL_FAILURE(cycle(i));
    const double before = rss(*server_);
    std::printf("%s: RSS after %d warm-up cycles %.1f MiB\n", what, kWarmup, before / (1 << 20));
    for (int i = 0; i < kCycles; ++i) {
      ASSERT_NO_FATAL_FAILURE(cycle(kWarmup + i));
      if ((i + 1) % 250 == 0)
        std::printf("%s: after %4d cycles %.1f MiB\n", what, i + 1, rss_once(*server_) / (1 << 20));
    }
    const double after = rss(*server_);
    const double growth = (after - before) / before;
    std::printf("%s: %d cycles, RSS %.1f -> %.1f MiB, growth %+.2f%% (limit %.0f%%)\n", what, kCycles,
                before / (1 << 20), after / (1 << 20), 100 * growth, 100 * kMaxGrowth);
    RecordProperty(std::string(what) + "_growth_percent", std::to_string(100 * growth));
    EXPECT_LT(growth, kMaxGrowth) << what << ": resident memory grew from " << before << " to " << after << " bytes";
  }

  static TempDir* dir_;
  static ServerProcess* server_;
};
TempDir* MemoryGrowth::dir_ = nullptr;
ServerProcess* MemoryGrowth::server_ = nullptr;

TEST_F(MemoryGrowth, ThousandLoadUnloadCycles) {
  auto stub = v1::ModelService::NewStub(server_->channel());
  const std::string bytes = read_bytes(models_dir() / "cnn_bn/1/model.pt");
  measure("load/unload", [&](int i) {
    v1::LoadModelRequest load;
    load.set_name("churn");
    load.set_torchscript(bytes);
    v1::Model m;
    grpc::ClientContext c1;
    const auto st = stub->LoadModel(with_deadline(&c1), load, &m);
    ASSERT_TRUE(st.ok()) << "cycle " << i << ": " << st.error_message();
    v1::UnloadModelRequest unload;
    unload.set_name("churn");
    v1::UnloadModelResponse r;
    grpc::ClientContext c2;
    const auto su = stub->UnloadModel(with_deadline(&c2), unload, &r);
    ASSERT_TRUE(su.ok()) << "cycle " << i << ": " << su.error_message();
    ASSERT_EQ(r.unloaded_versions_size(), 1);
  });
}

TEST_F(MemoryGrowth, ThousandSessionCreateAdaptCloseCycles) {
  auto stub = v1::AdaptationService::NewStub(server_->channel());
  const auto batch = torch::rand({8, 1, 28, 28});
  measure("session create/adapt/close", [&](int i) {
    v1::CreateSessionRequest create;
    create.mutable_model()->set_name("cnn_bn");
    create.mutable_options()->set_method(i % 2 ? "tent" : "eta");
    v1::Session s;
    grpc::ClientContext c1;
    const auto st = stub->CreateSession(with_deadline(&c1), create, &s);
    ASSERT_TRUE(st.ok()) << "cycle " << i << ": " << st.error_message();
    {
      grpc::ClientContext c2;
      with_deadline(&c2);
      auto stream = stub->Adapt(&c2);
      v1::AdaptRequest req;
      req.set_session(s.id());
      fill_tensor(batch, req.mutable_batch());
      ASSERT_TRUE(stream->Write(req));
      v1::AdaptResponse resp;
      ASSERT_TRUE(stream->Read(&resp));
      stream->WritesDone();
      const auto fs = stream->Finish();
      ASSERT_TRUE(fs.ok()) << "cycle " << i << ": " << fs.error_message();
    }
    v1::CloseSessionRequest close;
    close.set_session(s.id());
    v1::CloseSessionResponse r;
    grpc::ClientContext c3;
    const auto sc = stub->CloseSession(with_deadline(&c3), close, &r);
    ASSERT_TRUE(sc.ok()) << "cycle " << i << ": " << sc.error_message();
  });
}

}  // namespace
}  // namespace attune::test

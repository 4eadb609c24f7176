// NowcastService over gRPC against a live attune-server: drift detection on the real NOAA
// Seattle→New York splice, the metrics it exports, the model export, and the bad-input matrix
// (exact status codes and messages, after which the stream carries on as if nothing happened).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "nowcast_client.h"

namespace attune::test {
namespace {

using grpc::StatusCode;

class NowcastTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    server_ = new ServerProcess(dir_->path() / "data", {"--max-streams", "40"});
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override { stub_ = v1::NowcastService::NewStub(server_->channel()); }

  static TempDir* dir_;
  static ServerProcess* server_;
  std::unique_ptr<NowcastStub> stub_;
};
TempDir* NowcastTest::dir_ = nullptr;
ServerProcess* NowcastTest::server_ = nullptr;

// The value of the series `series` (exact text before the value) in a scrape; -1 if absent.
double sample(const std::string& scrape, const std::string& series) {
  const auto pos = scrape.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(scrape.substr(pos + series.size() + 2));
}

TEST_F(NowcastTest, PerformanceRetrainingFiresWithin14StepsOfTheSpliceChange) {
  ASSERT_TRUE(create(*stub_, stream_config("splice", {"temp_max"})).ok());
  // One observation per message, as a live feed sends them. A live daily feed leaves a fit
  // (about a millisecond of ridge) all the time it needs before the next observation; the
  // pause after each fire plays that part, so that the background swaps happen at the next
  // observation however loaded the test machine is.
  std::vector<v1::RetrainStarted> fires;
  std::vector<v1::FitRecord> fits;
  int64_t drifts = 0;
  grpc::ClientContext ctx;
  with_deadline(&ctx, 300);
  auto call = stub_->Ingest(&ctx);
  for (size_t i = 0; i < splice().size(); ++i) {
    v1::IngestResponse reply;
    ASSERT_TRUE(call->Write(request("splice", i, i + 1)) && call->Read(&reply)) << call->Finish().error_message();
    ASSERT_EQ(reply.results_size(), 1);
    const auto& r = reply.results(0);
    ASSERT_EQ(r.forecast().horizons_size(), 3);
    EXPECT_EQ(r.forecast().horizons(0).valid_time(), r.time() + 86400);
    for (const auto& s : r.retrain_started()) fires.push_back(s);
    for (const auto& f : r.retrain_finished()) fits.push_back(f);
    drifts += r.drifts_size();
    if (r.retrain_started_size()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  call->WritesDone();
  ASSERT_TRUE(call->Finish().ok());
  const int64_t cp = nowcast::kSpliceChangePoint;
  const v1::RetrainStarted* first = nullptr;
  for (const auto& f : fires)
    if (f.trigger() == "performance" && f.step() >= cp) {
      first = &f;
      break;
    }
  ASSERT_NE(first, nullptr) << "no performance retrain after the change";
  RecordProperty("first_performance_fire_step", static_cast<int>(first->step()));
  EXPECT_LE(first->step() - cp, 14) << "first performance fire at step " << first->step();
  EXPECT_GT(first->ratio(), 2.0);  // r > 1 + τ (τ = 1)
  EXPECT_GE(first->model_age(), 7);
  EXPECT_GT(first->window(), 0);

  // Its fit went live later with its cost, and GetStream tells the same story.
  const v1::FitRecord* fit = nullptr;
  for (const auto& f : fits)
    if (f.fire_step() == first->step()) fit = &f;
  ASSERT_NE(fit, nullptr);
  EXPECT_GT(fit->swap_step(), fit->fire_step());  // background: swapped at a later observation
  EXPECT_EQ(fit->window(), first->window());
  EXPECT_EQ(fit->train_rows() + fit->holdout_rows(), fit->window());
  EXPECT_GT(fit->cpu_seconds(), 0);
  EXPECT_GT(fit->rows_epochs(), 0);
  const auto s = get_stream(*stub_, "splice");
  EXPECT_EQ(s.observations(), static_cast<int64_t>(splice().size()));
  EXPECT_EQ(s.fits(), static_cast<int64_t>(fits.size()));
  EXPECT_EQ(s.drift_events(), drifts);
  EXPECT_GE(s.fits_by_trigger().at("performance"), 1);
  bool logged = false;
  for (const auto& f : s.recent_fits()) logged = logged || (f.fire_step() == fit->fire_step() && f.version() == fit->version());
  EXPECT_TRUE(logged);
  ASSERT_EQ(s.horizons_size(), 3);
  for (const auto& h : s.horizons()) {
    EXPECT_GT(h.count(), 1000);
    EXPECT_GT(h.skill(), 0) << "h=" << h.horizon() << " does not beat persistence";
    EXPECT_NEAR(h.skill(), 1 - h.mae() / h.persistence_mae(), 1e-12);
  }
  EXPECT_GT(s.compute().train_cpu_seconds(), 0);
  EXPECT_EQ(s.persistence().durable_observations(), static_cast<int64_t>(splice().size()));
  EXPECT_GE(s.persistence().snapshot_observations(), 1000);
}

TEST_F(NowcastTest, MetricsMatchTheStreamAndLeaveWithIt) {
  ASSERT_TRUE(create(*stub_, stream_config("metered", {"temp_max", "wind"})).ok());
  ingest_range(*stub_, "metered", 0, splice().size(), 100);
  const auto s = get_stream(*stub_, "metered");
  const std::string text = "\n" + http_get(server_->metrics_port(), "/metrics");
  EXPECT_EQ(sample(text, R"(attune_nowcast_observations_total{stream="metered"})"), 1461);
  for (const auto& h : s.horizons())
    EXPECT_EQ(sample(text, "attune_nowcast_abs_error_count{horizon=\"" + std::to_string(h.horizon()) +
                               "\",stream=\"metered\",target=\"" + h.target() + "\"}"),
              h.count());
  EXPECT_EQ(sample(text, R"(attune_drift_events_total{detector="performance",stream="metered"})"),
            s.drift_events());
  EXPECT_EQ(sample(text, R"(attune_drift_threshold{detector="performance",stream="metered"})"), 2);
  EXPECT_GT(sample(text, R"(attune_drift_statistic{detector="performance",stream="metered"})"), 0);
  for (const auto& [trigger, n] : s.fits_by_trigger())
    EXPECT_EQ(sample(text, "attune_retrain_total{stream=\"metered\",trigger=\"" + trigger + "\"}"), n) << trigger;
  EXPECT_EQ(sample(text, R"(attune_nowcast_window_samples{stream="metered"})"),
            s.recent_fits(s.recent_fits_size() - 1).window());
  EXPECT_NEAR(sample(text, R"(attune_nowcast_train_cpu_seconds_total{stream="metered"})"),
              s.compute().train_cpu_seconds(), 1e-6 + 1e-6 * s.compute().train_cpu_seconds());
  const auto file = dir_->path() / "scrape.txt";
  std::ofstream(file) << text.substr(1);
  std::string lint;
  EXPECT_EQ(run_command("promtool check metrics < " + file.string(), &lint), 0) << lint;
  EXPECT_EQ(lint, "") << "promtool complained:\n" << lint;

  v1::DeleteStreamRequest del;
  del.set_name("metered");
  v1::DeleteStreamResponse ok;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->DeleteStream(with_deadline(&ctx), del, &ok).ok());
  EXPECT_EQ(http_get(server_->metrics_port(), "/metrics").find("stream=\"metered\""), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(server_->data_dir() / "streams" / "metered"));
}

TEST_F(NowcastTest, ExportReturnsTheForecasterAsATorchArchive) {
  v1::NowcastStreamConfig c = stream_config("exported", {"temp_min"});
  c.mutable_model()->set_kind("mlp");
  c.mutable_model()->set_hidden(16);
  c.mutable_model()->set_max_epochs(5);
  ASSERT_TRUE(create(*stub_, c).ok());
  v1::ExportStreamModelRequest req;
  req.set_name("exported");
  {
    grpc::ClientContext ctx;
    auto reader = stub_->ExportStreamModel(with_deadline(&ctx), req);
    v1::ExportStreamModelChunk chunk;
    while (reader->Read(&chunk)) {
    }
    expect_status(reader->Finish(), StatusCode::FAILED_PRECONDITION, {"'exported' has no fitted model yet"});
  }
  ingest_range(*stub_, "exported", 0, 300, 50);
  // The initial fit runs in the background; it goes live at the first observation after it ends.
  auto s = get_stream(*stub_, "exported");
  for (size_t i = 300; i < splice().size() && s.model_version() == 0; ++i) {
    ingest_range(*stub_, "exported", i, i + 1, 1);
    s = get_stream(*stub_, "exported");
  }
  ASSERT_GE(s.model_version(), 1);

  req.set_chunk_bytes(4096);
  grpc::ClientContext ctx;
  auto reader = stub_->ExportStreamModel(with_deadline(&ctx), req);
  v1::ExportStreamModelChunk chunk, first;
  std::string bytes;
  while (reader->Read(&chunk)) {
    if (bytes.empty()) first = chunk;
    EXPECT_EQ(chunk.offset(), static_cast<int64_t>(bytes.size()));
    bytes += chunk.data();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(first.format(), "attune.nowcast.snapshot.v1");
  EXPECT_EQ(first.model_kind(), "mlp");
  EXPECT_EQ(first.model_version(), s.model_version());
  EXPECT_EQ(first.total_bytes(), static_cast<int64_t>(bytes.size()));
  EXPECT_NE(first.layout().find("[precipitation,temp_max,temp_min,wind]"), std::string::npos) << first.layout();

  // Readable with Python's torch.jit.load: the forecaster's version, scalers and weights.
  const auto file = dir_->path() / "exported.pt";
  std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::string out;
  const std::string script =
      "import torch; m = torch.jit.load('" + file.string() + "'); "
      "print('version', getattr(m, 'model.version')); "
      "print('x_center', tuple(getattr(m, 'model.x_center').shape)); "
      "print('params', sum(p.numel() for p in getattr(m, 'model.regressor').parameters()))";
  ASSERT_EQ(run_command("/usr/bin/python3 -c \"" + script + "\"", &out), 0) << out;
  EXPECT_NE(out.find("version " + std::to_string(s.model_version())), std::string::npos) << out;
  EXPECT_NE(out.find("x_center (30,)"), std::string::npos) << out;  // 7 lags × 4 variables + 2 calendar
  EXPECT_EQ(out.find("params 0"), std::string::npos) << out;
}

TEST_F(NowcastTest, ServiceIsHealthCheckedAndListed) {
  auto health = grpc::health::v1::Health::NewStub(server_->channel());
  grpc::health::v1::HealthCheckRequest req;
  req.set_service("attune.v1.NowcastService");
  grpc::health::v1::HealthCheckResponse r;
  grpc::ClientContext ctx;
  ASSERT_TRUE(health->Check(with_deadline(&ctx), req, &r).ok());
  EXPECT_EQ(r.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  ASSERT_TRUE(create(*stub_, stream_config("listed", {"wind"}, "synchronous")).ok());
  v1::ListStreamsResponse list;
  grpc::ClientContext lctx;
  ASSERT_TRUE(stub_->ListStreams(with_deadline(&lctx), {}, &list).ok());
  bool found = false;
  for (const auto& s : list.streams())
    if (s.name() == "listed") {
      found = true;
      EXPECT_EQ(s.model(), "ridge");
      EXPECT_EQ(s.trigger(), "performance");
      EXPECT_EQ(s.observations(), 0);
      EXPECT_TRUE(s.error().empty());
    }
  EXPECT_TRUE(found);
}

// ---- the bad-input matrix ------------------------------------------------------------------

// A stream `victim` gets the bad message; `twin` gets only the good ones. Afterwards both get the
// same observations and must agree exactly (synchronous retraining: deterministic).
class BadObservation : public NowcastTest {
 protected:
  void SetUp() override {
    NowcastTest::SetUp();
    const std::string base = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    victim_ = base + "-victim";
    twin_ = base + "-twin";
    for (const auto& n : {victim_, twin_}) {
      ASSERT_TRUE(create(*stub_, stream_config(n, {"temp_max", "wind"}, "synchronous")).ok());
      ingest_range(*stub_, n, 0, 200, 50);
    }
  }
  // A message with observation 200 changed by `edit`.
  v1::IngestRequest edited(const std::function<void(v1::Observation&)>& edit) {
    auto r = request(victim_, 200, 201);
    edit(*r.mutable_observations(0));
    return r;
  }
  grpc::Status send(const v1::IngestRequest& bad) { return ingest(*stub_, {bad}).status; }
  // The stream is unchanged by the rejected message and continues like its twin.
  void expect_stream_continues(int64_t expected_before = 200) {
    EXPECT_EQ(get_stream(*stub_, victim_).observations(), expected_before);
    ingest_range(*stub_, victim_, static_cast<size_t>(expected_before), 260, 1);
    ingest_range(*stub_, twin_, static_cast<size_t>(get_stream(*stub_, twin_).observations()), 260, 60);
    EXPECT_EQ(state(get_stream(*stub_, victim_)), state(get_stream(*stub_, twin_)));
    EXPECT_EQ(state(get_forecast(*stub_, victim_)), state(get_forecast(*stub_, twin_)));
  }
  std::string victim_, twin_;
};

TEST_F(BadObservation, NaNValue) {
  expect_status(send(edited([](v1::Observation& o) { (*o.mutable_values())["wind"] = std::nan(""); })),
                StatusCode::INVALID_ARGUMENT, {"observations[0].values[\"wind\"]: expected a finite number, received nan"});
  expect_stream_continues();
}

TEST_F(BadObservation, InfiniteValue) {
  expect_status(send(edited([](v1::Observation& o) { (*o.mutable_values())["temp_min"] = -HUGE_VAL; })),
                StatusCode::INVALID_ARGUMENT, {"observations[0].values[\"temp_min\"]: expected a finite number, received -inf"});
  expect_stream_continues();
}

TEST_F(BadObservation, MissingVariable) {
  expect_status(send(edited([](v1::Observation& o) { o.mutable_values()->erase("wind"); })),
                StatusCode::INVALID_ARGUMENT,
                {"observations[0].values: expected exactly the variables [precipitation, temp_max, temp_min, wind]",
                 "received [precipitation, temp_max, temp_min]; missing [wind]"});
  expect_stream_continues();
}

TEST_F(BadObservation, UnexpectedVariable) {
  expect_status(send(edited([](v1::Observation& o) { (*o.mutable_values())["humidity"] = 0.5; })),
                StatusCode::INVALID_ARGUMENT,
                {"observations[0].values: expected exactly the variables", "unexpected [humidity]"});
  expect_stream_continues();
}

TEST_F(BadObservation, TimestampNotAfterThePreviousOne) {
  const int64_t last = splice()[199].time;
  expect_status(send(edited([&](v1::Observation& o) { o.set_time(last); })), StatusCode::INVALID_ARGUMENT,
                {"observations[0].time: expected a time after the previous observation's (" + std::to_string(last) +
                     "; timestamps must increase), received " + std::to_string(last)});
  expect_status(send(edited([&](v1::Observation& o) { o.set_time(last - 86400); })), StatusCode::INVALID_ARGUMENT,
                {"observations[0].time", "received " + std::to_string(last - 86400)});
  expect_stream_continues();
}

TEST_F(BadObservation, OutOfOrderInsideABatchRejectsTheWholeBatch) {
  auto r = request(victim_, 200, 204);
  std::swap(*r.mutable_observations(2), *r.mutable_observations(3));
  expect_status(send(r), StatusCode::INVALID_ARGUMENT,
                {"observations[3].time: expected a time after the previous observation's (" +
                 std::to_string(splice()[203].time) + "; timestamps must increase), received " +
                 std::to_string(splice()[202].time)});
  expect_stream_continues();
}

TEST_F(BadObservation, EarlierMessagesOfTheCallStayAcknowledged) {
  auto call = ingest(*stub_, {request(victim_, 200, 203), request(victim_, 203, 205),
                              edited([](v1::Observation& o) { o.set_time(0); }), request(victim_, 205, 206)});
  ASSERT_EQ(call.replies.size(), 2u);
  EXPECT_EQ(call.replies[1].observations(), 205);
  expect_status(call.status, StatusCode::INVALID_ARGUMENT, {"observations[0].time", "received 0"});
  ingest_range(*stub_, twin_, 200, 205, 5);
  expect_stream_continues(205);
}

TEST_F(BadObservation, EmptyMessage) {
  v1::IngestRequest r;
  r.set_stream(victim_);
  expect_status(send(r), StatusCode::INVALID_ARGUMENT, {"observations: expected at least one observation, received 0"});
  expect_stream_continues();
}

TEST_F(BadObservation, MissingOrUnknownStreamName) {
  auto r = request(victim_, 200, 201);
  r.clear_stream();
  expect_status(send(r), StatusCode::INVALID_ARGUMENT, {"stream: expected a stream name, received \"\""});
  r.set_stream("no-such-stream");
  expect_status(send(r), StatusCode::NOT_FOUND, {"stream 'no-such-stream' not found"});
  expect_stream_continues();
}

// ---- configs and lookups ---------------------------------------------------------------------

TEST_F(NowcastTest, InvalidConfigsNameTheField) {
  struct Case {
    std::function<void(v1::NowcastStreamConfig&)> edit;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases{
      {[](auto& c) { c.set_name("../etc"); }, {"config.name: expected 1-128 characters of [A-Za-z0-9_.-]", "received '../etc'"}},
      {[](auto& c) { c.set_targets(0, "snow"); },
       {"config.targets[0]: expected one of the variables [precipitation, temp_max, temp_min, wind], received \"snow\""}},
      {[](auto& c) { c.clear_targets(); }, {"config.targets: expected at least one target variable, received []"}},
      {[](auto& c) { c.mutable_model()->set_kind("xgboost"); },
       {"config.model.kind: expected one of ridge, mlp, lstm, transformer, persistence, climatology, received \"xgboost\""}},
      {[](auto& c) { c.mutable_retrain()->set_trigger("sometimes"); }, {"config.retrain.trigger: expected one of none, periodic, performance, adwin, page_hinkley"}},
      {[](auto& c) { c.mutable_retrain()->set_tau(-1); }, {"config.retrain.tau: expected a number in [0, 1000000], received -1"}},
      {[](auto& c) { c.mutable_window()->set_rho(1.5); }, {"config.window.rho", "received 1.5"}},
      {[](auto& c) { c.mutable_window()->set_kind("tiny"); }, {"config.window.kind", "received \"tiny\""}},
      {[](auto& c) { c.mutable_retrain()->mutable_page_hinkley()->set_mode("sideways"); },
       {"config.retrain.page_hinkley.mode: expected one of up, down, both, received \"sideways\""}},
      {[](auto& c) { c.set_retrain_mode("eventually"); }, {"config.retrain_mode: expected one of background, synchronous"}},
      {[](auto& c) { c.add_horizons(2); c.add_horizons(1); }, {"config.horizons[1]: expected an integer > 2"}},
      {[](auto& c) { c.set_resolution_seconds(-5); }, {"config.resolution_seconds", "received -5"}},
  };
  for (const auto& k : cases) {
    auto c = stream_config("invalid", {"wind"});
    k.edit(c);
    expect_status(create(*stub_, c), StatusCode::INVALID_ARGUMENT, k.fragments);
  }
  EXPECT_FALSE(std::filesystem::exists(server_->data_dir() / "streams" / "invalid"));
}

TEST_F(NowcastTest, LookupsAndDuplicates) {
  ASSERT_TRUE(create(*stub_, stream_config("dup", {"wind"})).ok());
  expect_status(create(*stub_, stream_config("dup", {"wind"})), StatusCode::ALREADY_EXISTS, {"stream 'dup' already exists"});
  {
    v1::GetForecastRequest req;
    req.set_name("dup");
    v1::NowcastForecast f;
    grpc::ClientContext ctx;
    expect_status(stub_->GetForecast(with_deadline(&ctx), req, &f), StatusCode::FAILED_PRECONDITION,
                  {"stream 'dup' has no forecast yet"});
  }
  for (const char* rpc : {"get", "forecast", "delete"}) {
    grpc::ClientContext ctx;
    grpc::Status st;
    if (std::string(rpc) == "get") {
      v1::GetStreamRequest req;
      req.set_name("ghost");
      v1::NowcastStream r;
      st = stub_->GetStream(with_deadline(&ctx), req, &r);
    } else if (std::string(rpc) == "forecast") {
      v1::GetForecastRequest req;
      req.set_name("ghost");
      v1::NowcastForecast r;
      st = stub_->GetForecast(with_deadline(&ctx), req, &r);
    } else {
      v1::DeleteStreamRequest req;
      req.set_name("ghost");
      v1::DeleteStreamResponse r;
      st = stub_->DeleteStream(with_deadline(&ctx), req, &r);
    }
    expect_status(st, StatusCode::NOT_FOUND, {"stream 'ghost' not found"});
  }
}

TEST(NowcastLimits, MaxStreamsIsResourceExhausted) {
  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--max-streams", "2"});
  server.start();
  auto stub = v1::NowcastService::NewStub(server.channel());
  ASSERT_TRUE(create(*stub, stream_config("one", {"wind"})).ok());
  ASSERT_TRUE(create(*stub, stream_config("two", {"wind"})).ok());
  expect_status(create(*stub, stream_config("three", {"wind"})), StatusCode::RESOURCE_EXHAUSTED,
                {"cannot create stream 'three': 2 streams hosted, the limit is 2 (--max-streams)"});
  v1::DeleteStreamRequest del;
  del.set_name("one");
  v1::DeleteStreamResponse ok;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub->DeleteStream(with_deadline(&ctx), del, &ok).ok());
  EXPECT_TRUE(create(*stub, stream_config("three", {"wind"})).ok());
}

}  // namespace
}  // namespace attune::test

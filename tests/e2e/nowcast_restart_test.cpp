// A restarted server loses nothing a stream acknowledged, after SIGTERM (shutdown snapshot) and
// after SIGKILL (snapshot + replay of the observation log's tail):
//  - synchronous retraining: the restarted stream ends bit-for-bit where a stream that never
//    restarted ends (same forecasts, errors, fits and fit decisions);
//  - background retraining: the restarted stream is exactly where it was when the server died
//    (model swaps replay at the observations they happened at), and ingests the rest.
// CPU-seconds of fits are measured, not replayed, and are excluded from the comparisons.
#include <gtest/gtest.h>
#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "nowcast_client.h"

namespace attune::test {
namespace {

constexpr size_t kKillAfter = 1100;  // past the periodic snapshot at 1000: the log tail replays

class Restart : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_.path() / "data");
    server_->start();
    stub_ = v1::NowcastService::NewStub(server_->channel());
  }
  void restart() {
    server_->start();
    stub_ = v1::NowcastService::NewStub(server_->channel());
  }
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<NowcastStub> stub_;
};

TEST_F(Restart, SynchronousAfterSigtermEndsExactlyLikeAStreamThatNeverRestarted) {
  ASSERT_TRUE(create(*stub_, stream_config("restarted", {"temp_max", "wind"}, "synchronous")).ok());
  ASSERT_TRUE(create(*stub_, stream_config("straight", {"temp_max", "wind"}, "synchronous")).ok());
  ingest_range(*stub_, "straight", 0, splice().size(), 50);
  const auto straight = get_stream(*stub_, "straight");
  const auto straight_forecast = get_forecast(*stub_, "straight");

  ingest_range(*stub_, "restarted", 0, 700, 10);
  const auto before = get_stream(*stub_, "restarted");
  const auto before_forecast = get_forecast(*stub_, "restarted");
  EXPECT_EQ(server_->stop(SIGTERM), 0) << server_->log();
  restart();
  const auto after = get_stream(*stub_, "restarted");
  EXPECT_EQ(after.persistence().snapshot_observations(), 700);  // written at shutdown
  EXPECT_EQ(state(after), state(before));
  EXPECT_EQ(state(get_forecast(*stub_, "restarted")), state(before_forecast));

  ingest_range(*stub_, "restarted", 700, splice().size(), 1);
  EXPECT_EQ(state(get_stream(*stub_, "restarted")), state(straight));
  EXPECT_EQ(state(get_forecast(*stub_, "restarted")), state(straight_forecast));
  EXPECT_EQ(state(get_stream(*stub_, "straight")), state(straight));  // restored too
}

TEST_F(Restart, SynchronousAfterSigkillMidStreamKeepsEveryAcknowledgedObservation) {
  ASSERT_TRUE(create(*stub_, stream_config("restarted", {"temp_max", "wind"}, "synchronous")).ok());
  ASSERT_TRUE(create(*stub_, stream_config("straight", {"temp_max", "wind"}, "synchronous")).ok());
  ingest_range(*stub_, "straight", 0, splice().size(), 50);
  const auto straight = get_stream(*stub_, "straight");
  const auto straight_forecast = get_forecast(*stub_, "straight");

  // Messages of 10 observations stream in while replies come back (at most 5 messages ahead);
  // the server is killed as soon as kKillAfter observations are acknowledged.
  constexpr size_t kBatch = 10, kWindow = 5;
  std::mutex m;
  std::condition_variable cv;
  size_t written = 0, acknowledged = 0;
  bool dead = false;
  grpc::ClientContext ctx;
  auto call = stub_->Ingest(&ctx);
  std::thread writer([&] {
    for (size_t i = 0; i < splice().size(); i += kBatch) {
      {
        std::unique_lock<std::mutex> l(m);
        cv.wait(l, [&] { return dead || written < acknowledged + kWindow * kBatch; });
        if (dead) break;
        written = std::min(splice().size(), i + kBatch);
      }
      if (!call->Write(request("restarted", i, std::min(splice().size(), i + kBatch)))) break;
    }
    call->WritesDone();
  });
  v1::IngestResponse reply;
  while (call->Read(&reply)) {
    std::lock_guard<std::mutex> l(m);
    acknowledged = static_cast<size_t>(reply.observations());
    cv.notify_all();
    if (acknowledged >= kKillAfter) break;
  }
  EXPECT_EQ(server_->stop(SIGKILL), -SIGKILL);
  {
    std::lock_guard<std::mutex> l(m);
    dead = true;
  }
  cv.notify_all();
  writer.join();
  EXPECT_FALSE(call->Finish().ok());
  ASSERT_GE(acknowledged, kKillAfter);

  restart();
  const auto after = get_stream(*stub_, "restarted");
  const auto n = static_cast<size_t>(after.observations());
  EXPECT_GE(n, acknowledged);  // messages in flight may have been made durable too
  EXPECT_LE(n, written);
  EXPECT_EQ(after.last_time(), splice()[n - 1].time);
  EXPECT_EQ(after.persistence().durable_observations(), static_cast<int64_t>(n));
  EXPECT_GE(after.persistence().snapshot_observations(), 1000);

  ingest_range(*stub_, "restarted", n, splice().size(), 7);
  EXPECT_EQ(state(get_stream(*stub_, "restarted")), state(straight));
  EXPECT_EQ(state(get_forecast(*stub_, "restarted")), state(straight_forecast));
}

class BackgroundRestart : public Restart, public ::testing::WithParamInterface<int> {};

TEST_P(BackgroundRestart, ResumesExactlyWhereItWasAndIngestsTheRest) {
  const int sig = GetParam();
  ASSERT_TRUE(create(*stub_, stream_config("bg", {"temp_max", "temp_min", "wind"})).ok());
  ingest_range(*stub_, "bg", 0, kKillAfter, 10);
  const auto before = get_stream(*stub_, "bg");
  const auto before_forecast = get_forecast(*stub_, "bg");
  ASSERT_GE(before.fits(), 3);
  const int rc = server_->stop(sig);
  if (sig == SIGTERM) EXPECT_EQ(rc, 0) << server_->log();
  else EXPECT_EQ(rc, -SIGKILL);

  restart();
  const auto after = get_stream(*stub_, "bg");
  EXPECT_EQ(state(after), state(before));
  EXPECT_EQ(state(get_forecast(*stub_, "bg")), state(before_forecast));
  EXPECT_EQ(after.persistence().durable_observations(), static_cast<int64_t>(kKillAfter));
  // SIGTERM snapshots at shutdown; after SIGKILL the periodic snapshot at 1000 plus the log
  // tail brought it back (and the restart snapshotted the result).
  EXPECT_EQ(after.persistence().snapshot_observations(), static_cast<int64_t>(kKillAfter));
  if (sig == SIGKILL)
    EXPECT_NE(server_->log().find("stream bg: replayed 100 observations after the snapshot at 1000"),
              std::string::npos) << server_->log();

  const auto replies = ingest_range(*stub_, "bg", kKillAfter, splice().size(), 1);
  const auto end = get_stream(*stub_, "bg");
  EXPECT_EQ(end.observations(), static_cast<int64_t>(splice().size()));
  EXPECT_GE(end.fits(), before.fits());
  EXPECT_EQ(replies.back().results(0).forecast().step(), static_cast<int64_t>(splice().size()) - 1);
  for (const auto& h : end.horizons()) EXPECT_GT(h.count(), 1000);
}

INSTANTIATE_TEST_SUITE_P(Signals, BackgroundRestart, ::testing::Values(SIGTERM, SIGKILL),
                         [](const auto& info) { return info.param == SIGTERM ? "Sigterm" : "Sigkill"; });

}  // namespace
}  // namespace attune::test

// A hosted stream survives a crash: whatever was acknowledged is restored from the snapshot and
// the log tail, and the restored stream continues exactly as one that never stopped, in
// synchronous mode and in background mode (where the swap records pin each model swap to the
// step it happened at).
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "stream_test_util.h"
#include "streams/observation_log.h"

namespace attune::streams::testing {
namespace {

namespace fs = std::filesystem;
using nowcast::RetrainMode;

constexpr size_t kCrash = 880;

std::unique_ptr<HostedStream> open(const fs::path& dir, FitPool& pool, int64_t snapshot_every) {
  return std::make_unique<HostedStream>(dir, HostedStream::Options{&pool, snapshot_every});
}

void ingest_batches(HostedStream& s, size_t from, size_t to, size_t batch) {
  for (size_t i = from; i < to; i += batch) {
    const size_t n = std::min(batch, to - i);
    s.ingest({splice().begin() + static_cast<long>(i), splice().begin() + static_cast<long>(i + n)});
  }
}

TEST(HostedStream, SynchronousCrashAndReopenEqualsTheLibraryRunningStraight) {
  TempDir tmp;
  FitPool pool(1);
  const auto config = splice_config("sync");
  const auto dir = make_stream_dir(tmp.path(), config, RetrainMode::synchronous);
  auto s = open(dir, pool, 300);
  ingest_batches(*s, 0, kCrash, 7);  // snapshots at 301, 602; the log tail holds the rest
  EXPECT_EQ(s->persistence().snapshot_observations, 602);
  const std::string before = state_of(*s);
  s.reset();  // a crash: no shutdown snapshot

  s = open(dir, pool, 300);
  EXPECT_EQ(state_of(*s), before);
  EXPECT_EQ(s->persistence().durable_observations, static_cast<int64_t>(kCrash));
  ingest_batches(*s, kCrash, splice().size(), 1);

  nowcast::Nowcaster straight(config);
  for (const auto& o : splice()) straight.ingest(o);
  const auto a = s->latest_forecast(), b = straight.latest_forecast();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->step, b->step);
  for (size_t k = 0; k < a->horizons.size(); ++k) EXPECT_EQ(a->horizons[k].values, b->horizons[k].values);
  const auto fa = s->fit_log(), fb = straight.fit_log();
  ASSERT_EQ(fa.size(), fb.size());
  for (size_t i = 0; i < fa.size(); ++i) EXPECT_EQ(fit_line(fa[i]), fit_line(fb[i]));
  const auto sa = s->status(), sb = straight.status();
  for (size_t i = 0; i < sa.horizons.size(); ++i) {
    EXPECT_EQ(sa.horizons[i].mae, sb.horizons[i].mae);
    EXPECT_EQ(sa.horizons[i].rmse, sb.horizons[i].rmse);
  }
}

// The swap schedule: fit k goes live kDelays[k % n] + 1 observations after it fired.
const std::vector<int64_t> kDelays{0, 3, 1, 9, 2, 5};

TEST(HostedStream, BackgroundCrashWithAFitInFlightReopensToTheSameState) {
  TempDir tmp;
  FitPool pool(1);
  const auto dir = make_stream_dir(tmp.path(), splice_config("bg"), RetrainMode::background);
  auto s = open(dir, pool, 300);
  Schedule schedule(pool, {0, 3, 1, 40});  // the fourth fit is still held at the crash
  size_t i = 0;
  for (; i < splice().size() && !(schedule.fit_held() && s->fit_log().size() >= 3); ++i)
    schedule.run(*s, i, i + 1);
  ASSERT_TRUE(schedule.fit_held());
  const std::string before = state_of(*s);
  ASSERT_NE(before.find("pending 1"), std::string::npos);
  s.reset();
  schedule.drain();  // lets the crashed stream's fit end; the pool must be free for replay

  s = open(dir, pool, 300);
  EXPECT_EQ(state_of(*s), before);
}

TEST(HostedStream, BackgroundCrashAndReopenContinuesLikeAStreamThatNeverStopped) {
  TempDir tmp;
  FitPool pool_a(1), pool_b(1);
  const auto dir_a = make_stream_dir(tmp.path(), splice_config("a"), RetrainMode::background);
  const auto dir_b = make_stream_dir(tmp.path(), splice_config("b"), RetrainMode::background);
  auto a = open(dir_a, pool_a, 300);
  auto b = open(dir_b, pool_b, 300);
  Schedule sa(pool_a, kDelays), sb(pool_b, kDelays);
  size_t crash = kCrash;
  sa.run(*a, 0, crash);
  while (sa.fit_held()) sa.run(*a, crash, crash + 1), ++crash;
  // The tail after the snapshot at 600 holds delayed swaps (the change at 731 fires retrains).
  int delayed_in_tail = 0;
  for (const auto& f : a->fit_log()) delayed_in_tail += f.fire_step > 600 && f.swap_step > f.fire_step + 1;
  EXPECT_GT(delayed_in_tail, 0);
  const std::string before = state_of(*a);
  a.reset();
  sa.drain();
  a = open(dir_a, pool_a, 300);
  EXPECT_EQ(state_of(*a), before);
  sa.block();
  sa.run(*a, crash, splice().size());

  sb.run(*b, 0, splice().size());
  EXPECT_EQ(state_of(*a), state_of(*b));
}

TEST(HostedStream, ASnapshotTakenWithAFitInFlightRefitsItAndSwapsItOnSchedule) {
  TempDir tmp;
  FitPool pool_a(1), pool_b(1);
  const auto dir_a = make_stream_dir(tmp.path(), splice_config("a"), RetrainMode::background);
  const auto dir_b = make_stream_dir(tmp.path(), splice_config("b"), RetrainMode::background);
  auto a = open(dir_a, pool_a, 1);  // a snapshot after every message: the log tail is empty
  auto b = open(dir_b, pool_b, 100000);
  Schedule sa(pool_a, kDelays), sb(pool_b, kDelays);
  size_t crash = 0;
  for (; crash < splice().size() && !(sa.fit_held() && a->fit_log().size() >= 2); ++crash)
    sa.run(*a, crash, crash + 1);
  ASSERT_TRUE(sa.fit_held());
  EXPECT_EQ(a->persistence().snapshot_observations, static_cast<int64_t>(crash));
  const std::string before = state_of(*a);
  a.reset();
  sa.drain();
  sa.block();  // the refit from the snapshot waits for its turn like the original did
  a = open(dir_a, pool_a, 100000);
  EXPECT_EQ(state_of(*a), before);
  sa.run(*a, crash, splice().size());
  sb.run(*b, 0, splice().size());
  EXPECT_EQ(state_of(*a), state_of(*b));
}

TEST(HostedStream, BadObservationsChangeNeitherTheLogNorTheState) {
  TempDir tmp;
  FitPool pool(1);
  const auto dir = make_stream_dir(tmp.path(), splice_config("bad"), RetrainMode::background);
  auto s = open(dir, pool, 1000);
  ingest_batches(*s, 0, 200, 10);
  const std::string before = state_of(*s);
  const auto bytes = s->persistence().log_bytes;

  auto nan = splice()[200];
  nan.values["wind"] = std::numeric_limits<double>::quiet_NaN();
  auto missing = splice()[200];
  missing.values.erase("wind");
  auto late = splice()[200];
  late.time = splice()[199].time;
  const std::vector<std::pair<std::vector<nowcast::Observation>, std::string>> cases{
      {{nan}, "observations[0].values[\"wind\"]: expected a finite number, received nan"},
      {{missing}, "observations[0].values: expected exactly the variables"},
      {{late}, "observations[0].time: expected a time after the previous observation's"},
      {{splice()[200], splice()[202], splice()[201]}, "observations[2].time"},
      {{}, "observations: expected at least one observation, received 0"},
  };
  for (const auto& [batch, message] : cases) {
    try {
      s->ingest(batch);
      ADD_FAILURE() << "accepted: " << message;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
    EXPECT_EQ(s->persistence().log_bytes, bytes);
    EXPECT_EQ(state_of(*s), before);
  }
  s->ingest({splice()[200]});
  EXPECT_EQ(s->status().observations, 201);
  s.reset();
  s = open(dir, pool, 1000);
  EXPECT_EQ(s->status().observations, 201);
}

TEST(HostedStream, ATornLogTailIsDiscardedAndADamagedSnapshotFallsBackToTheLog) {
  TempDir tmp;
  FitPool pool(1);
  const auto dir = make_stream_dir(tmp.path(), splice_config("torn"), RetrainMode::synchronous);
  auto s = open(dir, pool, 100);
  ingest_batches(*s, 0, 450, 9);
  const std::string before = state_of(*s);
  const auto bytes = s->persistence().log_bytes;
  s.reset();
  {
    // Half of an unacknowledged record: length and CRC present, payload cut short.
    std::ofstream log(dir / "observations.log", std::ios::binary | std::ios::app);
    const char partial[] = {41, 0, 0, 0, 1, 2, 3, 4, 1, 9, 9};
    log.write(partial, sizeof partial);
  }
  s = open(dir, pool, 100);
  EXPECT_EQ(state_of(*s), before);
  EXPECT_EQ(s->persistence().log_bytes, bytes);
  EXPECT_EQ(fs::file_size(dir / "observations.log"), bytes);
  s.reset();

  {
    std::fstream snap(dir / "snapshot.bin", std::ios::binary | std::ios::in | std::ios::out);
    snap.seekp(100);
    snap.write("garbage", 7);
  }
  s = open(dir, pool, 100);
  EXPECT_EQ(state_of(*s), before);  // replayed from the first observation
  s->ingest({splice()[450]});
  EXPECT_EQ(s->status().observations, 451);
}

TEST(HostedStream, CloseAndRetireRefuseFurtherObservations) {
  TempDir tmp;
  FitPool pool(1);
  const auto dir = make_stream_dir(tmp.path(), splice_config("closing"), RetrainMode::background);
  auto s = open(dir, pool, 1000);
  ingest_batches(*s, 0, 50, 50);
  s->checkpoint_and_close();
  EXPECT_EQ(s->persistence().snapshot_observations, 50);
  try {
    s->ingest({splice()[50]});
    ADD_FAILURE() << "ingest after close";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kUnavailable);
  }
  auto t = open(dir, pool, 1000);
  t->retire();
  try {
    t->ingest({splice()[50]});
    ADD_FAILURE() << "ingest after retire";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kNotFound);
  }
}

}  // namespace
}  // namespace attune::streams::testing

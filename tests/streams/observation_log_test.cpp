// The observation log keeps every synced record and loses at most the torn tail of a crash,
// wherever the crash cut the last write.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "core/storage.h"
#include "stream_test_util.h"
#include "streams/data_loss.h"
#include "streams/observation_log.h"

namespace attune::streams::testing {
namespace {

namespace fs = std::filesystem;

std::vector<LogRecord> write_three(const fs::path& p, std::vector<uint64_t>* ends) {
  ObservationLog::create(p, 2);
  ObservationLog log(p, 2);
  EXPECT_TRUE(log.recover(0).empty());
  log.append_observations({100, 200}, {{1.5, -2.0}, {3.25, 4.0}});
  ends->push_back(log.end());
  log.append_swaps({1});
  ends->push_back(log.end());
  log.append_observations({300}, {{5.0, 6.0}});
  ends->push_back(log.end());
  log.sync();
  return ObservationLog(p, 2).recover(0);
}

TEST(ObservationLog, RoundTripsObservationsAndSwapRecords) {
  TempDir tmp;
  std::vector<uint64_t> ends;
  const auto r = write_three(tmp.path() / "log", &ends);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].kind, LogRecord::Kind::observation);
  EXPECT_EQ(r[0].time, 100);
  EXPECT_EQ(r[0].values, (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(r[1].values, (std::vector<double>{3.25, 4.0}));
  EXPECT_EQ(r[2].kind, LogRecord::Kind::swap);
  EXPECT_EQ(r[2].step, 1);
  EXPECT_EQ(r[3].time, 300);
  EXPECT_EQ(fs::file_size(tmp.path() / "log"), ends.back());
}

TEST(ObservationLog, ACrashCutAnywhereInTheLastRecordLosesOnlyThatRecord) {
  TempDir tmp;
  std::vector<uint64_t> ends;
  const auto p = tmp.path() / "log";
  write_three(p, &ends);
  const auto full = read_file(p);
  for (uint64_t cut = ends[1] + 1; cut < ends[2]; ++cut) {
    const auto q = tmp.path() / ("cut" + std::to_string(cut));
    { std::ofstream(q, std::ios::binary).write(full.data(), static_cast<std::streamsize>(cut)); }
    ObservationLog log(q, 2);
    const auto r = log.recover(0);
    ASSERT_EQ(r.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(log.end(), ends[1]);
    EXPECT_EQ(fs::file_size(q), ends[1]);
    // Appending continues right after the last good record.
    log.append_observations({400}, {{7.0, 8.0}});
    log.sync();
    const auto again = ObservationLog(q, 2).recover(0);
    ASSERT_EQ(again.size(), 4u);
    EXPECT_EQ(again.back().time, 400);
  }
}

TEST(ObservationLog, ACorruptOrZeroFilledTailIsDiscarded) {
  TempDir tmp;
  std::vector<uint64_t> ends;
  const auto p = tmp.path() / "log";
  write_three(p, &ends);
  {
    std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(ends[2] - 3));
    f.put('\x7f');  // a flipped byte in the last record's payload: its CRC no longer matches
  }
  EXPECT_EQ(ObservationLog(p, 2).recover(0).size(), 3u);
  EXPECT_EQ(fs::file_size(p), ends[1]);
  {
    std::ofstream f(p, std::ios::binary | std::ios::app);
    const std::string zeros(4096, '\0');  // blocks allocated but never written before a power cut
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  EXPECT_EQ(ObservationLog(p, 2).recover(0).size(), 3u);
  EXPECT_EQ(fs::file_size(p), ends[1]);
}

TEST(ObservationLog, RecoversFromASnapshotOffsetAndRefusesALogShorterThanIt) {
  TempDir tmp;
  std::vector<uint64_t> ends;
  const auto p = tmp.path() / "log";
  write_three(p, &ends);
  const auto tail = ObservationLog(p, 2).recover(ends[0]);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].kind, LogRecord::Kind::swap);
  EXPECT_EQ(tail[1].time, 300);
  EXPECT_THROW(ObservationLog(p, 2).recover(ends[2] + 1), StreamDataLoss);
  EXPECT_THROW(ObservationLog(p, 3).recover(0), StreamDataLoss);  // header says 2 variables
  EXPECT_THROW(ObservationLog(tmp.path() / "missing", 2), StreamDataLoss);
}

TEST(ObservationLog, TruncateRollsBackUnsyncedAppends) {
  TempDir tmp;
  const auto p = tmp.path() / "log";
  ObservationLog::create(p, 1);
  ObservationLog log(p, 1);
  log.recover(0);
  log.append_observations({1}, {{1.0}});
  log.sync();
  const auto before = log.end();
  log.append_observations({2, 3}, {{2.0}, {3.0}});
  log.truncate(before);
  log.append_observations({4}, {{4.0}});
  log.sync();
  const auto r = ObservationLog(p, 1).recover(0);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].time, 4);
}

}  // namespace
}  // namespace attune::streams::testing

// The stream registry: names, limits, atomic create/delete on disk, damaged streams, metric
// series that come and go with their stream, shutdown.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <fstream>

#include "core/error.h"
#include "metrics/registry.h"
#include "stream_test_util.h"
#include "streams/data_loss.h"
#include "streams/stream_store.h"

namespace attune::streams::testing {
namespace {

namespace fs = std::filesystem;
using nowcast::RetrainMode;

StoreOptions options(const fs::path& dir, int max_streams = 3) {
  StoreOptions o;
  o.dir = dir / "streams";
  o.max_streams = max_streams;
  o.fit_workers = 1;
  o.snapshot_every = 100;
  return o;
}

template <class F>
Code code_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no attune::Error thrown";
  return Code::kInternal;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string scrape() {
  return prometheus::TextSerializer().Serialize(metrics::registry().Collect());
}

TEST(StreamStore, CreateListDeleteWithLimitsAndNoLeftovers) {
  TempDir tmp;
  StreamStore store(options(tmp.path(), 2));
  store.restore();
  store.create(splice_config("a"), RetrainMode::background);
  EXPECT_EQ(code_of([&] { store.create(splice_config("a"), RetrainMode::background); }), Code::kAlreadyExists);
  EXPECT_EQ(code_of([&] { store.create(splice_config(".hidden"), RetrainMode::background); }),
            Code::kInvalidArgument);
  store.create(splice_config("b"), RetrainMode::synchronous);
  EXPECT_EQ(code_of([&] { store.create(splice_config("c"), RetrainMode::background); }),
            Code::kResourceExhausted);
  EXPECT_EQ(entries(tmp.path() / "streams"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(entries(tmp.path() / "streams" / "a"), (std::vector<std::string>{"config.json", "observations.log"}));

  store.get("a")->ingest({splice()[0], splice()[1]});
  ASSERT_EQ(store.list().size(), 2u);
  EXPECT_EQ(store.list()[0].name, "a");
  store.remove("a");
  EXPECT_EQ(code_of([&] { store.get("a"); }), Code::kNotFound);
  EXPECT_EQ(code_of([&] { store.remove("a"); }), Code::kNotFound);
  EXPECT_EQ(entries(tmp.path() / "streams"), (std::vector<std::string>{"b"}));
  const auto again = store.create(splice_config("a"), RetrainMode::background);
  EXPECT_EQ(again->status().observations, 0);
}

TEST(StreamStore, RestoreRemovesInterruptedCreatesAndDeletesAndKeepsDamagedStreams) {
  TempDir tmp;
  {
    StreamStore store(options(tmp.path()));
    store.restore();
    store.create(splice_config("good"), RetrainMode::synchronous)->ingest({splice()[0], splice()[1], splice()[2]});
    store.create(splice_config("bad"), RetrainMode::synchronous);
  }
  const auto root = tmp.path() / "streams";
  fs::create_directories(root / ".creating-x");
  fs::create_directories(root / ".deleting-y");
  { std::ofstream(root / "bad" / "config.json") << "{ torn"; }

  StreamStore store(options(tmp.path()));
  store.restore();
  EXPECT_EQ(entries(root), (std::vector<std::string>{"bad", "good"}));
  EXPECT_EQ(store.get("good")->status().observations, 3);
  EXPECT_THROW(store.get("bad"), StreamDataLoss);
  const auto list = store.list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "bad");
  EXPECT_NE(list[0].error.find("config.json"), std::string::npos) << list[0].error;
  EXPECT_EQ(code_of([&] { store.create(splice_config("bad"), RetrainMode::background); }), Code::kAlreadyExists);
  store.remove("bad");
  EXPECT_EQ(entries(root), (std::vector<std::string>{"good"}));
}

TEST(StreamStore, MetricSeriesLiveAndDieWithTheirStream) {
  TempDir tmp;
  StreamStore store(options(tmp.path()));
  store.restore();
  auto s = store.create(splice_config("metered"), RetrainMode::synchronous);
  s->ingest({splice().begin(), splice().begin() + 400});
  const std::string text = scrape();
  EXPECT_NE(text.find("attune_nowcast_observations_total{stream=\"metered\"} 400"), std::string::npos) << text;
  EXPECT_NE(text.find("attune_nowcast_abs_error_count{horizon=\"3\",stream=\"metered\",target=\"wind\"}"),
            std::string::npos);
  EXPECT_NE(text.find("attune_drift_threshold{detector=\"performance\",stream=\"metered\"} 2"), std::string::npos);
  EXPECT_NE(text.find("attune_retrain_total{stream=\"metered\",trigger=\"initial\"} 1"), std::string::npos);
  EXPECT_NE(text.find("attune_nowcast_window_samples{stream=\"metered\"}"), std::string::npos);
  store.remove("metered");
  EXPECT_EQ(scrape().find("stream=\"metered\""), std::string::npos);
}

TEST(StreamStore, ShutdownSnapshotsEveryStreamAndRefusesIngest) {
  TempDir tmp;
  StreamStore store(options(tmp.path()));
  store.restore();
  auto s = store.create(splice_config("s"), RetrainMode::background);
  s->ingest({splice().begin(), splice().begin() + 50});
  EXPECT_EQ(s->persistence().snapshot_observations, 0);  // below snapshot_every
  store.shutdown();
  EXPECT_EQ(s->persistence().snapshot_observations, 50);
  EXPECT_EQ(code_of([&] { s->ingest({splice()[50]}); }), Code::kUnavailable);
  EXPECT_EQ(code_of([&] { store.create(splice_config("t"), RetrainMode::background); }), Code::kUnavailable);
}

}  // namespace
}  // namespace attune::streams::testing

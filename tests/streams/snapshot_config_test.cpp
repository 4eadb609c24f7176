// Snapshot files detect damage; config.json stores every field and reads back the same config.
#include <gtest/gtest.h>

#include <fstream>

#include "core/storage.h"
#include "stream_test_util.h"
#include "streams/config_json.h"
#include "streams/data_loss.h"
#include "streams/snapshot_file.h"

namespace attune::streams::testing {
namespace {

TEST(SnapshotFile, RoundTripsAndDetectsDamage) {
  TempDir tmp;
  const auto p = tmp.path() / "snapshot.bin";
  EXPECT_FALSE(read_snapshot(p).has_value());
  write_snapshot_file(p, {1234, 56, std::string("engine\0state", 12)});
  const auto s = read_snapshot(p);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->log_offset, 1234u);
  EXPECT_EQ(s->observations, 56);
  EXPECT_EQ(s->body, std::string("engine\0state", 12));
  {
    std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(-1, std::ios::end);
    f.put('X');
  }
  EXPECT_THROW(read_snapshot(p), StreamDataLoss);
  atomic_write(p, "not a snapshot");
  EXPECT_THROW(read_snapshot(p), StreamDataLoss);
}

TEST(ConfigJson, EveryFieldRoundTrips) {
  auto c = nowcast::make_stream_config("hourly", {"t", "w", "p"}, {"w", "t"}, 3600);
  c.lags = 4;
  c.horizons = {1, 3, 6};
  c.calendar_features = false;
  c.model.kind = nowcast::ModelKind::transformer;
  c.model.hidden = 32;
  c.model.heads = 8;
  c.model.dropout = 0.1;
  c.model.lr = 3e-4;
  c.model.seed = 18446744073709551615ull;
  c.window.kind = nowcast::WindowKind::variance_horizon_plateau;
  c.window.n_min = 200;
  c.window.rho = 0.85;
  c.window.recency_weight_factor = 0.9;
  c.retrain.trigger = nowcast::TriggerKind::page_hinkley;
  c.retrain.tau = 0.25;
  c.retrain.page_hinkley.mode = nowcast::PageHinkleyMode::up;
  c.retrain.page_hinkley.threshold = 7.5;
  c.retrain.adwin.delta = 0.01;
  const StoredConfig s{c, nowcast::RetrainMode::synchronous, 1700000000.25};
  const auto back = from_json(to_json(s));
  EXPECT_EQ(nowcast::describe(back.config), nowcast::describe(c));
  EXPECT_EQ(back.mode, nowcast::RetrainMode::synchronous);
  EXPECT_EQ(back.created_unix_seconds, 1700000000.25);
}

TEST(ConfigJson, DamageIsDataLoss) {
  EXPECT_THROW(from_json("{"), StreamDataLoss);
  EXPECT_THROW(from_json("{\"format\": 1}"), StreamDataLoss);
  auto text = to_json({splice_config("x"), nowcast::RetrainMode::background, 0});
  text.replace(text.find("\"ridge\""), 7, "\"xgb\"");
  EXPECT_THROW(from_json(text), StreamDataLoss);
}

}  // namespace
}  // namespace attune::streams::testing

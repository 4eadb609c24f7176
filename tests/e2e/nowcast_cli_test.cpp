// `attune nowcast` against a live server, on the vendored NOAA CSV: create, ingest with a filter
// (progress, retrain events, the error table), status/forecast/list tables and --json, resuming,
// bad rows, export and delete.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "nowcast_client.h"

namespace attune::test {
namespace {

class NowcastCli : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_.path() / "data");
    server_->start();
  }
  int cli(const std::string& args, std::string* out) {
    return run_command((binary_dir() / "client/cli/attune").string() + " --server " + server_->address() +
                           " nowcast " + args + " 2>&1",
                       out);
  }
  static std::string weather() { return (source_dir() / "tests/fixtures/noaa/weather.csv").string(); }
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

bool contains(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST_F(NowcastCli, CreateIngestStatusForecastListExportDelete) {
  std::string out;
  ASSERT_EQ(cli("create seattle --variables precipitation,temp_max,temp_min,wind --targets temp_max,wind "
                "--resolution 1d --horizons 1,2,3 --tau 1.0",
                &out), 0) << out;
  EXPECT_TRUE(contains(out, "created stream seattle  (ridge, performance retraining, fixed window, background)")) << out;

  ASSERT_EQ(cli("ingest seattle " + weather() + " --where location=Seattle --time-column date --batch 16", &out), 0)
      << out;
  EXPECT_TRUE(contains(out, "ingest seattle [")) << out;  // the progress bar (stderr is not a tty: every 10%)
  EXPECT_TRUE(contains(out, "retrain started (initial")) << out;
  EXPECT_TRUE(contains(out, "model v1 live (initial fired at step")) << out;
  EXPECT_TRUE(contains(out, "ingested 1461 observations into seattle (1461 in total)")) << out;
  EXPECT_TRUE(contains(out, "TARGET    H  N     MAE")) << out;
  EXPECT_TRUE(contains(out, "\nwind      3  ")) << out;

  // The same numbers over gRPC.
  auto stub = v1::NowcastService::NewStub(server_->channel());
  const auto s = get_stream(*stub, "seattle");
  EXPECT_EQ(s.observations(), 1461);
  EXPECT_EQ(s.last_time(), nowcast::parse_utc("2015-12-31"));

  ASSERT_EQ(cli("status seattle", &out), 0) << out;
  EXPECT_TRUE(contains(out, "observations 1461 (last 2015-12-31)")) << out;
  EXPECT_TRUE(contains(out, "recent fits")) << out;
  EXPECT_TRUE(contains(out, "VERSION  TRIGGER")) << out;
  ASSERT_EQ(cli("status seattle --json", &out), 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["observations"], "1461");
  EXPECT_EQ(j["config"]["targets"], (std::vector<std::string>{"temp_max", "wind"}));
  EXPECT_EQ(j["horizons"].size(), 6u);
  EXPECT_EQ(std::stoll(j["horizons"][0]["count"].get<std::string>()), s.horizons(0).count());

  ASSERT_EQ(cli("forecast seattle", &out), 0) << out;
  EXPECT_TRUE(contains(out, "forecast of seattle issued at 2015-12-31 (step 1460, model v")) << out;
  EXPECT_TRUE(contains(out, "1        2016-01-01")) << out;
  ASSERT_EQ(cli("forecast seattle --json", &out), 0) << out;
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j["horizons"][2]["valid_time"], std::to_string(nowcast::parse_utc("2016-01-03")));

  // Ingesting the file again with --resume sends nothing; without it the first row is refused.
  ASSERT_EQ(cli("ingest seattle " + weather() + " --where location=Seattle --resume --quiet", &out), 0) << out;
  EXPECT_TRUE(contains(out, "ingested 0 observations")) << out;
  EXPECT_EQ(cli("ingest seattle " + weather() + " --where location=Seattle --quiet", &out), 1);
  EXPECT_TRUE(contains(out, "INVALID_ARGUMENT: observations[0].time: expected a time after the previous")) << out;
  EXPECT_TRUE(contains(out, "weather.csv:2: rejected")) << out;

  ASSERT_EQ(cli("list", &out), 0) << out;
  EXPECT_TRUE(contains(out, "seattle  ridge  performance  1461")) << out;

  const auto file = dir_.path() / "seattle.pt";
  ASSERT_EQ(cli("export seattle --out " + file.string(), &out), 0) << out;
  EXPECT_TRUE(contains(out, "attune.nowcast.snapshot.v1, ridge model v")) << out;
  EXPECT_GT(std::filesystem::file_size(file), 1000u);

  ASSERT_EQ(cli("delete seattle", &out), 0) << out;
  EXPECT_TRUE(contains(out, "deleted stream seattle")) << out;
  ASSERT_EQ(cli("list --json", &out), 0) << out;
  EXPECT_FALSE(contains(out, "seattle")) << out;
}

TEST_F(NowcastCli, BadRowsStopTheIngestOrAreSkipped) {
  // New York's first 40 days, with a non-numeric wind on day 21 (file line 22).
  const auto csv = dir_.path() / "bad.csv";
  {
    std::ifstream in(weather());
    std::ofstream o(csv);
    std::string line;
    std::getline(in, line);
    o << line << "\n";
    int kept = 0;
    while (std::getline(in, line) && kept < 40) {
      if (line.rfind("New York,", 0) != 0) continue;
      if (++kept == 21) line = "New York,2012-01-21,0.0,1.0,-3.0,calm,sun";
      o << line << "\n";
    }
  }
  std::string out;
  ASSERT_EQ(cli("create ny --variables precipitation,temp_max,temp_min,wind --targets wind --synchronous", &out), 0)
      << out;
  EXPECT_EQ(cli("ingest ny " + csv.string() + " --where \"location=New York\" --batch 8", &out), 1);
  EXPECT_TRUE(contains(out, "INVALID_ARGUMENT: observations[4].values[\"wind\"]: expected a finite number, received nan"))
      << out;
  EXPECT_TRUE(contains(out, "bad.csv:22: rejected")) << out;
  EXPECT_TRUE(contains(out, "16 observations acknowledged before the error")) << out;

  ASSERT_EQ(cli("ingest ny " + csv.string() + " --where \"location=New York\" --batch 8 --resume --skip-invalid --json",
                &out), 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["ingested"], 23);
  ASSERT_EQ(j["skipped"].size(), 1u);
  EXPECT_EQ(j["skipped"][0]["line"], 22);
  EXPECT_EQ(j["status"]["observations"], "39");
}

}  // namespace
}  // namespace attune::test

// Library-level version of the end-to-end drift test (issue 6): on the real NOAA
// Seattle→New York splice (change at index 731), performance-based retraining with the default
// policy fires within 14 steps of the change.
#include <gtest/gtest.h>

#include "nowcast/drift_eval.h"
#include "nowcast/nowcaster.h"
#include "nowcast/weather_csv.h"

namespace attune::nowcast {
namespace {

const std::string kWeather = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/noaa/weather.csv";

TEST(NoaaFixture, VendoredFilesHaveTheExpectedShape) {
  const auto days = read_weather_csv(kWeather);
  EXPECT_EQ(days.size(), 2922u);
  EXPECT_EQ(days.front().location, "Seattle");
  EXPECT_EQ(days.front().time, parse_utc("2012-01-01"));
  EXPECT_DOUBLE_EQ(days.front().temp_max, 12.8);
  EXPECT_DOUBLE_EQ(days.front().wind, 4.7);
  const auto splice = seattle_new_york_splice(days);
  ASSERT_EQ(splice.size(), 1461u);
  EXPECT_EQ(splice[kSpliceChangePoint - 1].time, parse_utc("2013-12-31"));
  EXPECT_EQ(splice[kSpliceChangePoint].time, parse_utc("2014-01-01"));
  for (size_t i = 1; i < splice.size(); ++i) ASSERT_EQ(splice[i].time - splice[i - 1].time, 86400);
  // The same change on the other years: Seattle 2014–2015, then New York 2012–2013 four years
  // later, day after day, each day on its own date's year phase (2012 and 2016 are leap years).
  const auto other = seattle_new_york_splice_other_years(days);
  ASSERT_EQ(other.size(), 1461u);
  EXPECT_EQ(other.front().time, parse_utc("2014-01-01"));
  EXPECT_EQ(other[kOtherYearsChangePoint - 1].time, parse_utc("2015-12-31"));
  EXPECT_EQ(other[kOtherYearsChangePoint].time, parse_utc("2016-01-01"));
  EXPECT_EQ(other.back().time, parse_utc("2017-12-31"));
  for (size_t i = 1; i < other.size(); ++i) ASSERT_EQ(other[i].time - other[i - 1].time, 86400);
  const auto ny = weather_observations(days, "New York", "2012-01-01", "2012-01-01");
  ASSERT_EQ(ny.size(), 1u);
  EXPECT_EQ(other[kOtherYearsChangePoint].values, ny.front().values);
  const auto normals = read_hourly_normals(std::string(ATTUNE_SOURCE_DIR) +
                                           "/tests/fixtures/noaa/seattle-weather-hourly-normals.csv");
  EXPECT_EQ(normals.size(), 8759u);
  EXPECT_EQ(normals.front().time, parse_utc("2010-01-01T01:00:00"));
}

class Splice : public ::testing::TestWithParam<std::string> {};

TEST_P(Splice, PerformanceBasedRetrainFiresWithin14StepsOfTheChange) {
  const auto obs = seattle_new_york_splice(read_weather_csv(kWeather));
  StreamConfig c = make_stream_config("splice", weather_variables(), {GetParam()}, 86400);
  ASSERT_EQ(c.retrain.trigger, TriggerKind::performance);  // the default policy
  Nowcaster nc(c);
  std::vector<int64_t> alarms;
  std::vector<FitRecord> fires;
  for (const auto& o : obs)
    for (const auto& f : nc.ingest(o).retrain_finished)
      if (f.trigger == "performance") {
        alarms.push_back(f.fire_step);
        fires.push_back(f);
      }
  const auto rep = report(alarms, {{kSpliceChangePoint, kSpliceChangePoint}},
                          static_cast<int64_t>(obs.size()), 30);
  ASSERT_EQ(rep.episode_recall, 1.0) << "no performance fire within 30 steps of the change";
  EXPECT_LE(rep.detection_delay, 14.0);
  // The decision log explains the fire: r > 1 + τ at an age ≥ A_min.
  for (const auto& f : fires)
    if (f.fire_step >= kSpliceChangePoint && f.fire_step <= kSpliceChangePoint + 14) {
      EXPECT_GT(f.ratio, 1.0 + c.retrain.tau);
      EXPECT_GE(f.model_age, c.retrain.min_age);
      EXPECT_GT(f.window, 0);
    }
}

INSTANTIATE_TEST_SUITE_P(Targets, Splice, ::testing::Values("temp_max", "temp_min", "wind"));

}  // namespace
}  // namespace attune::nowcast

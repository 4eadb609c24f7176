// The drift scoring helpers reproduce the examples of River's river/drift/evaluate.py.
#include <gtest/gtest.h>

#include <cmath>

#include "nowcast/drift_eval.h"

namespace attune::nowcast {
namespace {

std::vector<Drift> points(std::initializer_list<int64_t> xs) {
  std::vector<Drift> d;
  for (int64_t x : xs) d.push_back({x, x});
  return d;
}

TEST(DriftEval, MatchAssignsAlarmsToWindowsOrFalseAlarms) {
  const auto m = match({110, 900}, points({100}), 50);
  ASSERT_EQ(m.hits.size(), 1u);
  EXPECT_EQ(m.hits.at(0), std::vector<int64_t>{110});
  EXPECT_EQ(m.false_alarms, std::vector<int64_t>{900});
  // Inclusive bounds, delta_pre and span drifts.
  const auto w = match({95, 100, 150, 151}, {{100, 100}}, 50, 5);
  EXPECT_EQ(w.hits.at(0), (std::vector<int64_t>{95, 100, 150}));
  EXPECT_EQ(w.false_alarms, std::vector<int64_t>{151});
  EXPECT_EQ(match({160}, {{100, 120}}, 50).hits.size(), 1u);
}

TEST(DriftEval, RiverDocstringValues) {
  EXPECT_DOUBLE_EQ(report({110, 900}, points({100}), 1000, 50).precision, 0.5);
  EXPECT_NEAR(report({110, 130}, points({100, 500}), 1000, 50).recall, 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(report({110, 130}, points({100, 500}), 1000, 50).episode_recall, 0.5);
  EXPECT_DOUBLE_EQ(report({110}, points({100, 500}), 1000, 50).missed_detection_rate, 0.5);
  EXPECT_DOUBLE_EQ(report({110, 900}, points({100, 500}), 1000, 50).f1, 0.5);
  EXPECT_DOUBLE_EQ(report({110, 530}, points({100, 500, 900}), 1000, 50).detection_delay, 20.0);
  EXPECT_DOUBLE_EQ(report({110}, points({100}), 1000, 50).normalized_detection_time, 0.2);
  EXPECT_DOUBLE_EQ(report({110, 900}, points({100}), 1000, 50, 0, 1000).false_alarm_rate, 1.0);
  EXPECT_DOUBLE_EQ(report({200, 300, 500}, {}, 1000, 50).mean_time_between_false_alarms, 150.0);
  EXPECT_DOUBLE_EQ(report({110, 400, 700}, points({100, 900}), 1000, 50).mean_time_ratio, 15.0);
  const auto r = report({110, 900}, points({100, 500}), 1000, 50);
  EXPECT_DOUBLE_EQ(r.episode_recall, 0.5);
  EXPECT_DOUBLE_EQ(r.detection_delay, 10.0);
  EXPECT_EQ(r.n_alarms, 2);
  EXPECT_EQ(r.n_drifts, 2);
}

TEST(DriftEval, UndefinedQuantitiesAreNaNAndBadArgumentsThrow) {
  const auto r = report({}, points({100}), 1000, 50);
  EXPECT_TRUE(std::isnan(r.precision));
  EXPECT_TRUE(std::isnan(r.detection_delay));
  EXPECT_TRUE(std::isnan(r.mean_time_between_false_alarms));
  EXPECT_TRUE(std::isinf(report({100, 400, 700}, points({100}), 1000, 50).mean_time_ratio));
  EXPECT_THROW(report({}, {}, 1000, 0), std::invalid_argument);
  EXPECT_THROW(report({}, {}, 0, 50), std::invalid_argument);
  EXPECT_THROW(report({}, {{10, 5}}, 100, 50), std::invalid_argument);
}

}  // namespace
}  // namespace attune::nowcast

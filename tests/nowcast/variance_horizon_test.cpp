// Variance Horizon (spec §1.6) on constructed series whose tail variances are known exactly.
#include <gtest/gtest.h>

#include <random>

#include "nowcast/variance_horizon.h"

namespace attune::nowcast {
namespace {

// 60 old values alternating ±1 (mean 0 over every even-length tail), then 40 zeros.
// v(N) = 0 for N ≤ 40 and (N − 40)/N beyond: v(50)=0.2, v(60)=1/3, v(70)=3/7, v(80)=0.5,
// v(90)=5/9, v(100)=0.6.
std::vector<double> quiet_recent() {
  std::vector<double> y;
  for (int i = 0; i < 60; ++i) y.push_back(i % 2 ? 1.0 : -1.0);
  for (int i = 0; i < 40; ++i) y.push_back(0.0);
  return y;
}

TEST(VarianceHorizon, TailVarianceIsExact) {
  const TailVariance v(quiet_recent());
  EXPECT_DOUBLE_EQ(v(40), 0.0);
  EXPECT_DOUBLE_EQ(v(50), 0.2);
  EXPECT_NEAR(v(90), 5.0 / 9.0, 1e-15);
  EXPECT_DOUBLE_EQ(v(100), 0.6);
}

TEST(VarianceHorizon, PicksTheSmallestWindowHoldingRhoOfTheVariance) {
  const auto y = quiet_recent();
  // ρ·v(100) = 0.54: v(80) = 0.5 < 0.54 ≤ v(90).
  EXPECT_EQ(variance_horizon(y, 20, 100, 10, 0.9), 90);
  // ρ·v(100) = 0.3: v(50) = 0.2 < 0.3 ≤ v(60).
  EXPECT_EQ(variance_horizon(y, 20, 100, 10, 0.5), 60);
  // The N_min floor wins when the recent data already hold the variance.
  EXPECT_EQ(variance_horizon(y, 95, 100, 10, 0.5), 95);
  // N_max is clamped to the history; nothing qualifies before it → fallback to N_max.
  EXPECT_EQ(variance_horizon(y, 20, 500, 7, 1.0), 100);
}

TEST(VarianceHorizon, ConstantSeriesTakesTheFloor) {
  EXPECT_EQ(variance_horizon(std::vector<double>(200, 3.0), 30, 150, 15, 0.9), 30);
}

TEST(VarianceHorizon, PlateauVariant) {
  // Stationary alternation: v(N) = 1 for every even N, flat from the start.
  std::vector<double> flat;
  for (int i = 0; i < 200; ++i) flat.push_back(i % 2 ? 1.0 : -1.0);
  EXPECT_EQ(variance_horizon_plateau(flat, 20, 200, 10, 0.02, 3), 20);
  // Growing variance everywhere (v(N+10)/v(N) − 1 ≥ 0.08) → no plateau → N_max.
  EXPECT_EQ(variance_horizon_plateau(quiet_recent(), 50, 100, 10, 0.02, 3), 100);
  // Amplitude 3 for the old 100 values, ±1 for the recent 100: v(N) = 1 up to N = 100 (flat),
  // so the first candidate whose next 3 checks stay flat is the floor.
  std::vector<double> y;
  for (int i = 0; i < 100; ++i) y.push_back(i % 2 ? 3.0 : -3.0);
  for (int i = 0; i < 100; ++i) y.push_back(i % 2 ? 1.0 : -1.0);
  EXPECT_EQ(variance_horizon_plateau(y, 40, 200, 10, 0.02, 3), 40);
  // From a floor past the step change the ratios jump: 100 → 110 grows by 80%.
  EXPECT_EQ(variance_horizon_plateau(y, 80, 200, 10, 0.02, 3), 200);
}

TEST(VarianceHorizon, PrefixSumsStayAccurateForLargeLevels) {
  std::mt19937 rng(1);
  std::normal_distribution<double> d(1013.0, 0.5);  // pressure-like level, small spread
  std::vector<double> y(3000);
  for (auto& v : y) v = d(rng);
  const TailVariance v(y);
  double mean = 0, ss = 0;
  for (size_t i = 1000; i < 3000; ++i) mean += y[i] / 2000.0;
  for (size_t i = 1000; i < 3000; ++i) ss += (y[i] - mean) * (y[i] - mean);
  EXPECT_NEAR(v(2000), ss / 2000.0, 1e-9);
}

}  // namespace
}  // namespace attune::nowcast

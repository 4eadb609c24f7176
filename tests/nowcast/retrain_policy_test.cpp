// The retraining policy (spec §1.7) on constructed normalised-error streams.
#include <gtest/gtest.h>

#include <cmath>

#include "nowcast/retrain_policy.h"

namespace attune::nowcast {
namespace {

RetrainConfig performance(double tau, int64_t w, int64_t k, int64_t min_age, int64_t max_age) {
  RetrainConfig c;
  c.trigger = TriggerKind::performance;
  c.tau = tau;
  c.error_window = w;
  c.consecutive = k;
  c.min_age = min_age;
  c.max_age = max_age;
  return c;
}

TEST(RetrainPolicy, PerformanceFiresAfterAnInjectedErrorJumpAndNotBefore) {
  RetrainPolicy p(performance(0.25, 14, 3, 7, 0));
  // z = 1 for 100 steps, then 2. After j steps of 2, r = 1 + j/14 > 1.25 from j = 4; with
  // K = 3 consecutive checks the fire comes at j = 6, i.e. step 105.
  int64_t fired_at = -1;
  for (int64_t t = 0; t < 130 && fired_at < 0; ++t) {
    const auto d = p.step(t < 100 ? 1.0 : 2.0, /*age=*/t + 1000);
    if (t >= 13 && t < 100) EXPECT_NEAR(d.ratio, 1.0, 1e-12) << t;
    if (t < 13) EXPECT_TRUE(std::isnan(d.ratio)) << t;
    if (d.fire) {
      fired_at = t;
      EXPECT_EQ(d.trigger, "performance");
      EXPECT_NEAR(d.ratio, 1.0 + 6.0 / 14.0, 1e-12);
    }
  }
  EXPECT_EQ(fired_at, 105);
}

TEST(RetrainPolicy, NoFireWhileTheRatioStaysUnderTheThreshold) {
  RetrainPolicy p(performance(0.25, 14, 3, 7, 0));
  for (int64_t t = 0; t < 2000; ++t) {
    const double z = 1.0 + 0.2 * std::sin(0.3 * static_cast<double>(t));  // r ≤ 1.2 < 1.25
    ASSERT_FALSE(p.step(z, t).fire) << t;
  }
}

TEST(RetrainPolicy, MinAgeDelaysAFireAndMaxAgeForcesOne) {
  // z = 2 from the start: r = 2 once W=14 errors matured (t = 13), K = 3 → ready at t = 15,
  // but A_min = 20 holds it until age 20.
  RetrainPolicy p(performance(0.25, 14, 3, 20, 0));
  int64_t fired_at = -1;
  for (int64_t age = 0; age < 40 && fired_at < 0; ++age)
    if (p.step(2.0, age).fire) fired_at = age;
  EXPECT_EQ(fired_at, 20);

  RetrainPolicy q(performance(0.25, 14, 3, 7, 50));
  for (int64_t age = 0; age < 50; ++age) ASSERT_FALSE(q.step(1.0, age).fire) << age;
  const auto d = q.step(1.0, 50);
  EXPECT_TRUE(d.fire);
  EXPECT_EQ(d.trigger, "max_age");
}

TEST(RetrainPolicy, PeriodicFiresAtThePeriod) {
  RetrainConfig c;
  c.trigger = TriggerKind::periodic;
  c.period = 6;
  c.max_age = 0;
  RetrainPolicy p(c);
  for (int64_t age = 0; age < 6; ++age) EXPECT_FALSE(p.step(std::nullopt, age).fire);
  const auto d = p.step(std::nullopt, 6);
  EXPECT_TRUE(d.fire);
  EXPECT_EQ(d.trigger, "periodic");
}

TEST(RetrainPolicy, SwapStartsAFreshWindow) {
  RetrainPolicy p(performance(0.25, 14, 3, 0, 0));
  for (int t = 0; t < 20; ++t) p.step(3.0, t);
  EXPECT_NEAR(p.ratio(), 3.0, 1e-12);
  p.on_model_swapped();
  EXPECT_TRUE(std::isnan(p.ratio()));
  for (int t = 0; t < 13; ++t) EXPECT_FALSE(p.step(3.0, t).fire);
}

TEST(RetrainPolicy, PageHinkleyDriftIsLatchedUntilMinAge) {
  RetrainConfig c;
  c.trigger = TriggerKind::page_hinkley;
  c.page_hinkley.mode = PageHinkleyMode::up;
  c.page_hinkley.threshold = 5.0;
  c.page_hinkley.delta = 0.05;
  c.page_hinkley.min_instances = 10;
  c.min_age = 60;
  c.max_age = 0;
  RetrainPolicy p(c);
  int64_t drift_at = -1, fire_at = -1;
  for (int64_t t = 0; t < 100 && fire_at < 0; ++t) {
    const auto d = p.step(t < 30 ? 1.0 : 3.0, t);
    ASSERT_TRUE(d.statistic.has_value());
    if (d.drift && drift_at < 0) drift_at = t;
    if (d.fire) {
      fire_at = t;
      EXPECT_EQ(d.trigger, "page_hinkley");
    }
  }
  EXPECT_GE(drift_at, 30);
  EXPECT_LE(drift_at, 35);
  EXPECT_EQ(fire_at, 60);
}

TEST(RetrainPolicy, StateRoundTrips) {
  RetrainConfig c;
  c.trigger = TriggerKind::adwin;
  RetrainPolicy a(c), b(c);
  for (int t = 0; t < 500; ++t) a.step(1.0 + 0.1 * (t % 7), t);
  b.set_state(a.state());
  for (int t = 500; t < 900; ++t) {
    const double z = t < 700 ? 1.0 + 0.1 * (t % 7) : 3.0;
    const auto da = a.step(z, t), db = b.step(z, t);
    ASSERT_EQ(da.fire, db.fire) << t;
    ASSERT_EQ(da.drift, db.drift) << t;
    ASSERT_EQ(da.statistic, db.statistic) << t;
  }
}

}  // namespace
}  // namespace attune::nowcast

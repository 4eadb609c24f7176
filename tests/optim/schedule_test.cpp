// LR schedules (closed-form values, resume at step k) and the LR–batch scaling rule.
#include <gtest/gtest.h>

#include <cmath>

#include "optim/exadam.h"
#include "optim/lr_batch_scaling.h"
#include "optim/schedulers.h"

namespace attune::optim {
namespace {

// Two groups with different base LRs, so per-group handling is visible.
struct TwoGroups {
  torch::Tensor a = torch::zeros({3}, torch::requires_grad());
  torch::Tensor b = torch::zeros({2}, torch::requires_grad());
  EXAdam optimizer{std::vector<torch::optim::OptimizerParamGroup>{
                       torch::optim::OptimizerParamGroup({a}, std::make_unique<EXAdamOptions>(0.1)),
                       torch::optim::OptimizerParamGroup({b}, std::make_unique<EXAdamOptions>(0.02))},
                   EXAdamOptions(0.1)};
  double lr(size_t g) const { return optimizer.param_groups()[g].options().get_lr(); }
};

void advance(ResumableLRScheduler& s, int n) {
  for (int i = 0; i < n; ++i) s.step();
}

TEST(WarmupCosineLR, ClosedFormValues) {
  TwoGroups m;
  WarmupCosineLR s(m.optimizer, /*warmup=*/10, /*total=*/110, /*min_lr_ratio=*/0.1);
  EXPECT_DOUBLE_EQ(m.lr(0), 0.1 * 0.1);  // step 0 runs at 1/10 of the peak
  EXPECT_DOUBLE_EQ(m.lr(1), 0.02 * 0.1);
  advance(s, 9);
  EXPECT_EQ(s.current_step(), 9);
  EXPECT_DOUBLE_EQ(m.lr(0), 0.1);  // last warm-up step reaches the peak
  advance(s, 51);                   // step 60: half-way through the cosine
  EXPECT_NEAR(m.lr(0), 0.1 * (0.1 + 0.9 * 0.5), 1e-15);
  EXPECT_NEAR(m.lr(1), 0.02 * 0.55, 1e-15);
  advance(s, 25);  // step 85: cos(3π/4)
  EXPECT_NEAR(m.lr(0), 0.1 * (0.1 + 0.9 * 0.5 * (1 - std::sqrt(0.5))), 1e-15);
  advance(s, 25);  // step 110 and beyond: the floor
  EXPECT_NEAR(m.lr(0), 0.01, 1e-15);
  advance(s, 40);
  EXPECT_NEAR(m.lr(0), 0.01, 1e-15);
}

TEST(WarmupCosineLR, ResumesAtStepK) {
  TwoGroups straight;
  WarmupCosineLR s(straight.optimizer, 10, 110, 0.1);
  advance(s, 37);
  // A restarted job: fresh optimizer whose groups hold whatever LR, scheduler told step 37 and
  // the configured base LRs.
  TwoGroups resumed;
  resumed.optimizer.param_groups()[0].options().set_lr(123.0);
  WarmupCosineLR r(resumed.optimizer, 10, 110, 0.1, /*start_step=*/37, {0.1, 0.02});
  for (int k = 0; k < 30; ++k) {
    EXPECT_DOUBLE_EQ(resumed.lr(0), straight.lr(0)) << "step " << 37 + k;
    EXPECT_DOUBLE_EQ(resumed.lr(1), straight.lr(1)) << "step " << 37 + k;
    s.step();
    r.step();
  }
  r.set_step(5);
  EXPECT_DOUBLE_EQ(resumed.lr(0), 0.1 * 6 / 10);
}

TEST(WarmupLinearLR, ClosedFormValues) {
  TwoGroups m;
  WarmupLinearLR s(m.optimizer, 4, 14, 0.0);
  EXPECT_DOUBLE_EQ(m.lr(0), 0.1 / 4);
  advance(s, 3);
  EXPECT_DOUBLE_EQ(m.lr(0), 0.1);
  advance(s, 6);  // step 9: half-way down
  EXPECT_DOUBLE_EQ(m.lr(0), 0.05);
  advance(s, 5);  // step 14: zero
  EXPECT_DOUBLE_EQ(m.lr(0), 0.0);
}

TEST(StepDecayLR, ClosedFormValuesAndResume) {
  TwoGroups m;
  StepDecayLR s(m.optimizer, 3, 0.5);
  EXPECT_DOUBLE_EQ(m.lr(0), 0.1);
  advance(s, 7);
  EXPECT_DOUBLE_EQ(m.lr(0), 0.025);  // ⌊7/3⌋ = 2 halvings
  EXPECT_DOUBLE_EQ(m.lr(1), 0.005);
  TwoGroups resumed;
  StepDecayLR r(resumed.optimizer, 3, 0.5, /*start_step=*/7);
  EXPECT_DOUBLE_EQ(resumed.lr(0), 0.025);
  r.step();
  s.step();
  EXPECT_DOUBLE_EQ(resumed.lr(0), m.lr(0));
}

TEST(Schedules, RejectBadArguments) {
  TwoGroups m;
  try {
    WarmupCosineLR s(m.optimizer, 10, 10);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "total_steps: expected a value > warmup_steps (10), received 10");
  }
  EXPECT_THROW(StepDecayLR(m.optimizer, 0), std::invalid_argument);
  EXPECT_THROW(WarmupLinearLR(m.optimizer, 1, 5, 1.5), std::invalid_argument);
  EXPECT_THROW(WarmupLinearLR(m.optimizer, 1, 5, 0.0, 0, {0.1}), std::invalid_argument);
}

TEST(LrBatchScaling, ClosedFormFactors) {
  LrBatchScaling rule;
  EXPECT_EQ(lr_batch_factor(rule, 4096), 1.0);  // off by default
  rule.enabled = true;
  rule.kappa = batch_scaling_exponent("adan");
  rule.reference_batch_size = 32;
  EXPECT_DOUBLE_EQ(lr_batch_factor(rule, 128), 2.0);  // √4
  EXPECT_DOUBLE_EQ(lr_batch_factor(rule, 8), 0.5);
  rule.max_batch_size = 256;
  EXPECT_DOUBLE_EQ(lr_batch_factor(rule, 1024), std::sqrt(8.0));  // clamped at 256
  rule.kappa = batch_scaling_exponent("sgd");
  EXPECT_DOUBLE_EQ(rule.kappa, 1.0);
  EXPECT_DOUBLE_EQ(lr_batch_factor(rule, 96), 3.0);
  EXPECT_DOUBLE_EQ(batch_scaling_exponent("adabelief"), 0.5);
}

TEST(LrBatchScaling, RescalesEveryGroupOrTheScheduleBase) {
  LrBatchScaling rule;
  rule.enabled = true;
  rule.kappa = 0.5;
  rule.reference_batch_size = 16;
  TwoGroups m;
  const LrBatchScaler scaler(rule, {0.1, 0.02});
  scaler.apply(64, m.optimizer);
  EXPECT_DOUBLE_EQ(m.lr(0), 0.2);
  EXPECT_DOUBLE_EQ(m.lr(1), 0.04);

  TwoGroups scheduled;
  WarmupCosineLR s(scheduled.optimizer, 10, 110, 0.1);
  advance(s, 60);
  scaler.apply(64, s);  // AdAdaGrad grew the batch: peak and floor double
  EXPECT_NEAR(scheduled.lr(0), 0.2 * 0.55, 1e-15);
  s.step();
  EXPECT_NEAR(scheduled.lr(0), 0.2 * s.factor(61), 1e-15);
  EXPECT_DOUBLE_EQ(s.base_lrs()[1], 0.04);
}

TEST(LrBatchScaling, RejectsBadRules) {
  LrBatchScaling rule;
  rule.enabled = true;
  try {
    validate(rule);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "lr_batch_scaling.reference_batch_size: expected an integer > 0, received 0");
  }
}

}  // namespace
}  // namespace attune::optim

// Save at step 50, load into a fresh optimizer, continue to 100: bit-identical to the
// uninterrupted run (spec §7), including Adan's step counter and previous gradient.
#include <gtest/gtest.h>

#include <sstream>

#include "optim/adabelief.h"
#include "optim/adan.h"
#include "optim/factory.h"
#include "problem.h"

namespace attune::optim::testing {
namespace {

OptimizerConfig config(const std::string& name, std::map<std::string, double> extras,
                       double weight_decay = 0.0) {
  OptimizerConfig c;
  c.name = name;
  c.lr = name == "adagradnorm" ? 0.05 : 1e-2;
  c.weight_decay = weight_decay;
  c.extras = std::move(extras);
  return c;
}

std::vector<OptimizerConfig> configs() {
  return {
      config("exadam", {{"log_step_size", 1}}, 1e-2),
      config("adan", {{"max_grad_norm", 0.5}}, 0.02),  // two groups, clipping, proximal decay
      config("adan", {{"no_prox", 1}, {"fused", 0}}, 0.02),
      config("adabelief", {{"amsgrad", 1}}),  // crosses the SGD → rectified switch at step 6
      config("adabelief", {{"rectify", 0}, {"weight_decouple", 0}}, 5e-4),
      config("adagradnorm", {}, 1e-3),
      config("adam", {}),
  };
}

std::string save(const torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void load(torch::optim::Optimizer& optimizer, const std::string& bytes) {
  torch::serialize::InputArchive archive;
  std::istringstream in(bytes);
  archive.load_from(in);
  optimizer.load(archive);
}

TEST(Checkpoint, SaveAt50LoadContinueTo100IsBitIdentical) {
  for (const auto& cfg : configs()) {
    SCOPED_TRACE(cfg.name + " extras=" + std::to_string(cfg.extras.size()));
    auto uninterrupted = make_problem(16, torch::kDouble);
    auto full = make_optimizer(cfg, uninterrupted.named());
    const auto reference = run(*full, uninterrupted, 100).params_after_step.at(100);

    auto first_half = make_problem(16, torch::kDouble);
    auto before = make_optimizer(cfg, first_half.named());
    run(*before, first_half, 50);
    const std::string bytes = save(*before);

    auto resumed = make_problem(16, torch::kDouble);
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < resumed.params.size(); ++i) resumed.params[i].copy_(first_half.params[i]);
    }
    auto after = make_optimizer(cfg, resumed.named());
    load(*after, bytes);
    const auto continued = run(*after, resumed, 50).params_after_step.at(50);
    EXPECT_TRUE(torch::equal(continued, reference))
        << "max |diff| " << (continued - reference).abs().max().item<double>();
  }
}

TEST(Checkpoint, AdanStepAndPreviousGradientSurvive) {
  auto problem = make_problem(16, torch::kDouble);
  Adan before(problem.params, AdanOptions(1e-2).weight_decay(0.02));
  run(before, problem, 7);
  const std::string bytes = save(before);

  auto other = make_problem(16, torch::kDouble);
  Adan after(other.params, AdanOptions(1e-2).weight_decay(0.02));
  load(after, bytes);
  for (size_t i = 0; i < problem.params.size(); ++i) {
    const auto& saved = static_cast<const AdanParamState&>(
        *before.state().at(c10::guts::to_string(problem.params[i].unsafeGetTensorImpl())));
    const auto& loaded = static_cast<const AdanParamState&>(
        *after.state().at(c10::guts::to_string(other.params[i].unsafeGetTensorImpl())));
    EXPECT_EQ(loaded.step(), 7);
    EXPECT_TRUE(torch::equal(loaded.pre_grad(), saved.pre_grad()));
    EXPECT_TRUE(torch::equal(loaded.exp_avg_diff(), saved.exp_avg_diff()));
    EXPECT_FALSE(torch::equal(loaded.pre_grad(), torch::zeros_like(loaded.pre_grad())));
  }
}

TEST(Checkpoint, LoadRestoresGroupOptions) {
  auto problem = make_problem(16, torch::kDouble);
  auto before = make_optimizer(config("adabelief", {{"rectify", 0}}), problem.named());
  run(*before, problem, 3);
  before->param_groups()[0].options().set_lr(0.0123);  // e.g. a schedule's current value
  const std::string bytes = save(*before);

  auto other = make_problem(16, torch::kDouble);
  auto after = make_optimizer(config("adabelief", {{"rectify", 0}}), other.named());
  load(*after, bytes);
  EXPECT_EQ(after->param_groups()[0].options().get_lr(), 0.0123);
  EXPECT_FALSE(static_cast<const AdaBeliefOptions&>(after->param_groups()[0].options()).rectify());
}

TEST(AdanRestart, NextStepIsAFirstStepAgain) {
  auto problem = make_problem(16, torch::kDouble);
  Adan restarted(problem.params, AdanOptions(1e-2).weight_decay(0.02));
  run(restarted, problem, 10);
  restarted.restart();

  auto fresh_problem = make_problem(16, torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < problem.params.size(); ++i) fresh_problem.params[i].copy_(problem.params[i]);
  }
  Adan fresh(fresh_problem.params, AdanOptions(1e-2).weight_decay(0.02));
  const auto a = run(restarted, problem, 3).params_after_step.at(2);
  const auto b = run(fresh, fresh_problem, 3).params_after_step.at(2);
  EXPECT_TRUE(torch::equal(a, b));
}

}  // namespace
}  // namespace attune::optim::testing

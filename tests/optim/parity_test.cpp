// Parity with the official implementations: every run of the float64 and float32 fixtures
// (spec §7), through the factory, on the fused kernels and on the tensor-op reference path.
#include <gtest/gtest.h>

#include <sstream>

#include "optim/factory.h"
#include "optim/fused_loop.h"
#include "problem.h"

namespace attune::optim::testing {
namespace {

// Fixture run name → config (lr 1e-2 unless noted, official defaults otherwise; spec §7).
OptimizerConfig config_for(const std::string& run, bool fused) {
  OptimizerConfig c;
  c.lr = 1e-2;
  c.decay_exclusion.enabled = false;  // the official runs decay every parameter...
  auto set = [&](const std::string& name, std::map<std::string, double> extras = {}) {
    c.name = name;
    c.extras = std::move(extras);
    if (name == "exadam" || name == "adan" || name == "adabelief") c.extras["fused"] = fused;
  };
  if (run == "adan_default_foreach" || run == "adan_default_single") {
    set("adan");
    c.weight_decay = 0.02;
  } else if (run == "adan_noprox") {
    set("adan", {{"no_prox", 1}});
    c.weight_decay = 0.02;
  } else if (run == "adan_clip0.1") {
    set("adan", {{"max_grad_norm", 0.1}});
    c.weight_decay = 0.02;
  } else if (run == "adan_groups_wd_weights_only") {
    set("adan");
    c.weight_decay = 0.02;
    c.decay_exclusion.enabled = true;  // ...except this one: biases (1-D) get weight decay 0
  } else if (run == "adan_wd0") {
    set("adan");
  } else if (run == "adabelief_default") {
    set("adabelief");
  } else if (run == "adabelief_norect_decoupled_wd") {
    set("adabelief", {{"rectify", 0}});
    c.weight_decay = 1e-2;
  } else if (run == "adabelief_l2_eps1e-8") {
    set("adabelief", {{"rectify", 0}, {"weight_decouple", 0}});
    c.weight_decay = 5e-4;
    c.eps = 1e-8;
  } else if (run == "adabelief_amsgrad_norect") {
    set("adabelief", {{"rectify", 0}, {"amsgrad", 1}});
  } else if (run == "adabelief_rect_no_sgd") {
    set("adabelief", {{"degenerated_to_sgd", 0}});
  } else if (run == "exadam_head") {
    set("exadam");
  } else if (run == "exadam_head_wd1e-2") {
    set("exadam");
    c.weight_decay = 1e-2;
  } else if (run == "exadam_v1_logstep") {
    set("exadam", {{"log_step_size", 1}});
  } else if (run == "torch_adam") {
    set("adam");
  } else if (run == "torch_adamw_wd0.02") {
    set("adamw");
    c.weight_decay = 0.02;
  } else if (run == "torch_adagrad_lr0.1") {
    set("adagrad");
    c.lr = 0.1;
  } else {
    throw std::runtime_error("no config for fixture run " + run);
  }
  return c;
}

struct Case {
  std::string dtype;  // fixture
  std::string run;
  bool fused;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.dtype << " " << c.run << (c.fused ? " fused" : " reference");
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.dtype + "_" + info.param.run + (info.param.fused ? "_fused" : "_reference");
  for (auto& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const std::string dtype : {"float64", "float32"}) {
    for (const auto& [run, _] : fixture(dtype)["runs"].items()) {
      const bool ours = run.rfind("torch_", 0) != 0;
      cases.push_back({dtype, run, true});
      if (ours) cases.push_back({dtype, run, false});
    }
  }
  return cases;
}

class FixtureParity : public ::testing::TestWithParam<Case> {};

TEST_P(FixtureParity, MatchesOfficialTrajectory) {
  const auto& [dtype, run_name, fused] = GetParam();
  const bool f64 = dtype == "float64";
  // Spec §7 tolerances (issue 3): double 1e-12 through step 10 and 1e-10 later; float 1e-6 / 5e-4.
  const double early = f64 ? 1e-12 : 1e-6, late = f64 ? 1e-10 : 5e-4;
  const auto& ref = fixture(dtype)["runs"][run_name];
  // EXAdam is chaotic in float32 (spec §7: 6.9e-5 between the official float32 and float64 runs,
  // 2.7e-4 for v1); its float32 runs stay within 5e-4 only with the rounding they were made
  // with, ATen's AVX2 kernels (fused multiply-adds), which we reproduce bit for bit.
  if (!f64 && run_name.rfind("exadam", 0) == 0 && aten_arith() != kernels::Arith::kFused) {
    GTEST_SKIP() << "ATen runs its non-FMA kernels here; the float32 fixture was made with FMA";
  }

  auto problem = make_problem(16, f64 ? torch::kDouble : torch::kFloat);
  auto optimizer = make_optimizer(config_for(run_name, fused), problem.named());
  const auto got = run(*optimizer, problem);

  EXPECT_LE(rel_err(got.grad_at_step1, to_tensor(ref["grad_at_step1"])), early);
  const auto ref_losses = ref["loss_before_step"].get<std::vector<double>>();
  ASSERT_EQ(got.loss_before_step.size(), ref_losses.size());
  for (size_t t = 0; t < ref_losses.size(); ++t) {
    EXPECT_LE(rel_err(got.loss_before_step[t], ref_losses[t]), t < 10 ? early : late) << "loss before step " << t + 1;
  }
  double worst_early = 0, worst_late = 0;
  for (const auto& [step, params] : got.params_after_step) {
    const double err = rel_err(params, to_tensor(ref["params_after_step"][std::to_string(step)]));
    EXPECT_LE(err, step <= 10 ? early : late) << "params after step " << step;
    (step <= 10 ? worst_early : worst_late) = std::max(step <= 10 ? worst_early : worst_late, err);
  }
  // Measured errors land in --gtest_output=xml reports.
  std::ostringstream measured;
  measured.precision(3);
  measured << worst_early << " / " << worst_late;
  RecordProperty("params_rel_err_early_late", measured.str());
  EXPECT_LE(rel_err(got.final_loss, ref["final_loss"].get<double>()), late);
}

INSTANTIATE_TEST_SUITE_P(Official, FixtureParity, ::testing::ValuesIn(all_cases()), case_name);

// The fixture's sanity anchors before any update (spec §7).
TEST(FixtureProblem, RebuildsTheSpecAnchors) {
  auto problem = make_problem(16, torch::kDouble);
  auto loss = problem.loss();
  loss.backward();
  EXPECT_DOUBLE_EQ(loss.item<double>(), 1.3906604965309688);
  EXPECT_NEAR(problem.params[0].grad()[0][0].item<double>(), 0.0505131471954446, 1e-16);
  EXPECT_NEAR(problem.params[3].grad()[0].item<double>(), 0.007290579234737943, 1e-16);
  const auto grad = flatten({problem.params[0].grad(), problem.params[1].grad(), problem.params[2].grad(),
                             problem.params[3].grad()});
  EXPECT_NEAR(grad.norm().item<double>(), 2.811795045797969, 1e-14);
}

}  // namespace
}  // namespace attune::optim::testing

// EATA/ETA and Tent against the official mr-eggplant/EATA and DequanWang/tent outputs
// (tests/fixtures/tta/eata.json, tent.json) on the float64 TorchScript model eata_model.pt:
// Fisher, logits, BatchNorm parameters, losses, counters and moving average after every step.
// The fixtures README reports bit-exact reproduction (we measure 0); we require 1e-12
// relative, tighter than the 1e-10 of issue 5, and print the largest deviation.
#include <gtest/gtest.h>

#include "fixture_util.h"
#include "tta/adapter.h"

namespace attune::tta {
namespace {

using testing::load_fixture_model;
using testing::load_json;
using testing::max_rel_diff;
using testing::to_tensor;

constexpr double kTol = 1e-12;

std::vector<torch::Tensor> batches(const nlohmann::json& list) {
  std::vector<torch::Tensor> out;
  for (const auto& b : list) out.push_back(to_tensor(b["x"]));
  return out;
}

void expect_params(const Adapter& a, const nlohmann::json& expected, double& worst) {
  const auto params = a.adapted_parameters();
  ASSERT_EQ(params.size(), expected.size());
  for (const auto& [name, value] : params) {
    ASSERT_TRUE(expected.contains(name)) << name;
    const double d = max_rel_diff(value.flatten(), to_tensor(expected[name]));
    EXPECT_LE(d, kTol) << name;
    worst = std::max(worst, d);
  }
}

class BnParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    eata_ = new nlohmann::json(load_json("eata.json"));
    tent_ = new nlohmann::json(load_json("tent.json"));
  }
  static void TearDownTestSuite() {
    delete eata_;
    delete tent_;
  }
  static nlohmann::json* eata_;
  static nlohmann::json* tent_;
};
nlohmann::json* BnParity::eata_ = nullptr;
nlohmann::json* BnParity::tent_ = nullptr;

TEST_F(BnParity, ModelLoadsWithTheFixtureOutputs) {
  const auto model = load_fixture_model();
  const auto x = to_tensor((*eata_)["inputs"]["fisher_batches"][0]["x"]);
  const auto& checks = (*eata_)["model"]["checks"];
  Options o;
  o.method = Method::kSource;
  EXPECT_LE(max_rel_diff(make_adapter(model, o)->adapt(x).logits,
                         to_tensor(checks["eval_mode_logits_fisher_batch0"])),
            kTol);
  o.method = Method::kNorm;
  EXPECT_LE(max_rel_diff(make_adapter(model, o)->adapt(x).logits,
                         to_tensor(checks["batch_stat_logits_fisher_batch0"])),
            kTol);
}

TEST_F(BnParity, FisherAsOfficialMainPy) {
  const auto& fisher = (*eata_)["eata"]["fisher"];
  Options o;
  o.method = Method::kEata;
  auto a = make_adapter(load_fixture_model(), o);
  const auto& info = a->compute_fisher(batches((*eata_)["inputs"]["fisher_batches"]));
  ASSERT_EQ(info.names.size(), 4u);
  EXPECT_EQ(info.batches, 2);
  EXPECT_EQ(info.samples, 32);
  double worst = 0;
  for (size_t i = 0; i < info.names.size(); ++i) {
    const auto& name = info.names[i];
    ASSERT_TRUE(fisher["F"].contains(name)) << name;
    const double dF = max_rel_diff(info.F[i].flatten(), to_tensor(fisher["F"][name]), 1e-300);
    const double dT = max_rel_diff(info.theta0[i].flatten(), to_tensor(fisher["theta0"][name]));
    EXPECT_LE(dF, kTol) << name;
    EXPECT_LE(dT, kTol) << name;
    worst = std::max({worst, dF, dT});
  }
  RecordProperty("max_rel_diff", std::to_string(worst));
}

TEST_F(BnParity, EveryEataAndEtaRun) {
  const auto& e = (*eata_)["eata"];
  const auto fisher_batches = batches((*eata_)["inputs"]["fisher_batches"]);
  const auto adapt_batches = batches((*eata_)["inputs"]["adapt_batches"]);
  ASSERT_EQ(e["runs"].size(), 6u);
  double worst = 0;
  for (const auto& [run_name, run] : e["runs"].items()) {
    SCOPED_TRACE(run_name);
    Options o;
    o.method = parse_method(run["algorithm"].get<std::string>());
    o.eata.d_margin = run["d_margin"].get<double>();
    o.eata.fisher_alpha = run["fisher_alpha"].get<double>();
    o.optimizer.lr = run["optimizer"]["lr"].get<double>();
    o.optimizer.momentum = run["optimizer"]["momentum"].get<double>();
    o.optimizer.dampening = run["optimizer"]["dampening"].get<double>();
    o.optimizer.nesterov = run["optimizer"]["nesterov"].get<bool>();
    auto a = make_adapter(load_fixture_model(), o);
    if (run["uses_fishers"].get<bool>()) a->compute_fisher(fisher_batches);
    const double E0 = std::log(10.0) * o.eata.e_margin_factor;
    EXPECT_EQ(E0, run["e_margin"].get<double>());

    for (const auto& step : run["steps"]) {
      const int t = step["step"].get<int>() - 1;
      SCOPED_TRACE("step " + std::to_string(t + 1));
      const auto r = a->adapt(adapt_batches[static_cast<size_t>(t)]);
      const double dl = max_rel_diff(r.logits, to_tensor(step["logits"]));
      EXPECT_LE(dl, kTol);
      worst = std::max(worst, dl);
      expect_params(*a, step["params_after"], worst);

      EXPECT_EQ(r.stats.reliable, step["n1_step"].get<int64_t>());
      EXPECT_EQ(r.stats.used, step["n2_step"].get<int64_t>());
      EXPECT_EQ(r.stats.updated, step["updated"].get<bool>());
      EXPECT_EQ(r.stats.filtered_entropy, 16 - step["n1_step"].get<int64_t>());
      if (step["updated"].get<bool>()) {
        ASSERT_TRUE(r.stats.loss.has_value());
        EXPECT_NEAR(*r.stats.loss, step["official_loss"].get<double>(),
                    kTol * std::abs(step["official_loss"].get<double>()));
      } else {
        EXPECT_FALSE(r.stats.loss.has_value());
      }
      if (run["uses_fishers"].get<bool>()) {
        ASSERT_TRUE(r.stats.fisher_penalty.has_value());
        EXPECT_NEAR(*r.stats.fisher_penalty, step["ewc_loss_recomputed_pre_step"].get<double>(),
                    1e-12 + kTol * std::abs(step["ewc_loss_recomputed_pre_step"].get<double>()));
      } else {
        EXPECT_FALSE(r.stats.fisher_penalty.has_value());
      }

      const auto s = a->stats();
      EXPECT_EQ(s.reliable, step["n1"].get<int64_t>());
      EXPECT_EQ(s.used, step["n2"].get<int64_t>());
      ASSERT_TRUE(s.moving_avg.defined());
      const double dm = max_rel_diff(s.moving_avg, to_tensor(step["moving_avg_probs"]));
      EXPECT_LE(dm, kTol);
      worst = std::max(worst, dm);
    }
  }
  RecordProperty("max_rel_diff", std::to_string(worst));
  std::cout << "EATA/ETA parity: max relative deviation " << worst << "\n";
}

TEST_F(BnParity, EveryTentRun) {
  const auto adapt_batches = batches((*eata_)["inputs"]["adapt_batches"]);
  ASSERT_EQ((*tent_)["runs"].size(), 3u);
  double worst = 0;
  for (const auto& [run_name, run] : (*tent_)["runs"].items()) {
    SCOPED_TRACE(run_name);
    const auto& opt = run["optimizer"];
    Options o;
    o.method = Method::kTent;
    o.optimizer.lr = opt["lr"].get<double>();
    o.optimizer.weight_decay = opt["weight_decay"].get<double>();
    if (opt["opt"].get<std::string>() == "adam") {
      o.optimizer.kind = OptimizerOptions::Kind::kAdam;
      o.optimizer.beta1 = opt["betas"][0].get<double>();
      o.optimizer.beta2 = opt["betas"][1].get<double>();
      o.optimizer.eps = opt["eps"].get<double>();
      o.optimizer.amsgrad = opt["amsgrad"].get<bool>();
    } else {
      o.optimizer.momentum = opt["momentum"].get<double>();
      o.optimizer.dampening = opt["dampening"].get<double>();
      o.optimizer.nesterov = opt["nesterov"].get<bool>();
    }
    auto a = make_adapter(load_fixture_model(), o);
    for (const auto& step : run["steps"]) {
      const int t = step["step"].get<int>() - 1;
      SCOPED_TRACE("step " + std::to_string(t + 1));
      const auto r = a->adapt(adapt_batches[static_cast<size_t>(t)]);
      const double dl = max_rel_diff(r.logits, to_tensor(step["logits"]));
      EXPECT_LE(dl, kTol);
      worst = std::max(worst, dl);
      expect_params(*a, step["params_after"], worst);
      ASSERT_TRUE(r.stats.loss.has_value());
      EXPECT_NEAR(*r.stats.loss, step["official_loss"].get<double>(),
                  kTol * std::abs(step["official_loss"].get<double>()));
      EXPECT_EQ(r.stats.used, 16);
    }
  }
  RecordProperty("max_rel_diff", std::to_string(worst));
  std::cout << "Tent parity: max relative deviation " << worst << "\n";
}

}  // namespace
}  // namespace attune::tta

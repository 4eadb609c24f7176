// Factory by name, config validation messages, supported-optimizer listing, decay-exclusion
// grouping and global-norm clipping.
#include <gtest/gtest.h>

#include <limits>

#include "optim/adan.h"
#include "optim/clip.h"
#include "optim/factory.h"

namespace attune::optim {
namespace {

struct Net : torch::nn::Module {
  Net() {
    fc1 = register_module("fc1", torch::nn::Linear(4, 8));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({8})));
    fc2 = register_module("fc2", torch::nn::Linear(8, 2));
    scale = register_parameter("scale", torch::ones({2, 2}));
    frozen = register_parameter("frozen", torch::ones({3, 3}), /*requires_grad=*/false);
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::Tensor scale, frozen;
};

std::vector<std::string> names(const std::vector<NamedParameter>& params) {
  std::vector<std::string> out;
  for (const auto& p : params) out.push_back(p.name);
  return out;
}

std::string error_of(const OptimizerConfig& config) {
  try {
    validate(config);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

OptimizerConfig named(const std::string& name) {
  OptimizerConfig c;
  c.name = name;
  return c;
}

TEST(ParamGroups, NamedParametersSkipFrozenAndKeepOrder) {
  Net net;
  EXPECT_EQ(names(named_parameters(net)),
            (std::vector<std::string>{"scale", "fc1.weight", "fc1.bias", "norm.weight", "norm.bias",
                                      "fc2.weight", "fc2.bias"}));
}

TEST(ParamGroups, DecayExclusionSplitsBiasesNormsAndOneDimensional) {
  Net net;
  const auto params = named_parameters(net);
  auto split = split_by_weight_decay(params, DecayExclusion{});
  EXPECT_EQ(names(split.decay), (std::vector<std::string>{"scale", "fc1.weight", "fc2.weight"}));
  EXPECT_EQ(names(split.no_decay),
            (std::vector<std::string>{"fc1.bias", "norm.weight", "norm.bias", "fc2.bias"}));

  DecayExclusion by_module;
  by_module.exclude_1d = false;
  by_module.suffixes = {};
  by_module.substrings = {};
  by_module.module_prefixes = {"fc2"};
  split = split_by_weight_decay(params, by_module);
  EXPECT_EQ(names(split.no_decay), (std::vector<std::string>{"fc2.weight", "fc2.bias"}));

  DecayExclusion off;
  off.enabled = false;
  EXPECT_TRUE(split_by_weight_decay(params, off).no_decay.empty());
}

TEST(Factory, BuildsEveryNameWithDecayGroups) {
  Net net;
  const auto params = named_parameters(net);
  for (const auto& info : supported_optimizers()) {
    SCOPED_TRACE(info.name);
    auto config = named(info.name);
    config.lr = 0.01;
    config.weight_decay = 0.05;
    auto optimizer = make_optimizer(config, params);
    ASSERT_EQ(optimizer->param_groups().size(), 2u);
    EXPECT_EQ(optimizer->param_groups()[0].params().size(), 3u);
    EXPECT_EQ(optimizer->param_groups()[1].params().size(), 4u);
    EXPECT_DOUBLE_EQ(optimizer->param_groups()[0].options().get_lr(), 0.01);
    // One step from a real loss must change the decayed weights.
    const auto before = net.fc1->weight.detach().clone();
    optimizer->zero_grad();
    net.fc2(net.norm(net.fc1(torch::ones({5, 4})))).pow(2).sum().backward();
    optimizer->step();
    EXPECT_FALSE(torch::equal(before, net.fc1->weight.detach()));
  }
}

TEST(Factory, PassesOptionsThrough) {
  Net net;
  auto config = named("adan");
  config.lr = 0.02;
  config.weight_decay = 0.02;
  config.betas = std::vector<double>{0.9, 0.9, 0.95};
  config.extras = {{"max_grad_norm", 5.0}, {"no_prox", 1}};
  auto optimizer = make_optimizer(config, named_parameters(net));
  const auto& decayed = static_cast<const AdanOptions&>(optimizer->param_groups()[0].options());
  const auto& plain = static_cast<const AdanOptions&>(optimizer->param_groups()[1].options());
  EXPECT_EQ(decayed.weight_decay(), 0.02);
  EXPECT_EQ(plain.weight_decay(), 0.0);
  EXPECT_TRUE(decayed.no_prox());
  EXPECT_EQ(std::get<2>(decayed.betas()), 0.95);
  EXPECT_EQ(static_cast<const AdanOptions&>(optimizer->defaults()).max_grad_norm(), 5.0);

  config.weight_decay = 0.0;  // nothing to exclude: one group
  EXPECT_EQ(make_optimizer(config, named_parameters(net))->param_groups().size(), 1u);
}

TEST(Factory, BadConfigsNameTheFieldAndBothValues) {
  auto c = named("adamax");
  EXPECT_EQ(error_of(c),
            "name: expected one of exadam, adan, adabelief, adam, adamw, sgd, adagrad, adagradnorm, "
            "received \"adamax\"");
  c = named("adan");
  c.lr = -0.1;
  EXPECT_EQ(error_of(c), "lr: expected a finite value > 0, received -0.1");
  c.lr = 0.0;
  EXPECT_EQ(error_of(c), "lr: expected a finite value > 0, received 0");
  c = named("adabelief");
  c.betas = std::vector<double>{0.9, 1.0};
  EXPECT_EQ(error_of(c), "betas[1]: expected a value in [0, 1), received 1");
  c.betas = std::vector<double>{-0.5, 0.9};
  EXPECT_EQ(error_of(c), "betas[0]: expected a value in [0, 1), received -0.5");
  c = named("adan");
  c.betas = std::vector<double>{0.9, 0.999};
  EXPECT_EQ(error_of(c), "betas: expected 3 values for adan, received 2");
  c = named("exadam");
  c.eps = -1e-8;
  EXPECT_EQ(error_of(c), "eps: expected a finite value >= 0, received -1e-08");
  c = named("adamw");
  c.weight_decay = -0.01;
  EXPECT_EQ(error_of(c), "weight_decay: expected a finite value >= 0, received -0.01");
  c = named("adan");
  c.extras = {{"rectify", 1}};
  EXPECT_EQ(error_of(c), "extras: expected an option of adan (max_grad_norm, no_prox, fused), received \"rectify\"");
  c.extras = {{"no_prox", 0.5}};
  EXPECT_EQ(error_of(c), "extras.no_prox: expected 0 or 1 (boolean), received 0.5");
  c.extras = {{"max_grad_norm", -1}};
  EXPECT_EQ(error_of(c), "extras.max_grad_norm: expected a finite value >= 0, received -1");
  c = named("adam");
  c.momentum = 0.9;
  EXPECT_EQ(error_of(c), "momentum: expected no value for adam (only sgd uses it), received 0.9");
  c = named("sgd");
  EXPECT_EQ(error_of(c), "lr: expected a value for sgd (it has no default), received none");
  c.lr = 0.1;
  c.nesterov = true;
  EXPECT_EQ(error_of(c), "nesterov: expected momentum > 0 and dampening = 0, received momentum 0, dampening 0");
  c.momentum = 0.9;
  EXPECT_EQ(error_of(c), "(accepted)");
  c.betas = std::vector<double>{0.9, 0.99};
  EXPECT_EQ(error_of(c), "betas: expected no value for sgd (it has no betas), received 0.9,0.99");
}

// Subnormal values are reported like any other (std::stod threw out_of_range on them; found by
// tests/fuzz/fuzz_job_spec, corpus file regression-subnormal-stod).
TEST(Factory, SubnormalValuesAreReportedNotThrownOnTheWayOut) {
  auto c = named("exadam");
  c.eps = -std::numeric_limits<double>::denorm_min();
  EXPECT_EQ(error_of(c), "eps: expected a finite value >= 0, received -5e-324");
  c = named("adamw");
  c.weight_decay = -2.5e-310;
  EXPECT_EQ(error_of(c), "weight_decay: expected a finite value >= 0, received -2.5e-310");
}

TEST(Factory, ListsNamesAndDefaults) {
  const auto infos = supported_optimizers();
  std::vector<std::string> got;
  for (const auto& i : infos) got.push_back(i.name);
  EXPECT_EQ(got, (std::vector<std::string>{"exadam", "adan", "adabelief", "adam", "adamw", "sgd", "adagrad",
                                           "adagradnorm"}));
  auto value = [&](const std::string& opt, const std::string& field) {
    for (const auto& i : infos) {
      if (i.name != opt) continue;
      for (const auto& o : i.options) {
        if (o.name == field) return o.default_value;
      }
    }
    return std::string("(missing)");
  };
  EXPECT_EQ(value("adabelief", "eps"), "1e-16");
  EXPECT_EQ(value("adabelief", "extras.rectify"), "1");
  EXPECT_EQ(value("adan", "betas"), "0.98,0.92,0.99");
  EXPECT_EQ(value("adamw", "weight_decay"), "0.01");
  EXPECT_EQ(value("sgd", "lr"), "");
  EXPECT_EQ(value("sgd", "eps"), "(missing)");
  EXPECT_EQ(value("adagradnorm", "lr"), "1");
}

TEST(Clipping, ScalesToTheGlobalNorm) {
  auto a = torch::zeros({2}, torch::requires_grad());
  auto b = torch::zeros({1}, torch::requires_grad());
  auto c = torch::zeros({1}, torch::requires_grad());  // no gradient: ignored
  a.mutable_grad() = torch::tensor({3.0f, 4.0f});
  b.mutable_grad() = torch::tensor({12.0f});
  EXPECT_DOUBLE_EQ(global_grad_norm({a, b, c}), 13.0);
  EXPECT_DOUBLE_EQ(clip_grad_norm({a, b, c}, 6.5), 13.0);
  const float coef = static_cast<float>(6.5 / (13.0 + 1e-6));
  EXPECT_TRUE(torch::allclose(a.grad(), torch::tensor({3.0f, 4.0f}) * coef));
  EXPECT_NEAR(global_grad_norm({a, b}), 6.5, 1e-5);
  EXPECT_DOUBLE_EQ(clip_grad_norm({a, b}, 100.0), global_grad_norm({a, b}));  // below: untouched
  EXPECT_THROW(clip_grad_norm({a, b}, 0.0), std::invalid_argument);
}

}  // namespace
}  // namespace attune::optim

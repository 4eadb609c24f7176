// The errors the service layer maps to gRPC codes: FailedPrecondition (model or session state),
// InvalidBatch and std::invalid_argument (client input).
#include <gtest/gtest.h>

#include "fixture_util.h"
#include "tta/adapter.h"
#include "tta/bn_model.h"
#include "tta/errors.h"

namespace attune::tta {
namespace {

using testing::load_fixture_model;
using testing::load_test_model;

Options method(Method m) {
  Options o;
  o.method = m;
  return o;
}

torch::Tensor fixture_batch(int64_t n = 16, uint64_t seed = 0) {
  torch::manual_seed(seed);
  return torch::randn({n, 1, 8, 8}, torch::kFloat64);
}

template <typename E, typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST(AdapterErrors, BatchNormMethodsNeedBatchNorm) {
  const auto mlp = load_test_model("mlp");
  EXPECT_TRUE(find_batchnorm(mlp).empty());
  for (const auto m : {Method::kNorm, Method::kTent, Method::kEta, Method::kEata}) {
    const auto msg = message_of<FailedPrecondition>([&] { make_adapter(mlp, method(m)); });
    EXPECT_NE(msg.find("has none"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::string(method_name(m))), std::string::npos) << msg;
  }
  // Methods that never touch the model work on it; LAME falls back to logits as features.
  const auto x = torch::randn({6, 8});
  EXPECT_EQ(make_adapter(mlp, method(Method::kSource))->adapt(x).probs.sizes(),
            (std::vector<int64_t>{6, 4}));
  auto lame = make_adapter(mlp, method(Method::kLame));
  EXPECT_EQ(lame->adapt(x).probs.sizes(), (std::vector<int64_t>{6, 4}));
  EXPECT_EQ(lame->stats().lame_inputs, "logits");
}

TEST(AdapterErrors, BatchNormFoundByTypeNameOnScriptedAndClonedModels) {
  const auto cnn = load_test_model("cnn_bn");
  const auto bns = find_batchnorm(cnn);
  ASSERT_EQ(bns.size(), 3u);
  EXPECT_EQ(bns[0].name, "body.1");
  EXPECT_EQ(bns[0].value.type()->name()->qualifiedName(),
            "__torch__.torch.nn.modules.batchnorm.BatchNorm2d");
  // clone() gives the copy fresh, mangled class names.
  const auto cloned = cnn.clone();
  const auto cloned_bns = find_batchnorm(cloned);
  ASSERT_EQ(cloned_bns.size(), 3u);
  EXPECT_NE(cloned_bns[0].value.type()->name()->qualifiedName().find("mangle"), std::string::npos)
      << cloned_bns[0].value.type()->name()->qualifiedName();
  BnModel model(cloned, "tent", true);
  EXPECT_EQ(model.param_names(),
            (std::vector<std::string>{"body.1.weight", "body.1.bias", "body.5.weight",
                                      "body.5.bias", "body.9.weight", "body.9.bias"}));
}

TEST(AdapterErrors, SingleSampleBatchesForBatchStatisticMethods) {
  const auto model = load_fixture_model();
  for (const auto m : {Method::kNorm, Method::kTent, Method::kEta}) {
    auto a = make_adapter(model, method(m));
    const auto msg = message_of<InvalidBatch>([&] { a->adapt(fixture_batch(1)); });
    EXPECT_NE(msg.find("at least 2 samples"), std::string::npos) << msg;
    EXPECT_NE(msg.find("received shape [1, 1, 8, 8]"), std::string::npos) << msg;
    EXPECT_EQ(a->stats().batches, 0);
  }
  EXPECT_NO_THROW(make_adapter(model, method(Method::kLame))->adapt(fixture_batch(1)));
  EXPECT_NO_THROW(make_adapter(model, method(Method::kSource))->adapt(fixture_batch(1)));
}

TEST(AdapterErrors, DtypeFinitenessAndRank) {
  auto a = make_adapter(load_fixture_model(), method(Method::kTent));
  auto msg = message_of<InvalidBatch>([&] { a->adapt(fixture_batch().to(torch::kFloat32)); });
  EXPECT_NE(msg.find("expected dtype Double"), std::string::npos) << msg;
  auto bad = fixture_batch();
  bad[3][0][2][2] = NAN;
  msg = message_of<InvalidBatch>([&] { a->adapt(bad); });
  EXPECT_NE(msg.find("finite"), std::string::npos) << msg;
  EXPECT_THROW(a->adapt(torch::Tensor()), InvalidBatch);
  EXPECT_THROW(a->adapt(torch::zeros({}, torch::kFloat64)), InvalidBatch);
  // Rejected batches leave the session untouched.
  const auto s = a->stats();
  EXPECT_EQ(s.batches, 0);
  EXPECT_EQ(s.param_distance, 0.0);
}

TEST(AdapterErrors, EataNeedsFisherUnlessBetaIsZero) {
  const auto model = load_fixture_model();
  auto eata = make_adapter(model, method(Method::kEata));
  const auto msg = message_of<FailedPrecondition>([&] { eata->adapt(fixture_batch()); });
  EXPECT_NE(msg.find("Fisher"), std::string::npos) << msg;
  eata->compute_fisher(fixture_batch(32, 1), 16);
  EXPECT_NO_THROW(eata->adapt(fixture_batch()));

  auto o = method(Method::kEata);
  o.eata.fisher_alpha = 0;
  EXPECT_NO_THROW(make_adapter(model, o)->adapt(fixture_batch()));
}

TEST(AdapterErrors, FisherOnlyForGradientMethodsAndWellFormed) {
  const auto model = load_fixture_model();
  for (const auto m : {Method::kSource, Method::kLame, Method::kNorm}) {
    auto a = make_adapter(model, method(m));
    EXPECT_THROW(a->compute_fisher({fixture_batch()}), FailedPrecondition) << method_name(m);
    EXPECT_THROW(a->set_fisher(FisherInfo{}), FailedPrecondition) << method_name(m);
  }
  auto tent = make_adapter(model, method(Method::kTent));
  EXPECT_THROW(tent->compute_fisher(std::vector<torch::Tensor>{}), InvalidBatch);
  const auto msg = message_of<InvalidBatch>([&] { tent->compute_fisher(fixture_batch(33), 16); });
  EXPECT_NE(msg.find("last batch of 1"), std::string::npos) << msg;
  EXPECT_THROW(tent->compute_fisher(fixture_batch(32), 1), std::invalid_argument);

  FisherInfo wrong = tent->compute_fisher(fixture_batch(32), 16);
  wrong.F[1] = torch::zeros({3}, torch::kFloat64);
  const auto shape_msg = message_of<std::invalid_argument>([&] { tent->set_fisher(wrong); });
  EXPECT_NE(shape_msg.find("body.bn1.bias"), std::string::npos) << shape_msg;
  wrong.names.pop_back();
  EXPECT_THROW(tent->set_fisher(wrong), std::invalid_argument);
}

TEST(AdapterErrors, FrozenMethodsCannotBePublished) {
  const auto model = load_fixture_model();
  EXPECT_THROW(make_adapter(model, method(Method::kLame))->export_module(), FailedPrecondition);
  EXPECT_THROW(make_adapter(model, method(Method::kSource))->export_module(), FailedPrecondition);
  EXPECT_NO_THROW(make_adapter(model, method(Method::kNorm))->export_module());
}

TEST(AdapterErrors, ModelMustReturnLogits) {
  // A model with BatchNorm whose forward returns a 4-D tensor.
  torch::jit::Module m("Wrapper");
  m.register_module("body", load_test_model("cnn_bn").attr("body").toModule());
  m.define(R"(
    def forward(self, x):
        return self.body.forward(x)
  )");
  auto a = make_adapter(m, method(Method::kNorm));
  const auto msg = message_of<FailedPrecondition>([&] { a->adapt(torch::rand({4, 1, 28, 28})); });
  EXPECT_NE(msg.find("logits [N, C]"), std::string::npos) << msg;
}

TEST(AdapterErrors, OptionsAreValidatedByTheFactory) {
  auto o = method(Method::kTent);
  o.optimizer.lr = 0;
  EXPECT_THROW(make_adapter(load_fixture_model(), o), std::invalid_argument);
}

}  // namespace
}  // namespace attune::tta

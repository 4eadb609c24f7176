// Method/affinity names and option validation messages (field, expected, received).
#include "tta/options.h"

#include <gtest/gtest.h>

namespace attune::tta {
namespace {

std::string validation_error(const Options& o) {
  try {
    validate(o);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Options, MethodNamesRoundTrip) {
  for (const auto m : {Method::kSource, Method::kNorm, Method::kTent, Method::kEta, Method::kEata,
                       Method::kLame}) {
    EXPECT_EQ(parse_method(method_name(m)), m);
  }
  EXPECT_EQ(parse_method("EATA"), Method::kEata);
  EXPECT_EQ(parse_affinity("kNN"), Affinity::kKnn);
  EXPECT_TRUE(adapts_parameters(Method::kTent));
  EXPECT_FALSE(adapts_parameters(Method::kNorm));
  EXPECT_FALSE(adapts_parameters(Method::kLame));
}

TEST(Options, UnknownNamesListTheAcceptedOnes) {
  try {
    parse_method("memo");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("method"), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"memo\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"lame\""), std::string::npos) << msg;
  }
  EXPECT_THROW(parse_affinity("cosine"), std::invalid_argument);
}

TEST(Options, OfficialDefaults) {
  const Options o;
  EXPECT_NO_THROW(validate(o));
  EXPECT_EQ(o.method, Method::kEta);
  EXPECT_EQ(o.optimizer.kind, OptimizerOptions::Kind::kSgd);
  EXPECT_EQ(o.optimizer.lr, 0.00025);
  EXPECT_EQ(o.optimizer.momentum, 0.9);
  EXPECT_FALSE(o.optimizer.nesterov);
  EXPECT_EQ(o.eata.e_margin_factor, 0.4);
  EXPECT_EQ(o.eata.d_margin, 0.05);
  EXPECT_EQ(o.eata.fisher_alpha, 2000.0);
  EXPECT_EQ(o.lame.affinity, Affinity::kRbf);
  EXPECT_EQ(o.lame.knn, 5);
  EXPECT_FALSE(o.lame.force_symmetry);
  EXPECT_EQ(o.steps, 1);
  EXPECT_FALSE(o.episodic);
}

TEST(Options, ValidationNamesFieldExpectedAndReceived) {
  struct Case {
    std::function<void(Options&)> edit;
    std::string field, received;
  };
  const std::vector<Case> cases = {
      {[](Options& o) { o.optimizer.lr = -1; }, "optimizer.lr", "-1"},
      {[](Options& o) { o.optimizer.lr = NAN; }, "optimizer.lr", "nan"},
      {[](Options& o) { o.optimizer.momentum = 1.5; }, "optimizer.momentum", "1.5"},
      {[](Options& o) {
         o.optimizer.momentum = 0;
         o.optimizer.nesterov = true;
       },
       "optimizer.nesterov", "momentum 0"},
      {[](Options& o) {
         o.optimizer.kind = OptimizerOptions::Kind::kAdam;
         o.optimizer.beta2 = 1.0;
       },
       "optimizer.beta2", "1"},
      {[](Options& o) { o.steps = 0; }, "steps", "0"},
      {[](Options& o) { o.eata.e_margin_factor = 1.5; }, "eata.e_margin_factor", "1.5"},
      {[](Options& o) { o.eata.d_margin = 0; }, "eata.d_margin", "0"},
      {[](Options& o) { o.eata.fisher_alpha = -2; }, "eata.fisher_alpha", "-2"},
      {[](Options& o) { o.lame.knn = 0; }, "lame.knn", "0"},
  };
  for (const auto& c : cases) {
    Options o;
    c.edit(o);
    const auto msg = validation_error(o);
    ASSERT_FALSE(msg.empty()) << c.field;
    EXPECT_EQ(msg.rfind(c.field + ": expected", 0), 0u) << msg;
    EXPECT_NE(msg.find("received " + c.received), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace attune::tta

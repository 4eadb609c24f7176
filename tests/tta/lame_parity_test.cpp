// LAME against the official fiveai/LAME outputs (tests/fixtures/tta/lame.json): every case,
// float64, Z and energies to 1e-12 absolute with the same number of iterations.
#include <gtest/gtest.h>

#include "fixture_util.h"
#include "tta/lame.h"

namespace attune::tta {
namespace {

using testing::load_json;
using testing::max_abs_diff;
using testing::to_tensor;

constexpr double kTol = 1e-12;  // issue 5 asks for 1e-10; we measure ~1e-15

LameOptions case_options(const nlohmann::json& c) {
  LameOptions o;
  o.affinity = parse_affinity(c["affinity"].get<std::string>());
  o.knn = c["knn"].get<int64_t>();
  o.force_symmetry = c["force_symmetry"].get<bool>();
  return o;
}

TEST(LameParity, EveryOfficialCase) {
  const auto fixture = load_json("lame.json");
  ASSERT_EQ(fixture["cases"].size(), 14u);
  double worst = 0;
  for (const auto& c : fixture["cases"]) {
    const auto& in = fixture["inputs"][c["inputs_key"].get<std::string>()];
    const auto p = to_tensor(in["probas"]);
    const auto f = to_tensor(in["features"]);
    const auto opts = case_options(c);
    SCOPED_TRACE(c["affinity"].get<std::string>() + " knn=" + std::to_string(opts.knn) +
                 " sym=" + std::to_string(opts.force_symmetry) + " N=" + std::to_string(p.size(0)));
    const auto s = lame(p, f, opts);
    ASSERT_TRUE(torch::isfinite(s.Z).all().item<bool>());
    if (c["official_Z_has_nan"].get<bool>()) {
      // rbf with N = 1: the official σ = 0 gives NaN; ours treats W as 0 and returns p
      // (renormalised after the official 1e-10 smoothing of the unary).
      EXPECT_LE(max_abs_diff(s.Z, p), 1e-9);
      EXPECT_EQ(s.iterations, 3);
      continue;
    }
    const double dZ = max_abs_diff(s.Z, to_tensor(c["official_Z"]));
    EXPECT_LE(dZ, kTol);
    worst = std::max(worst, dZ);
    EXPECT_EQ(s.iterations, c["iterations_run"].get<int64_t>());
    EXPECT_EQ(s.converged, c["converged"].get<bool>());
    const auto energies = c["energies"].get<std::vector<double>>();
    ASSERT_EQ(s.energies.size(), energies.size());
    for (size_t t = 0; t < energies.size(); ++t) {
      EXPECT_NEAR(s.energies[t], energies[t], kTol * std::max(1.0, std::abs(energies[t])))
          << "iteration " << t;
    }
    EXPECT_EQ(s.Z.argmax(1).to(torch::kLong).equal(to_tensor(c["argmax_Z"]).to(torch::kLong)),
              true);
  }
  std::cout << "LAME parity: max |Z - official Z| " << worst << "\n";
}

TEST(LameParity, AffinitiesMatchTheRecomputedKernels) {
  const auto fixture = load_json("lame.json");
  int checked = 0;
  for (const auto& c : fixture["cases"]) {
    if (!c.contains("kernel_recomputed") || c["kernel_recomputed"].is_null() ||
        c["official_Z_has_nan"].get<bool>()) {
      continue;
    }
    const auto& in = fixture["inputs"][c["inputs_key"].get<std::string>()];
    const auto x = torch::nn::functional::normalize(
        to_tensor(in["features"]), torch::nn::functional::NormalizeFuncOptions().p(2).dim(-1));
    const auto W = lame_affinity(x, case_options(c));
    SCOPED_TRACE(c["affinity"].get<std::string>() + " N=" + std::to_string(x.size(0)));
    EXPECT_LE(max_abs_diff(W, to_tensor(c["kernel_recomputed"])), 1e-12);
    EXPECT_LE(max_abs_diff(W.sum(1), to_tensor(c["kernel_rowsum_recomputed"])), 1e-11);
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

}  // namespace
}  // namespace attune::tta

// Properties of LAME that follow from its definition (tta spec §1 edge cases, §5 unit tests).
#include <gtest/gtest.h>

#include "fixture_util.h"
#include "tta/lame.h"

namespace attune::tta {
namespace {

using testing::max_abs_diff;

struct Batch {
  torch::Tensor p, f;
};

Batch random_batch(int64_t N, int64_t K, int64_t d, uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::softmax(3.0 * torch::randn({N, K}, torch::kFloat64), 1),
          torch::randn({N, d}, torch::kFloat64)};
}

LameOptions with(Affinity a, int64_t knn = 5, bool sym = false) {
  LameOptions o;
  o.affinity = a;
  o.knn = knn;
  o.force_symmetry = sym;
  return o;
}

TEST(LameProperties, ZeroAffinityReturnsP) {
  const auto b = random_batch(12, 7, 4, 1);
  const auto s =
      laplacian_optimization(-torch::log(b.p + 1e-10), torch::zeros({12, 12}, torch::kFloat64));
  EXPECT_LE(max_abs_diff(s.Z, b.p), 1e-9);  // p up to the official 1e-10 smoothing
  EXPECT_EQ(s.iterations, 3);               // the stopping rule cannot fire before t = 2
  EXPECT_TRUE(s.converged);
}

TEST(LameProperties, RowsOnTheSimplexForEveryAffinity) {
  for (const auto a : {Affinity::kKnn, Affinity::kRbf, Affinity::kLinear}) {
    for (const int64_t N : {2, 5, 33}) {
      const auto b = random_batch(N, 10, 16, static_cast<uint64_t>(N));
      const auto s = lame(b.p, b.f, with(a));
      SCOPED_TRACE(std::string(affinity_name(a)) + " N=" + std::to_string(N));
      EXPECT_TRUE(torch::isfinite(s.Z).all().item<bool>());
      EXPECT_GE(s.Z.min().item<double>(), 0.0);
      EXPECT_LE(max_abs_diff(s.Z.sum(1), torch::ones({N}, torch::kFloat64)), 1e-12);
      EXPECT_GE(s.iterations, 3);
      EXPECT_LE(s.iterations, 100);
    }
  }
}

TEST(LameProperties, KnnIsBinaryWithoutSelfLoopsAndRowSumsMinKNMinus1) {
  for (const int64_t N : {1, 2, 4, 6, 20}) {
    for (const int64_t k : {1, 3, 5}) {
      const auto x = torch::nn::functional::normalize(
          random_batch(N, 3, 8, static_cast<uint64_t>(10 * N + k)).f,
          torch::nn::functional::NormalizeFuncOptions().dim(-1));
      const auto W = lame_affinity(x, with(Affinity::kKnn, k));
      SCOPED_TRACE("N=" + std::to_string(N) + " k=" + std::to_string(k));
      EXPECT_TRUE(((W == 0) | (W == 1)).all().item<bool>());
      EXPECT_EQ(W.diagonal().abs().sum().item<double>(), 0.0);
      EXPECT_TRUE((W.sum(1) == static_cast<double>(std::min(k, N - 1))).all().item<bool>());
    }
  }
}

TEST(LameProperties, KnnPicksTheNearestNeighbours) {
  // Points on a line: the nearest two of 0 are 1 and 2, of 5 are 4 and 3.
  auto x = torch::zeros({6, 2}, torch::kFloat64);
  for (int i = 0; i < 6; ++i) x[i][0] = i * i * 0.1;
  const auto W = lame_affinity(x, with(Affinity::kKnn, 2));
  EXPECT_TRUE(W[0].equal(torch::tensor({0., 1., 1., 0., 0., 0.}, torch::kFloat64)));
  EXPECT_TRUE(W[5].equal(torch::tensor({0., 0., 0., 1., 1., 0.}, torch::kFloat64)));
}

TEST(LameProperties, GramDistancesMatchBruteForceAndRbfSigmaCountsSelf) {
  const auto x = torch::nn::functional::normalize(
      random_batch(9, 2, 5, 3).f, torch::nn::functional::NormalizeFuncOptions().dim(-1));
  const auto brute = (x.unsqueeze(0) - x.unsqueeze(1)).pow(2).sum(-1);
  const auto d2 = squared_distances(x);
  EXPECT_LE(max_abs_diff(d2, brute), 1e-14);
  EXPECT_EQ(d2.diagonal().abs().sum().item<double>(), 0.0);
  EXPECT_GE(d2.min().item<double>(), 0.0);

  // σ = mean over rows of the 3rd smallest distance, self (0) included.
  const auto D = brute.sqrt();
  const double sigma = std::get<0>(D.sort(1)).select(1, 2).mean().item<double>();
  const auto expected = torch::exp(-brute / (2 * sigma * sigma));
  EXPECT_LE(max_abs_diff(lame_affinity(x, with(Affinity::kRbf, 3)), expected), 1e-13);
}

TEST(LameProperties, SingleSampleReturnsPForEveryAffinity) {
  const auto b = random_batch(1, 10, 6, 4);
  for (const auto a : {Affinity::kKnn, Affinity::kRbf}) {
    const auto s = lame(b.p, b.f, with(a));
    EXPECT_LE(max_abs_diff(s.Z, b.p), 1e-9) << affinity_name(a);
    EXPECT_EQ(s.Z.argmax(1).item<int64_t>(), b.p.argmax(1).item<int64_t>());
  }
}

TEST(LameProperties, IdenticalFeaturesDoNotProduceNaN) {
  // Every k-th distance is 0, so the official rbf σ would be 0; we fall back to W = 0.
  const auto b = random_batch(8, 4, 3, 5);
  const auto f = torch::ones({8, 3}, torch::kFloat64);
  const auto s = lame(b.p, f, with(Affinity::kRbf));
  EXPECT_LE(max_abs_diff(s.Z, b.p), 1e-9);
}

TEST(LameProperties, ConvergedSolutionIsAFixedPoint) {
  for (const auto a : {Affinity::kKnn, Affinity::kRbf}) {
    const auto b = random_batch(24, 10, 16, 6);
    const auto x = torch::nn::functional::normalize(
        b.f, torch::nn::functional::NormalizeFuncOptions().dim(-1));
    const auto W = lame_affinity(x, with(a));
    const auto s = laplacian_optimization(-torch::log(b.p + 1e-10), W);
    ASSERT_TRUE(s.converged) << affinity_name(a);
    const auto again = torch::softmax(torch::log(b.p + 1e-10) + W.mm(s.Z), 1);
    EXPECT_LE(max_abs_diff(again, s.Z), 1e-4) << affinity_name(a);
  }
}

TEST(LameProperties, ForceSymmetryAveragesWithTheTranspose) {
  const auto x = torch::nn::functional::normalize(
      random_batch(10, 2, 4, 7).f, torch::nn::functional::NormalizeFuncOptions().dim(-1));
  const auto W = lame_affinity(x, with(Affinity::kKnn, 3));
  const auto Ws = lame_affinity(x, with(Affinity::kKnn, 3, true));
  EXPECT_FALSE(W.equal(W.t()));  // directed kNN graph
  EXPECT_TRUE(Ws.equal(Ws.t()));
  EXPECT_LE(max_abs_diff(Ws, 0.5 * (W + W.t())), 0.0);
}

TEST(LameProperties, NeighboursSharingALabelCorrectAnOutlier) {
  // Two tight clusters; one point of cluster A is predicted as B's class. Its kNN neighbours
  // (all in A) pull it back: LAME's use case on label-correlated batches.
  torch::manual_seed(8);
  const int64_t N = 12;
  auto f = torch::zeros({N, 4}, torch::kFloat64);
  f.slice(0, 0, 6).select(1, 0).fill_(1.0);
  f.slice(0, 6, N).select(1, 1).fill_(1.0);
  f += 0.01 * torch::randn({N, 4}, torch::kFloat64);
  auto p = torch::full({N, 2}, 0.2, torch::kFloat64);
  p.slice(0, 0, 6).select(1, 0).fill_(0.8);
  p.slice(0, 6, N).select(1, 1).fill_(0.8);
  p[0] = torch::tensor({0.4, 0.6}, torch::kFloat64);
  const auto s = lame(p, f, with(Affinity::kKnn, 3));
  EXPECT_EQ(s.Z[0].argmax().item<int64_t>(), 0);
  EXPECT_EQ(p[0].argmax().item<int64_t>(), 1);
}

}  // namespace
}  // namespace attune::tta

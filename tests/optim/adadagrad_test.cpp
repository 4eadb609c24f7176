// AdAdaGrad batch-size tests against the official tests.py numbers (fixture
// `adadagrad_tests_at_init`), the official 30-step loop with torch.optim.Adagrad, the Linear
// closed form, the micro-batch approximation, and merging of split statistics.
#include <gtest/gtest.h>

#include <cmath>

#include "optim/adadagrad/batch_policy.h"
#include "problem.h"

namespace attune::optim::testing {
namespace {

using namespace attune::optim::adadagrad;

constexpr int64_t kNoCap = int64_t{1} << 40;

BatchStatistics exact_at_init(const Problem& problem, int64_t b) {
  const auto stats = exact_statistics(problem.params, b, [&](int64_t i) { return problem.sample_loss(i); });
  return summarize(stats.moments, &*stats.projections, b);
}

int64_t next_b(BatchTest test, double eta, double theta, double nu, const BatchStatistics& s) {
  AdAdaGradOptions o;
  o.test = test;
  o.eta = eta;
  o.theta = theta;
  o.nu = nu;
  o.max_batch_size = kNoCap;
  return next_batch_size(o, s, s.batch_size);
}

TEST(AdAdaGradStatistics, MatchOfficialTestsAtInit) {
  const auto problem = make_problem(64, torch::kDouble);
  const auto& ref = fixture("float64")["adadagrad_tests_at_init"];
  for (const int64_t b : {4, 16}) {
    SCOPED_TRACE("b=" + std::to_string(b));
    const auto& r = ref["b" + std::to_string(b)];
    const auto s = exact_at_init(problem, b);
    EXPECT_LE(rel_err(s.sum_variance, r["sum_coord_sample_var"].get<double>()), 1e-12);
    EXPECT_LE(rel_err(s.grad_norm_sq, r["batch_grad_norm_sq"].get<double>()), 1e-12);
    EXPECT_LE(rel_err(s.ip_variance, r["ip_var_sum_per_tensor"].get<double>()), 1e-12);
    EXPECT_LE(rel_err(s.orth_variance, r["orth_var_sum"].get<double>()), 1e-12);
    EXPECT_EQ(next_b(BatchTest::kNorm, 0.5, 0.1, 0.1, s), r["norm_test_eta0.5_next_b"].get<int64_t>());
    EXPECT_EQ(next_b(BatchTest::kNorm, 0.1, 0.1, 0.1, s), r["norm_test_eta0.1_next_b"].get<int64_t>());
    EXPECT_EQ(next_b(BatchTest::kInnerProduct, 0.1, 0.5, 0.1, s), r["ip_test_theta0.5_next_b"].get<int64_t>());
    EXPECT_EQ(next_b(BatchTest::kInnerProductOrthogonality, 0.1, 0.5, 1.0, s),
              r["aug_ip_theta0.5_nu1_next_b"].get<int64_t>());
  }
}

// Spec §7 loop: N=64, b₀=2, norm test η=1, cap 64, torch::optim::Adagrad lr 0.1, batch =
// indices c..c+b−1 (mod 64) then c += b, test on that batch at the pre-step parameters.
struct LoopResult {
  std::vector<int64_t> batch_sizes;
  std::vector<double> minibatch_losses;
  double full_loss = 0;
  torch::Tensor params;
};

LoopResult adagrad_loop(double eta, int steps) {
  auto problem = make_problem(64, torch::kDouble);
  torch::optim::Adagrad optimizer(problem.params, torch::optim::AdagradOptions(0.1));
  AdAdaGradOptions options;
  options.eta = eta;
  options.max_batch_size = 64;
  const AdAdaGradPolicy policy(options);
  LoopResult out;
  int64_t b = 2, cursor = 0;
  for (int it = 0; it < steps; ++it) {
    const auto index = torch::remainder(torch::arange(cursor, cursor + b, torch::kLong), 64);
    cursor += b;
    const auto x = problem.x.index_select(0, index);
    const auto y = problem.y.index_select(0, index);
    out.batch_sizes.push_back(b);
    int64_t next = b;
    if (policy.should_test(it, b)) {
      next = policy.evaluate(problem.params, b, [&](int64_t i) {
        return (problem.predict(x.narrow(0, i, 1)) - y.narrow(0, i, 1)).pow(2).mean();
      }).next_batch_size;
    }
    optimizer.zero_grad();
    auto loss = (problem.predict(x) - y).pow(2).mean();
    loss.backward();
    optimizer.step();
    out.minibatch_losses.push_back(loss.item<double>());
    b = next;
  }
  torch::NoGradGuard no_grad;
  out.full_loss = problem.loss().item<double>();
  out.params = flatten(problem.params);
  return out;
}

TEST(AdAdaGradLoop, ReproducesOfficialLoopWithAdagrad) {
  const auto& ref = fixture("float64")["adadagrad_loop_adagrad"];
  const auto got = adagrad_loop(1.0, 30);
  EXPECT_EQ(got.batch_sizes, ref["batch_sizes"].get<std::vector<int64_t>>());  // 2, then 18 × 29
  const auto losses = ref["minibatch_losses"].get<std::vector<double>>();
  for (size_t t = 0; t < losses.size(); ++t) EXPECT_LE(rel_err(got.minibatch_losses[t], losses[t]), 1e-10) << t;
  EXPECT_LE(rel_err(got.full_loss, ref["full_loss_after"].get<double>()), 1e-10);
  EXPECT_NEAR(got.full_loss, 0.4871944355, 1e-10);
  EXPECT_LE(rel_err(got.params, to_tensor(ref["params_after"])), 1e-10);
}

TEST(AdAdaGradLoop, OtherEtasGiveTheSpecsFirstJumps) {
  EXPECT_EQ(adagrad_loop(2.0, 2).batch_sizes, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(adagrad_loop(0.5, 2).batch_sizes, (std::vector<int64_t>{2, 64}));  // capped
}

// Per-sample gradients in closed form for both Linear layers of the problem equal the exact
// one-backward-per-sample ones.
TEST(AdAdaGradStatistics, LinearClosedFormEqualsPerSampleBackward) {
  const auto problem = make_problem(64, torch::kDouble);
  const int64_t n = 16;
  const auto x = problem.x.narrow(0, 0, n);
  const auto y = problem.y.narrow(0, 0, n);
  // One batched backward of Σᵢℓᵢ gives each sample's output gradient Δᵢ = ∂ℓᵢ/∂zᵢ.
  auto z1 = x.matmul(problem.params[0].t()) + problem.params[1];
  auto h = torch::tanh(z1);
  auto z2 = h.matmul(problem.params[2].t()) + problem.params[3];
  z1.retain_grad();
  z2.retain_grad();
  (z2.squeeze(1) - y).pow(2).sum().backward();

  GradientMoments closed({32, 8, 8, 1});
  add_linear_samples(closed, 0, 1, x, z1.grad());
  add_linear_samples(closed, 2, 3, h.detach(), z2.grad());
  ProjectionMoments closed_proj(closed.means());
  add_linear_projections(closed_proj, 0, 1, x, z1.grad());
  add_linear_projections(closed_proj, 2, 3, h.detach(), z2.grad());
  const auto fast = summarize(closed, &closed_proj, n);

  const auto exact = exact_at_init(problem, n);
  EXPECT_LE(rel_err(fast.sum_variance, exact.sum_variance), 1e-12);
  EXPECT_LE(rel_err(fast.grad_norm_sq, exact.grad_norm_sq), 1e-12);
  EXPECT_LE(rel_err(fast.ip_variance, exact.ip_variance), 1e-12);
  EXPECT_LE(rel_err(fast.orth_variance, exact.orth_variance), 1e-11);
  EXPECT_LE(rel_err(fast.sum_variance, 15.879087156226174), 1e-12);
}

// Statistics of a batch split in three uneven parts, merged, equal those of the whole batch;
// so does the all-reduce form (sum of to_tensor()).
TEST(AdAdaGradStatistics, MergedPartsEqualTheWhole) {
  const auto problem = make_problem(64, torch::kDouble);
  const int64_t n = 16;
  std::vector<std::vector<torch::Tensor>> samples;
  for_each_sample_gradient(problem.params, n, [&](int64_t i) { return problem.sample_loss(i); },
                           [&](int64_t, const std::vector<torch::Tensor>& g) {
                             std::vector<torch::Tensor> copy;
                             for (const auto& t : g) copy.push_back(t.clone());
                             samples.push_back(copy);
                           });
  const std::vector<int64_t> numels{32, 8, 8, 1};
  const std::vector<std::pair<int64_t, int64_t>> parts{{0, 5}, {5, 6}, {6, 16}};

  GradientMoments whole(numels);
  for (const auto& s : samples) whole.add_sample(s);
  GradientMoments merged(numels);
  torch::Tensor reduced;
  for (const auto& [begin, end] : parts) {
    GradientMoments part(numels);
    for (int64_t i = begin; i < end; ++i) part.add_sample(samples[i]);
    merged.merge(part);
    reduced = reduced.defined() ? reduced + part.to_tensor() : part.to_tensor();
  }
  const auto all_reduced = GradientMoments::from_tensor(reduced, numels);
  for (const GradientMoments* m : std::initializer_list<const GradientMoments*>{&merged, &all_reduced}) {
    EXPECT_EQ(m->count(), n);
    EXPECT_LE(rel_err(m->sum_variance(), whole.sum_variance()), 1e-12);
    EXPECT_LE(rel_err(m->mean_norm_sq(), whole.mean_norm_sq()), 1e-12);
    for (size_t l = 0; l < numels.size(); ++l) EXPECT_LE(rel_err(m->mean(l), whole.mean(l)), 1e-12);
  }

  // Phase 2 on every part along the merged mean.
  ProjectionMoments whole_proj(merged.means());
  for (const auto& s : samples) whole_proj.add_sample(s);
  ProjectionMoments merged_proj(merged.means());
  torch::Tensor reduced_proj;
  for (const auto& [begin, end] : parts) {
    ProjectionMoments part(merged.means());
    for (int64_t i = begin; i < end; ++i) part.add_sample(samples[i]);
    merged_proj.merge(part);
    reduced_proj = reduced_proj.defined() ? reduced_proj + part.to_tensor() : part.to_tensor();
  }
  const auto all_reduced_proj = ProjectionMoments::from_tensor(reduced_proj, merged.means());
  const auto& ref = fixture("float64")["adadagrad_tests_at_init"]["b16"];
  for (const ProjectionMoments* p : std::initializer_list<const ProjectionMoments*>{&merged_proj, &all_reduced_proj}) {
    const auto s = summarize(merged, p, n);
    EXPECT_LE(rel_err(s.ip_variance, ref["ip_var_sum_per_tensor"].get<double>()), 1e-10);
    EXPECT_LE(rel_err(s.orth_variance, ref["orth_var_sum"].get<double>()), 1e-10);
  }
}

// The micro-batch estimator is an approximation: on i.i.d. data it lands near the exact value.
TEST(AdAdaGradStatistics, MicroBatchEstimateApproximatesExactVariance) {
  torch::manual_seed(3);
  const int64_t n = 2048, micro = 16;
  const auto x = torch::randn({n, 8}, torch::kDouble);
  const auto y = x.matmul(torch::linspace(-1, 1, 8, torch::kDouble)) + 0.5 * torch::randn({n}, torch::kDouble);
  auto w = torch::zeros({1, 8}, torch::kDouble).set_requires_grad(true);
  auto b = torch::zeros({1}, torch::kDouble).set_requires_grad(true);
  const std::vector<torch::Tensor> params{w, b};
  const auto range_loss = [&](int64_t begin, int64_t end) {
    auto pred = (x.slice(0, begin, end).matmul(w.t()) + b).squeeze(1);
    return (pred - y.slice(0, begin, end)).pow(2).mean();
  };
  const auto exact_stats = exact_statistics(params, n, [&](int64_t i) { return range_loss(i, i + 1); });
  const auto exact = summarize(exact_stats.moments, &*exact_stats.projections, n);
  const auto approx = microbatch_statistics(params, n, micro, range_loss, /*projections=*/true);

  RecordProperty("sum_variance_micro_over_exact", std::to_string(approx.sum_variance / exact.sum_variance));
  RecordProperty("ip_variance_micro_over_exact", std::to_string(approx.ip_variance / exact.ip_variance));
  EXPECT_TRUE(approx.approximate);
  EXPECT_FALSE(exact.approximate);
  EXPECT_LE(rel_err(approx.grad_norm_sq, exact.grad_norm_sq), 1e-12);  // the mean is exact
  // Loose bounds: 128 micro-batch means, relative standard error about 0.1-0.2.
  EXPECT_LE(rel_err(approx.sum_variance, exact.sum_variance), 0.3);
  EXPECT_LE(rel_err(approx.ip_variance, exact.ip_variance), 0.4);
  EXPECT_GT(exact.sum_variance, 1.0);
}

TEST(AdAdaGradPolicy, NextBatchIsMonotoneCeiledAndCapped) {
  AdAdaGradOptions o;
  o.eta = 1.0;
  o.max_batch_size = 100;
  BatchStatistics s;
  s.batch_size = 10;
  s.grad_norm_sq = 1.0;
  s.sum_variance = 4.2;  // b' = 4.2 < b: keep 10
  EXPECT_EQ(next_batch_size(o, s, 10), 10);
  s.sum_variance = 17.2;  // ⌈17.2⌉
  EXPECT_EQ(next_batch_size(o, s, 10), 18);
  s.sum_variance = 1e9;  // capped
  EXPECT_EQ(next_batch_size(o, s, 10), 100);
  s.grad_norm_sq = 0.0;  // b' = +inf
  EXPECT_EQ(next_batch_size(o, s, 10), 100);
  s.sum_variance = 0.0;  // 0/0: keep b, as official
  EXPECT_EQ(next_batch_size(o, s, 10), 10);

  const AdAdaGradPolicy policy(o);
  s.grad_norm_sq = 1.0;
  s.sum_variance = 9.0;
  EXPECT_TRUE(policy.decide(s).passed);
  s.sum_variance = 11.0;
  EXPECT_FALSE(policy.decide(s).passed);
  EXPECT_DOUBLE_EQ(policy.decide(s).candidate, 11.0);

  o.test_interval = 3;
  const AdAdaGradPolicy sparse(o);
  EXPECT_TRUE(sparse.should_test(0, 10));
  EXPECT_FALSE(sparse.should_test(1, 10));
  EXPECT_TRUE(sparse.should_test(3, 10));
  EXPECT_FALSE(sparse.should_test(3, 100));  // at the cap
}

TEST(AdAdaGradPolicy, AugmentedTestTakesTheLargerCandidate) {
  AdAdaGradOptions o;
  o.test = BatchTest::kInnerProductOrthogonality;
  o.theta = 0.5;
  o.nu = 1.0;
  o.max_batch_size = 1000;
  BatchStatistics s;
  s.batch_size = 4;
  s.grad_norm_sq = 2.0;
  s.has_projection = true;
  s.ip_variance = 30.0;    // 30/(0.25·4) = 30
  s.orth_variance = 50.0;  // 50/(1·2) = 25
  EXPECT_EQ(next_batch_size(o, s, 4), 30);
  s.orth_variance = 70.0;  // 35
  EXPECT_EQ(next_batch_size(o, s, 4), 35);
  o.test = BatchTest::kOrthogonality;
  EXPECT_EQ(next_batch_size(o, s, 4), 35);
  o.test = BatchTest::kInnerProduct;
  EXPECT_EQ(next_batch_size(o, s, 4), 30);
}

TEST(AdAdaGradPolicy, RejectsBadOptions) {
  AdAdaGradOptions o;
  o.max_batch_size = 0;
  EXPECT_THROW(AdAdaGradPolicy{o}, std::invalid_argument);
  o.max_batch_size = 10;
  o.eta = -1;
  try {
    AdAdaGradPolicy policy(o);
    FAIL() << "accepted eta = -1";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "adadagrad.eta: expected a finite value > 0, received -1");
  }
}

}  // namespace
}  // namespace attune::optim::testing

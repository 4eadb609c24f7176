// Forecasting models: ridge equals a direct solve of its normal equations; every trainable
// model beats persistence on a learnable series through the full engine; neural fits are
// reproducible from their seed whatever else uses LibTorch's global generator.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "nowcast/nowcaster.h"
#include "nowcast/regressor.h"

namespace attune::nowcast {
namespace {

// Gaussian elimination with partial pivoting on a dense row-major system.
std::vector<double> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t piv = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[piv][c])) piv = r;
    std::swap(a[c], a[piv]);
    std::swap(b[c], b[piv]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= a[i][k] * x[k];
    x[i] = s / a[i][i];
  }
  return x;
}

TEST(Ridge, EqualsADirectSolveOfTheWeightedNormalEquations) {
  torch::manual_seed(3);
  const int64_t n = 60, p = 5, q = 2;
  const double l2 = 0.7;
  FitData d;
  d.x = torch::randn({n, p}, torch::kFloat64);
  d.y = torch::randn({n, q}, torch::kFloat64);
  d.w = torch::rand({n}, torch::kFloat64) + 0.5;
  d.x_val = d.x.narrow(0, 0, 3);
  d.y_val = d.y.narrow(0, 0, 3);
  auto ridge = make_ridge(l2);
  const auto stats = ridge->fit(d);
  EXPECT_EQ(stats.epochs, 1);
  EXPECT_DOUBLE_EQ(stats.flops, 60.0 * 25 + 125.0 / 3);
  const auto pred = ridge->predict(d.x);

  // Unknowns θ = [β (p), b (1)] per output; the penalty skips the intercept.
  auto X = d.x.accessor<double, 2>();
  auto Y = d.y.accessor<double, 2>();
  auto W = d.w.accessor<double, 1>();
  for (int64_t o = 0; o < q; ++o) {
    std::vector<std::vector<double>> a(p + 1, std::vector<double>(p + 1, 0.0));
    std::vector<double> rhs(p + 1, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      std::vector<double> row;
      for (int64_t j = 0; j < p; ++j) row.push_back(X[i][j]);
      row.push_back(1.0);
      for (int64_t r = 0; r <= p; ++r) {
        rhs[r] += W[i] * row[r] * Y[i][o];
        for (int64_t c = 0; c <= p; ++c) a[r][c] += W[i] * row[r] * row[c];
      }
    }
    for (int64_t j = 0; j < p; ++j) a[j][j] += l2;
    const auto theta = solve(a, rhs);
    for (int64_t i = 0; i < n; ++i) {
      double expected = theta[p];
      for (int64_t j = 0; j < p; ++j) expected += theta[j] * X[i][j];
      ASSERT_NEAR(pred[i][o].item<double>(), expected, 1e-10) << i << "," << o;
    }
  }
}

// y_t = 10·sin(2πt/16) + noise: persistence is poor at 1–3 steps, a lagged model is not.
std::vector<Observation> learnable(size_t n) {
  std::mt19937 rng(4);
  std::normal_distribution<double> noise(0.0, 0.3);
  std::vector<Observation> obs;
  for (size_t t = 0; t < n; ++t) {
    Observation o;
    o.time = 1'600'000'000 + static_cast<int64_t>(t) * 86400;
    o.values["y"] = 10.0 * std::sin(6.283185307179586 * static_cast<double>(t) / 16.0) + noise(rng);
    obs.push_back(o);
  }
  return obs;
}

StreamConfig learnable_config(ModelKind kind) {
  StreamConfig c = make_stream_config("sine", {"y"}, {"y"}, 86400);
  c.model.kind = kind;
  c.model.hidden = kind == ModelKind::transformer ? 16 : 32;
  c.model.lr = 3e-3;
  c.model.max_epochs = 40;
  c.model.patience = 8;
  c.window.n_min = 150;
  c.window.n_max = 150;
  c.retrain.trigger = TriggerKind::none;
  c.retrain.max_age = 0;
  return c;
}

class BeatsPersistence : public ::testing::TestWithParam<ModelKind> {};

TEST_P(BeatsPersistence, OnALearnableSeries) {
  torch::set_num_threads(1);
  Nowcaster nc(learnable_config(GetParam()));
  for (const auto& o : learnable(320)) nc.ingest(o);
  const auto s = nc.status();
  EXPECT_EQ(s.fits, 1);
  for (const auto& h : s.horizons) {
    ASSERT_GT(h.count, 100);
    EXPECT_LT(h.mae, 0.5 * h.persistence_mae)
        << to_string(GetParam()) << " h=" << h.horizon << " mae " << h.mae << " vs persistence "
        << h.persistence_mae;
    EXPECT_GT(h.skill, 0.5);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, BeatsPersistence,
                         ::testing::Values(ModelKind::ridge, ModelKind::mlp, ModelKind::lstm,
                                           ModelKind::transformer),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(Ridge, FitUnscaledEqualsScalingThenFit) {
  // The one-pass path (scalers fitted with the moments, scaled normal equations derived from
  // the raw ones) gives the same scalers and, to round-off, the same model as scaling first.
  torch::manual_seed(5);
  const int64_t n = 80, p = 6, q = 3;
  auto x = torch::randn({n, p}, torch::kFloat64) * torch::tensor({1.0, 5.0, 0.1, 30.0, 2.0, 1.0}, torch::kFloat64) +
           torch::tensor({0.0, 1000.0, -3.0, 15.0, 7.0, 0.0}, torch::kFloat64);
  x.select(1, 5).fill_(4.2);  // a constant column maps to 0
  const auto y = torch::randn({n, q}, torch::kFloat64) * 3 + 10;
  const auto w = torch::rand({n}, torch::kFloat64) + 0.5;

  auto one_pass = make_ridge(0.7);
  MinMaxScaler xs1, ys1;
  const auto stats = one_pass->fit_unscaled(x, y, w, xs1, ys1);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->epochs, 1);

  MinMaxScaler xs2, ys2;
  xs2.fit(x);
  ys2.fit(y);
  FitData d;
  d.x = xs2.transform(x);
  d.y = ys2.transform(y);
  d.w = w;
  auto two_pass = make_ridge(0.7);
  two_pass->fit(d);

  EXPECT_EQ(xs1.center, xs2.center);
  EXPECT_EQ(xs1.half_range, xs2.half_range);
  EXPECT_EQ(ys1.center, ys2.center);
  EXPECT_EQ(ys1.half_range, ys2.half_range);
  EXPECT_EQ(xs1.half_range[5], 1.0);
  const auto a = one_pass->predict(d.x), b = two_pass->predict(d.x);
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-10);
  // And the scaler round-trips.
  EXPECT_LT((xs1.inverse(xs1.transform(x)) - x).abs().max().item<double>(), 1e-9);
  EXPECT_LE(d.x.abs().max().item<double>(), 1.0 + 1e-12);  // [−1, 1] up to round-off
}

TEST(Ridge, SaveLoadRoundTrip) {
  torch::manual_seed(6);
  FitData d;
  d.x = torch::randn({40, 4}, torch::kFloat64);
  d.y = torch::randn({40, 2}, torch::kFloat64);
  d.w = torch::ones({40}, torch::kFloat64);
  auto a = make_ridge(1.0);
  a->fit(d);
  torch::serialize::OutputArchive out;
  a->save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  std::istringstream is(bytes.str());
  in.load_from(is);
  auto b = make_ridge(1.0);
  b->load(in);
  EXPECT_TRUE(torch::equal(a->predict(d.x), b->predict(d.x)));
}

TEST(Neural, SameSeedSameModelWhateverTheGlobalGenerator) {
  auto run = [](int64_t global_seed) {
    torch::manual_seed(global_seed);
    (void)torch::rand({100});  // other LibTorch users drawing from the global generator
    StreamConfig c = learnable_config(ModelKind::mlp);
    c.model.dropout = 0.1;
    c.model.max_epochs = 5;
    Nowcaster nc(c);
    std::vector<double> out;
    for (const auto& o : learnable(200)) {
      const auto ev = nc.ingest(o);
      for (const auto& h : ev.forecast->horizons) out.push_back(h.values[0]);
    }
    return out;
  };
  EXPECT_EQ(run(1), run(2));
}

TEST(Neural, FlopsProxyFollowsSpec18) {
  // MLP p→64→64→3: 3 · 2 · (p·64 + 64·64 + 64·3) per sample per epoch (§1.8).
  ModelConfig c;
  c.kind = ModelKind::mlp;
  c.max_epochs = 2;
  c.patience = 10;
  FeatureLayout f{4, 7, 2};
  auto m = make_regressor(c, f, 3, 0);
  FitData d;
  d.x = torch::rand({50, 30}, torch::kFloat64);
  d.y = torch::rand({50, 3}, torch::kFloat64);
  d.w = torch::ones({50}, torch::kFloat64);
  d.x_val = d.x.narrow(0, 0, 5);
  d.y_val = d.y.narrow(0, 0, 5);
  const auto s = m->fit(d);
  EXPECT_EQ(s.epochs, 2);
  EXPECT_DOUBLE_EQ(s.flops, 6.0 * (30 * 64 + 64 * 64 + 64 * 3) * 50 * 2);
}

}  // namespace
}  // namespace attune::nowcast

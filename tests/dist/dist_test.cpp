// server/dist with every rank a thread: rank choice from the Kubernetes environment, the
// bucketed gradient all-reduce (sums, buckets, undefined gradients), AdAdaGrad statistics merged
// across ranks by the law of total variance (equal to one process over the same global batch,
// for uneven shards and ranks with no samples), and bounded failures (a missing rank, a rank
// that leaves).
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "dist/batch_statistics.h"
#include "dist/grad_reducer.h"
#include "dist/process_group.h"
#include "dist/rank_env.h"

namespace attune::dist {
namespace {

namespace ada = optim::adadagrad;
using namespace std::chrono_literals;

// Runs fn(group) on `world` threads joined in one group; returns each rank's result.
template <typename Fn>
auto on_ranks(int world, Fn fn, std::chrono::milliseconds timeout = 20s) {
  StoreServer store("127.0.0.1", 0, 30s);
  using R = decltype(fn(std::declval<Group&>()));
  std::vector<std::future<R>> futures;
  static int prefix = 0;
  const std::string p = "t" + std::to_string(++prefix);
  for (int r = 0; r < world; ++r) {
    futures.push_back(std::async(std::launch::async, [&, r] {
      GroupOptions o;
      o.store_port = store.port();
      o.prefix = p;
      o.rank = r;
      o.world_size = world;
      o.device_host = "127.0.0.1";
      o.join_timeout = 30s;
      o.timeout = timeout;
      auto g = Group::join(o);
      return fn(*g);
    }));
  }
  std::vector<R> out;
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

TEST(RankEnv, ExplicitThenIndexedJobThenStatefulSetOrdinal) {
  EXPECT_EQ(choose_rank(2, std::string("5"), "attune-worker-7").rank, 2);
  EXPECT_EQ(choose_rank(-1, std::string("0"), "attune-worker-7").rank, 1);
  EXPECT_EQ(choose_rank(-1, std::string("4"), "").rank, 5);
  EXPECT_EQ(choose_rank(-1, std::nullopt, "attune-worker-2").rank, 3);
  EXPECT_EQ(choose_rank(-1, std::nullopt, "laptop").rank, -1);
  EXPECT_EQ(choose_rank(-1, std::nullopt, "attune-worker-x").rank, -1);
  EXPECT_THROW(choose_rank(-1, std::string("one"), ""), std::invalid_argument);
  EXPECT_EQ(host_of("attune-0.attune-headless:50051"), "attune-0.attune-headless");
  EXPECT_EQ(host_of("[::1]:50051"), "::1");
  EXPECT_THROW(host_of("attune-0"), std::invalid_argument);
}

TEST(GradientReducer, SumsEveryBucketAndKeepsUndefinedOnlyWhereUndefinedEverywhere) {
  const int world = 3;
  auto sums = on_ranks(world, [](Group& g) {
    const int r = g.rank();
    std::vector<torch::Tensor> params{torch::zeros({4, 3}, torch::kFloat64).requires_grad_(),
                                      torch::zeros({3}, torch::kFloat64).requires_grad_(),
                                      torch::zeros({5}, torch::kFloat32).requires_grad_(),
                                      torch::zeros({2}, torch::kFloat64).requires_grad_(),
                                      torch::zeros({6}, torch::kFloat64).requires_grad_()};
    params[0].mutable_grad() = torch::full({4, 3}, 1.0 + r, torch::kFloat64);
    params[1].mutable_grad() = torch::arange(3, torch::kFloat64) * (r + 1);
    params[2].mutable_grad() = torch::full({5}, 0.5f * static_cast<float>(r), torch::kFloat32);
    if (r == 1) params[3].mutable_grad() = torch::full({2}, 7.0, torch::kFloat64);  // one rank only
    // params[4]: no gradient anywhere.
    GradientReducer reducer(params, 5 * 8);  // 40 bytes: several buckets, split by dtype too
    EXPECT_GE(reducer.buckets(), 4u);
    EXPECT_EQ(reducer.numel(), 12 + 3 + 5 + 2 + 6);
    auto extra = torch::full({2}, static_cast<double>(r), torch::kFloat64);
    reducer.reduce(g, extra);
    EXPECT_EQ(extra[0].item<double>(), 0 + 1 + 2);
    std::vector<torch::Tensor> grads;
    for (auto& p : params) grads.push_back(p.grad());
    return grads;
  });
  for (const auto& grads : sums) {
    EXPECT_TRUE(torch::equal(grads[0], torch::full({4, 3}, 6.0, torch::kFloat64)));
    EXPECT_TRUE(torch::equal(grads[1], torch::arange(3, torch::kFloat64) * 6));
    EXPECT_TRUE(torch::equal(grads[2], torch::full({5}, 1.5f, torch::kFloat32)));
    EXPECT_TRUE(torch::equal(grads[3], torch::full({2}, 7.0, torch::kFloat64)));
    EXPECT_FALSE(grads[4].defined());
  }
}

// A small softmax regression whose per-sample gradients differ: W [5, 3], b [3], 11 samples.
struct Problem {
  torch::Tensor x = torch::randn({11, 5}, torch::TensorOptions().dtype(torch::kFloat64)) * 2;
  torch::Tensor y = torch::tensor({0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 1}, torch::kInt64);
  torch::Tensor w0 = torch::randn({5, 3}, torch::kFloat64), b0 = torch::randn({3}, torch::kFloat64);

  std::vector<torch::Tensor> params() const {
    return {w0.clone().requires_grad_(), b0.clone().requires_grad_()};
  }
  static torch::Tensor loss(const std::vector<torch::Tensor>& p, const torch::Tensor& x, const torch::Tensor& y) {
    return torch::nn::functional::cross_entropy(torch::matmul(x, p[0]) + p[1], y);
  }
};

void expect_same(const ada::BatchStatistics& a, const ada::BatchStatistics& b) {
  auto close = [](double u, double v) { return std::abs(u - v) <= 1e-12 * std::max(1.0, std::abs(v)); };
  EXPECT_EQ(a.batch_size, b.batch_size);
  EXPECT_PRED2(close, a.sum_variance, b.sum_variance);
  EXPECT_PRED2(close, a.grad_norm_sq, b.grad_norm_sq);
  EXPECT_EQ(a.has_projection, b.has_projection);
  EXPECT_PRED2(close, a.ip_variance, b.ip_variance);
  EXPECT_PRED2(close, a.orth_variance, b.orth_variance);
  EXPECT_EQ(a.approximate, b.approximate);
}

// The law of total variance in sum form: ranks holding 0, 1, 2, 4 and 4 samples (contiguous
// shards, one rank empty, one with a single sample whose own variance is undefined) merge into
// the statistics of the whole batch in one process.
TEST(BatchStatistics, ExactMergeAcrossUnevenRanksEqualsOneProcess) {
  torch::manual_seed(3);
  const Problem pr;
  const int64_t n = pr.x.size(0);
  const std::vector<int64_t> bounds{0, 0, 1, 3, 7, 11};
  for (bool projections : {false, true}) {
    SCOPED_TRACE(projections);
    auto params = pr.params();
    ada::ExactOptions eo;
    eo.projections = projections;
    const auto one = ada::exact_statistics(params, n, [&](int64_t i) {
      return Problem::loss(params, pr.x.narrow(0, i, 1), pr.y.narrow(0, i, 1));
    }, eo);
    const auto expected =
        ada::summarize(one.moments, one.projections ? &*one.projections : nullptr, n);
    ASSERT_GT(expected.sum_variance, 0);
    // Recomputing the samples (buffer too small) must give the same as keeping them.
    for (int64_t buffer : {int64_t{256} << 20, int64_t{0}}) {
      const auto stats = on_ranks(5, [&](Group& g) {
        auto p = pr.params();
        const int64_t lo = bounds[g.rank()], hi = bounds[g.rank() + 1];
        return exact_batch_statistics(g, p, hi - lo, n, [&](int64_t i) {
          return Problem::loss(p, pr.x.narrow(0, lo + i, 1), pr.y.narrow(0, lo + i, 1));
        }, projections, buffer);
      });
      for (const auto& s : stats) expect_same(s, expected);
    }
  }
}

TEST(BatchStatistics, MicroBatchEstimateSplitOverRanksEqualsOneProcess) {
  torch::manual_seed(4);
  Problem pr;
  pr.x = torch::randn({12, 5}, torch::kFloat64);
  pr.y = torch::tensor({0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 1, 2}, torch::kInt64);
  auto params = pr.params();
  const auto range = [&](const std::vector<torch::Tensor>& p) {
    return [&pr, p](int64_t b, int64_t e) { return Problem::loss(p, pr.x.slice(0, b, e), pr.y.slice(0, b, e)); };
  };
  const auto expected = ada::microbatch_statistics(params, 12, 3, range(params), true);
  for (int world : {2, 3}) {
    const auto stats = on_ranks(world, [&](Group& g) {
      auto p = pr.params();
      return microbatch_batch_statistics(g, p, 12, 3, range(p), true);
    });
    for (const auto& s : stats) expect_same(s, expected);
  }
}

TEST(ProcessGroup, MissingRankFailsTheJoinNamingIt) {
  StoreServer store("127.0.0.1", 0, 10s);
  GroupOptions o;
  o.store_port = store.port();
  o.prefix = "missing";
  o.rank = 0;
  o.world_size = 3;
  o.device_host = "127.0.0.1";
  o.join_timeout = 300ms;
  try {
    Group::join(o);
    FAIL() << "joined without ranks 1 and 2";
  } catch (const CollectiveError& e) {
    EXPECT_NE(std::string(e.what()).find("only 1 of 3 ranks joined"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing rank(s) 1, 2"), std::string::npos) << e.what();
  }
  bool aborted = false;
  o.join_timeout = 60s;
  o.abort = [] { return true; };
  try {
    Group::join(o);
  } catch (const JoinAborted&) {
    aborted = true;
  }
  EXPECT_TRUE(aborted);
}

// Rank 1 leaves after one all-reduce: rank 0's next collective fails with CollectiveError
// (peer closed, or the collective timeout) instead of hanging.
TEST(ProcessGroup, RankLeavingFailsTheNextCollective) {
  const auto results = on_ranks(2, [](Group& g) -> std::string {
    auto t = torch::ones({16}, torch::kFloat32);
    g.allreduce_sum(t, "first all-reduce");
    if (g.rank() == 1) return "left";
    try {
      std::this_thread::sleep_for(200ms);  // let rank 1 destroy its group first
      g.allreduce_sum(t, "gradient all-reduce");
      return "no error";
    } catch (const CollectiveError& e) {
      return e.what();
    }
  }, 5s);
  EXPECT_EQ(results[1], "left");
  EXPECT_EQ(results[0].rfind("gradient all-reduce failed: ", 0), 0u) << results[0];
}

TEST(ProcessGroup, FingerprintSeesOneBit) {
  auto a = torch::randn({10}, torch::kFloat64);
  auto b = a.clone();
  EXPECT_EQ(fingerprint({a}), fingerprint({b}));
  b[3] = std::nextafter(b[3].item<double>(), 1e9);
  EXPECT_NE(fingerprint({a}), fingerprint({b}));
}

}  // namespace
}  // namespace attune::dist

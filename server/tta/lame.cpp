#include "tta/lame.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace attune::tta {
namespace {

constexpr int64_t kMaxSteps = 100;
constexpr double kRelTol = 1e-8;
constexpr double kUnaryEps = 1e-10;
constexpr double kLogClip = 1e-20;
const double kLogLogClip = std::log(kLogClip);

// The hot loops are written out rather than left to torch::mm: Debian's LibTorch calls the
// reference BLAS, whose dgemm alone cost more than the 10% overhead budget at batch 128. They
// are also compiled for AVX2 and picked at run time (the build targets baseline x86-64); they
// vectorise across independent outputs, so both versions give the same bits.
#define ATTUNE_HOT_LOOP __attribute__((target_clones("avx2", "default")))

// x xᵀ for x [N, d] (b = xᵀ contiguous), upper triangle in axpy order, mirrored.
ATTUNE_HOT_LOOP void gram_into(const double* a, const double* b, double* g, int64_t N, int64_t d) {
  for (int64_t i = 0; i < N; ++i) {
    double* gi = g + i * N;
    for (int64_t t = 0; t < d; ++t) {
      const double ait = a[i * d + t];
      const double* bt = b + t * N;
      for (int64_t j = i; j < N; ++j) gi[j] += ait * bt[j];
    }
    for (int64_t j = 0; j < i; ++j) gi[j] = g[j * N + i];
  }
}

torch::Tensor gram(const torch::Tensor& x) {
  const auto xc = x.contiguous();
  const auto xt = x.t().contiguous();
  const int64_t N = x.size(0), d = x.size(1);
  auto G = torch::zeros({N, N}, x.options());
  const double* a = xc.data_ptr<double>();
  const double* b = xt.data_ptr<double>();
  gram_into(a, b, G.data_ptr<double>(), N, d);
  return G;
}

// W as (column, weight) lists per row when at most a quarter of it is non-zero (kNN: k per
// row), so that W·Z costs O(NkK) instead of O(N²K).
struct SparseRows {
  std::vector<int64_t> start, column;
  std::vector<double> weight;
};

bool sparse_rows(const torch::Tensor& W, SparseRows& rows) {
  const int64_t N = W.size(0);
  const double* w = W.data_ptr<double>();
  int64_t nonzero = 0;
  for (int64_t i = 0; i < N * N; ++i) nonzero += w[i] != 0.0;
  if (4 * nonzero > N * N) return false;
  rows.start.assign(1, 0);
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      if (w[i * N + j] == 0.0) continue;
      rows.column.push_back(j);
      rows.weight.push_back(w[i * N + j]);
    }
    rows.start.push_back(static_cast<int64_t>(rows.column.size()));
  }
  return true;
}

// Row-wise softmax of (−u + P) into Y, returning the official surrogate `entropy_energy` with
// λ = 1: Σ u·y − P·y + y·log max(y, 1e−20), where P = W Zᵗ⁻¹. u, P, Y are stored transposed
// ([K, N]). One fused pass over plain buffers: the loop runs up to 100 times per batch, and
// per-op dispatch would dominate.
double softmax_and_energy(const double* u, const double* P, double* Y, int64_t N, int64_t K) {
  double E = 0;
  for (int64_t i = 0; i < N; ++i) {
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < K; ++k) max = std::max(max, P[k * N + i] - u[k * N + i]);
    double sum = 0;
    for (int64_t k = 0; k < K; ++k) {
      Y[k * N + i] = std::exp(P[k * N + i] - u[k * N + i] - max);
      sum += Y[k * N + i];
    }
    // log max(y, c) = max(log y, log c), and log y = (P − u − max) − log Σ: one log per row.
    const double log_sum = std::log(sum);
    for (int64_t k = 0; k < K; ++k) {
      const double y = Y[k * N + i] / sum;
      Y[k * N + i] = y;
      const double log_y = std::max(P[k * N + i] - u[k * N + i] - max - log_sum, kLogLogClip);
      E += u[k * N + i] * y - P[k * N + i] * y + y * log_y;
    }
  }
  return E;
}

// Pᵀ = (W Y)ᵀ from Yᵀ [K, N]: sparse rows, or dense with Wᵀ so the inner loop runs along N.
ATTUNE_HOT_LOOP void pairwise(const SparseRows* rows, const double* Wt, const double* Yt,
                              double* Pt, int64_t N, int64_t K) {
  std::fill(Pt, Pt + N * K, 0.0);
  if (rows) {
    for (int64_t i = 0; i < N; ++i) {
      for (int64_t e = rows->start[i]; e < rows->start[i + 1]; ++e) {
        const double w = rows->weight[e];
        const double* yj = Yt + rows->column[e];
        for (int64_t k = 0; k < K; ++k) Pt[k * N + i] += w * yj[k * N];
      }
    }
    return;
  }
  for (int64_t k = 0; k < K; ++k) {
    double* pk = Pt + k * N;
    for (int64_t j = 0; j < N; ++j) {
      const double y = Yt[k * N + j];
      const double* wj = Wt + j * N;  // column j of W
      for (int64_t i = 0; i < N; ++i) pk[i] += y * wj[i];
    }
  }
}

}  // namespace

torch::Tensor squared_distances(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2, "squared_distances expects [N, d], got ", x.sizes());
  const auto x64 = x.to(torch::kFloat64);
  const auto sq = (x64 * x64).sum(1);
  auto d2 = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2.0 * gram(x64)).clamp_min(0.0);
  d2.fill_diagonal_(0.0);
  return d2;
}

torch::Tensor lame_affinity(const torch::Tensor& features, const LameOptions& options) {
  TORCH_CHECK(features.dim() == 2, "lame_affinity expects [N, d], got ", features.sizes());
  const auto x = features.to(torch::kFloat64);
  const int64_t N = x.size(0);
  torch::Tensor W;
  switch (options.affinity) {
    case Affinity::kKnn: {
      W = torch::zeros({N, N}, x.options());
      const int64_t k = std::min(options.knn, N - 1);
      if (k > 0) {
        // Self is excluded explicitly rather than assumed to be the first of the k+1 nearest,
        // so duplicates in the batch cannot leave a self-loop.
        auto d2 = squared_distances(x);
        d2.fill_diagonal_(std::numeric_limits<double>::infinity());
        const auto neighbours = std::get<1>(d2.topk(k, /*dim=*/1, /*largest=*/false));
        W.scatter_(1, neighbours, 1.0);
      }
      break;
    }
    case Affinity::kRbf: {
      const auto d2 = squared_distances(x);
      const int64_t n = std::min(options.knn, N);
      const auto kth = std::get<0>(d2.sqrt().topk(n, 1, /*largest=*/false)).select(1, n - 1);
      const double sigma = kth.mean().item<double>();
      W = sigma > 0 ? torch::exp(-d2 / (2.0 * sigma * sigma)) : torch::zeros({N, N}, x.options());
      break;
    }
    case Affinity::kLinear:
      W = gram(x);
      break;
  }
  if (options.force_symmetry) W = 0.5 * (W + W.t());
  return W;
}

LameSolution laplacian_optimization(const torch::Tensor& unary, const torch::Tensor& W) {
  TORCH_CHECK(
      unary.dim() == 2 && W.dim() == 2 && W.size(0) == unary.size(0) && W.size(1) == unary.size(0),
      "laplacian_optimization expects unary [N, K] and W [N, N], got ", unary.sizes(), " and ",
      W.sizes());
  torch::NoGradGuard no_grad;
  const auto w = W.to(torch::kFloat64).contiguous();
  const auto ut = unary.to(torch::kFloat64).t().contiguous();
  const int64_t N = unary.size(0), K = unary.size(1);
  SparseRows rows;
  const bool sparse = sparse_rows(w, rows);
  const auto Wt = sparse ? torch::Tensor() : w.t().contiguous();

  LameSolution s;
  auto Yt = torch::softmax(-ut, 0).contiguous();
  auto next = torch::empty_like(Yt);
  auto Pt = torch::empty_like(Yt);
  double old_energy = std::numeric_limits<double>::infinity();
  for (int64_t t = 0; t < kMaxSteps; ++t) {
    pairwise(sparse ? &rows : nullptr, sparse ? nullptr : Wt.data_ptr<double>(),
             Yt.data_ptr<double>(), Pt.data_ptr<double>(), N, K);
    const double E = softmax_and_energy(ut.data_ptr<double>(), Pt.data_ptr<double>(),
                                        next.data_ptr<double>(), N, K);
    std::swap(Yt, next);
    s.energies.push_back(E);
    if (t > 1 && std::abs(E - old_energy) <= kRelTol * std::abs(old_energy)) {
      s.converged = true;
      break;
    }
    old_energy = E;
  }
  s.iterations = static_cast<int64_t>(s.energies.size());
  s.Z = Yt.t().contiguous();
  return s;
}

LameSolution lame(const torch::Tensor& probs, const torch::Tensor& features,
                  const LameOptions& options) {
  TORCH_CHECK(probs.dim() == 2 && features.dim() == 2 && probs.size(0) == features.size(0),
              "lame expects probs [N, K] and features [N, d] with the same N, got ", probs.sizes(),
              " and ", features.sizes());
  torch::NoGradGuard no_grad;
  const auto p = probs.to(torch::kFloat64);
  const auto x = torch::nn::functional::normalize(
      features.to(torch::kFloat64), torch::nn::functional::NormalizeFuncOptions().p(2).dim(-1));
  const auto unary = -torch::log(p + kUnaryEps);
  return laplacian_optimization(unary, lame_affinity(x, options));
}

}  // namespace attune::tta

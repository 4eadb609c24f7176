#include "optim/kernels/adan_kernel.h"

namespace attune::optim::kernels {
namespace {

template <class P, class T, bool WriteGrad>
void run(const AdanCoeffs& c, const Chunk& chunk, Arith arith) {
  P* param = chunk.ptr<P>(0);
  P* grad = chunk.ptr<P>(1);
  T* exp_avg = chunk.ptr<T>(2);
  T* exp_avg_diff = chunk.ptr<T>(3);
  T* exp_avg_sq = chunk.ptr<T>(4);
  T* pre_grad = chunk.ptr<T>(5);
  const T clip = T(c.clip), b1 = T(c.beta1), omb1 = T(c.one_minus_beta1), b2 = T(c.beta2),
          omb2 = T(c.one_minus_beta2), b3 = T(c.beta3), omb3 = T(c.one_minus_beta3),
          bc3_sqrt = T(c.bias_correction3_sqrt), eps = T(c.eps), neg_ss = T(c.neg_step_size),
          neg_ssd = T(c.neg_step_size_diff), decay = T(c.decay);
  const bool no_prox = c.no_prox, first = c.first_step;
  for_each_element<P>(chunk.n, arith, [=](int64_t i, auto tag) {
    using Tag = decltype(tag);
    const T g = T(grad[i]) * clip;
    const T diff = g - (first ? g : pre_grad[i]);  // official g₀ := g₁, not Algorithm 1's init
    const T m = madd<Tag>(omb1, g, exp_avg[i] * b1);
    const T v = madd<Tag>(omb2, diff, exp_avg_diff[i] * b2);
    const T u = diff * b2 + g;  // Nesterov term g + β₂Δ (two ATen ops: mul_, add_)
    const T n = madd<Tag>(omb3 * u, u, exp_avg_sq[i] * b3);
    const T denom = std::sqrt(n) / bc3_sqrt + eps;
    T p = T(param[i]);
    if (no_prox) p = p * decay;
    p = p + (neg_ss * m) / denom;
    p = p + (neg_ssd * v) / denom;
    if (!no_prox) p = p / decay;
    param[i] = P(p);
    exp_avg[i] = m;
    exp_avg_diff[i] = v;
    exp_avg_sq[i] = n;
    pre_grad[i] = g;
    if constexpr (WriteGrad) grad[i] = P(g);
  });
}

}  // namespace

void adan_update(const AdanCoeffs& c, c10::ScalarType param_type, const Chunk& chunk, Arith arith) {
  dispatch_param_type(param_type, [&](auto p, auto t) {
    using P = decltype(p);
    using T = decltype(t);
    c.write_grad ? run<P, T, true>(c, chunk, arith) : run<P, T, false>(c, chunk, arith);
  });
}

}  // namespace attune::optim::kernels

#include "optim/kernels/exadam_kernel.h"

namespace attune::optim::kernels {
namespace {

template <class P, class T>
void run(const EXAdamCoeffs& c, const Chunk& chunk, Arith arith) {
  P* param = chunk.ptr<P>(0);
  const P* grad = chunk.ptr<P>(1);
  T* exp_avg = chunk.ptr<T>(2);
  T* exp_avg_sq = chunk.ptr<T>(3);
  const T neg_lr_wd = T(c.neg_lr_wd), b1 = T(c.beta1), omb1 = T(c.one_minus_beta1),
          b2 = T(c.beta2), omb2 = T(c.one_minus_beta2), eps = T(c.eps), b1t = T(c.beta1_t),
          b2t = T(c.beta2_t), bc1 = T(c.bias_correction1), bc2 = T(c.bias_correction2),
          neg_step = T(c.neg_step), one = T(1);
  const bool decay = c.decay;
  for_each_element<P>(chunk.n, arith, [=](int64_t i, auto tag) {
    using Tag = decltype(tag);
    const T g = T(grad[i]);
    T p = T(param[i]);
    if (decay) p = madd<Tag>(neg_lr_wd, p, p);  // decoupled, before the moments (spec §1 step 1)
    const T m = madd<Tag>(omb1, g, exp_avg[i] * b1);
    const T v = madd<Tag>(omb2 * g, g, exp_avg_sq[i] * b2);
    // Cross-moment debiasing factors d₁, d₂ (spec §1 step 3).
    const T d1 = (v / (v + eps)) * b2t + one;
    const T m_sq = m * m;
    const T d2 = (m_sq / (m_sq + eps)) * b1t + one;
    const T m_tilde = (m / bc1) * d1;
    const T v_tilde = (v / bc2) * d2;
    const T g_tilde = (g / bc1) * d1;  // gradient acceleration term, debiased with bc₁
    p = p + ((m_tilde + g_tilde) * neg_step) / (std::sqrt(v_tilde) + eps);
    param[i] = P(p);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
  });
}

}  // namespace

void exadam_update(const EXAdamCoeffs& c, c10::ScalarType param_type, const Chunk& chunk,
                   Arith arith) {
  dispatch_param_type(param_type, [&](auto p, auto t) {
    run<decltype(p), decltype(t)>(c, chunk, arith);
  });
}

}  // namespace attune::optim::kernels

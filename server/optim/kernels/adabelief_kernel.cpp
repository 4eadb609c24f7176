#include "optim/kernels/adabelief_kernel.h"

namespace attune::optim::kernels {
namespace {

template <class P, class T, AdaBeliefRule Rule, bool Amsgrad, bool L2>
void run(const AdaBeliefCoeffs& c, const Chunk& chunk, Arith arith) {
  P* param = chunk.ptr<P>(0);
  P* grad = chunk.ptr<P>(1);
  T* exp_avg = chunk.ptr<T>(2);
  T* exp_avg_var = chunk.ptr<T>(3);
  T* max_exp_avg_var = Amsgrad ? chunk.ptr<T>(4) : nullptr;
  const T decay = T(c.decay_factor), wd = T(c.weight_decay), b1 = T(c.beta1),
          omb1 = T(c.one_minus_beta1), b2 = T(c.beta2), omb2 = T(c.one_minus_beta2),
          eps = T(c.eps), bc2_sqrt = T(c.bias_correction2_sqrt), neg_step = T(c.neg_step);
  const bool decoupled = c.decoupled;
  for_each_element<P>(chunk.n, arith, [=](int64_t i, auto tag) {
    using Tag = decltype(tag);
    T p = T(param[i]);
    T g = T(grad[i]);
    if (decoupled) p = p * decay;  // official: applied even when λ = 0
    if constexpr (L2) {
      g = madd<Tag>(wd, p, g);
      grad[i] = P(g);  // official writes g + λθ into p.grad
    }
    const T m = madd<Tag>(omb1, g, exp_avg[i] * b1);
    const T residual = g - m;  // belief residual uses the updated m
    // ε is added to the *stored* s every step, so it accumulates (spec §3 step 3).
    const T s = madd<Tag>(omb2 * residual, residual, exp_avg_var[i] * b2) + eps;
    T s_hat = s;
    if constexpr (Amsgrad) {
      s_hat = nan_max(max_exp_avg_var[i], s);
      max_exp_avg_var[i] = s_hat;
    }
    if constexpr (Rule == AdaBeliefRule::kAdaptive) {
      p = p + (neg_step * m) / (std::sqrt(s_hat) / bc2_sqrt + eps);
    } else if constexpr (Rule == AdaBeliefRule::kRectified) {
      // √bc₂ is folded into r, so ε is not divided by it, and amsgrad's max is ignored (as official).
      p = p + (neg_step * m) / (std::sqrt(s) + eps);
    } else if constexpr (Rule == AdaBeliefRule::kSgd) {
      p = madd<Tag>(neg_step, m, p);
    }
    param[i] = P(p);
    exp_avg[i] = m;
    exp_avg_var[i] = s;
  });
}

template <class P, class T, AdaBeliefRule Rule>
void run_rule(const AdaBeliefCoeffs& c, const Chunk& chunk, Arith arith) {
  if (c.amsgrad) {
    c.l2 ? run<P, T, Rule, true, true>(c, chunk, arith) : run<P, T, Rule, true, false>(c, chunk, arith);
  } else {
    c.l2 ? run<P, T, Rule, false, true>(c, chunk, arith)
         : run<P, T, Rule, false, false>(c, chunk, arith);
  }
}

}  // namespace

void adabelief_update(const AdaBeliefCoeffs& c, c10::ScalarType param_type, const Chunk& chunk,
                      Arith arith) {
  dispatch_param_type(param_type, [&](auto p, auto t) {
    using P = decltype(p);
    using T = decltype(t);
    switch (c.rule) {
      case AdaBeliefRule::kAdaptive: return run_rule<P, T, AdaBeliefRule::kAdaptive>(c, chunk, arith);
      case AdaBeliefRule::kRectified: return run_rule<P, T, AdaBeliefRule::kRectified>(c, chunk, arith);
      case AdaBeliefRule::kSgd: return run_rule<P, T, AdaBeliefRule::kSgd>(c, chunk, arith);
      case AdaBeliefRule::kNone: return run_rule<P, T, AdaBeliefRule::kNone>(c, chunk, arith);
    }
  });
}

}  // namespace attune::optim::kernels

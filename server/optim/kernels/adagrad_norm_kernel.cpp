#include "optim/kernels/adagrad_norm_kernel.h"

namespace attune::optim::kernels {

void adagrad_norm_update(const AdaGradNormCoeffs& c, c10::ScalarType param_type, const Chunk& chunk,
                         Arith arith) {
  dispatch_param_type(param_type, [&](auto p_type, auto t_type) {
    using P = decltype(p_type);
    using T = decltype(t_type);
    P* param = chunk.ptr<P>(0);
    const P* grad = chunk.ptr<P>(1);
    const T wd = T(c.weight_decay), neg_step = T(c.neg_step);
    const bool l2 = c.weight_decay != 0;
    for_each_element<P>(chunk.n, arith, [=](int64_t i, auto tag) {
      using Tag = decltype(tag);
      const T p = T(param[i]);
      const T g = l2 ? madd<Tag>(wd, p, T(grad[i])) : T(grad[i]);
      param[i] = P(madd<Tag>(neg_step, g, p));
    });
  });
}

}  // namespace attune::optim::kernels

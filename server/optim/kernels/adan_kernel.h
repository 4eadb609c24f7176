// Adan single-pass update (spec §2, steps 3-7). Torch-free; see elementwise.h.
#pragma once
#include "optim/kernels/elementwise.h"

namespace attune::optim::kernels {

// Per-step scalars, computed once in double on the host. Both the fused kernel and the
// tensor-op reference path read these, so they round identically.
struct AdanCoeffs {
  double clip = 1.0;  // global-norm factor c, multiplied into the gradient
  double beta1 = 0, one_minus_beta1 = 0, beta2 = 0, one_minus_beta2 = 0, beta3 = 0,
         one_minus_beta3 = 0;
  double bias_correction3_sqrt = 1, eps = 0;
  double neg_step_size = 0;       // -lr / bc1
  double neg_step_size_diff = 0;  // -(lr * beta2 / bc2)
  double decay = 1;               // no_prox: θ·(1 − ηλ) before; proximal: θ / (1 + ηλ) after
  bool no_prox = false;
  bool first_step = false;  // g_prev := g (the first difference is zero)
  bool write_grad = false;  // the clipped gradient goes back into p.grad, as the official code does
};

// Operands: 0 param, 1 grad, 2 exp_avg, 3 exp_avg_diff, 4 exp_avg_sq, 5 pre_grad.
void adan_update(const AdanCoeffs& c, c10::ScalarType param_type, const Chunk& chunk, Arith arith);

}  // namespace attune::optim::kernels

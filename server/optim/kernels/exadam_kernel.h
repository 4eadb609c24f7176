// EXAdam single-pass update (spec §1, steps 1-5). Torch-free; see elementwise.h.
#pragma once
#include "optim/kernels/elementwise.h"

namespace attune::optim::kernels {

struct EXAdamCoeffs {
  bool decay = false;    // λ ≠ 0
  double neg_lr_wd = 0;  // lr·(−λ), applied as θ + (−ηλ)·θ
  double beta1 = 0, one_minus_beta1 = 0, beta2 = 0, one_minus_beta2 = 0, eps = 0;
  double beta1_t = 0, beta2_t = 0;                     // β₁ᵗ, β₂ᵗ
  double bias_correction1 = 1, bias_correction2 = 1;  // 1 − βᵢᵗ
  double neg_step = 0;                                 // −η, or −η·ln(√2·√(t+1)) for v1
};

// Operands: 0 param, 1 grad, 2 exp_avg, 3 exp_avg_sq.
void exadam_update(const EXAdamCoeffs& c, c10::ScalarType param_type, const Chunk& chunk,
                   Arith arith);

}  // namespace attune::optim::kernels

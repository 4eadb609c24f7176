// AdaGrad-Norm single-pass update θ ← θ − η·g/b (paper's scalar rule, spec §4). Torch-free.
#pragma once
#include "optim/kernels/elementwise.h"

namespace attune::optim::kernels {

struct AdaGradNormCoeffs {
  double weight_decay = 0;  // L2: g ← g + λθ (the official Adagradnorm uses −ηλg, spec §0.6)
  double neg_step = 0;      // −η / (b + ε)
};

// Operands: 0 param, 1 grad.
void adagrad_norm_update(const AdaGradNormCoeffs& c, c10::ScalarType param_type, const Chunk& chunk,
                         Arith arith);

}  // namespace attune::optim::kernels

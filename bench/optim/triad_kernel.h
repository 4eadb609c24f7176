// STREAM triad a = b + s·c through the optimizers' fused loop: the bandwidth yardstick.
#pragma once
#include "optim/kernels/elementwise.h"

namespace attune::optim::kernels {

// Operands: 0 a (written), 1 b, 2 c; float32.
void triad(float scalar, const Chunk& chunk);

}  // namespace attune::optim::kernels

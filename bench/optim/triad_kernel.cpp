#include "triad_kernel.h"

namespace attune::optim::kernels {

void triad(float scalar, const Chunk& chunk) {
  float* a = chunk.ptr<float>(0);
  const float* b = chunk.ptr<float>(1);
  const float* c = chunk.ptr<float>(2);
  for_each_element<float>(chunk.n, Arith::kTwoRoundings,
                   [=](int64_t i, auto) { a[i] = b[i] + scalar * c[i]; });
}

}  // namespace attune::optim::kernels

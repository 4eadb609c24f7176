// Runs a fused kernel (kernels/*.h) over parameter-sized tensors on LibTorch's intra-op threads.
#pragma once
#include <torch/torch.h>

#include <optional>

#include "optim/kernels/elementwise.h"

namespace attune::optim {

// True if the kernels can take these operands: dense, contiguous CPU tensors of one numel, laid
// out as the kernels expect (parameter, gradient, then state buffers): the first two of a
// float32/float64/float16/bfloat16 dtype, the state in that dtype (fp32 for fp16/bf16), and
// ATen's rounding rule known (see aten_arith).
bool fusable(at::TensorList tensors);

// How ATen's CPU kernels round `a + alpha*b` in this process, probed once; nullopt if add_ and
// addcmul_ disagree (then nothing is fused, so the reference path stays the only one).
std::optional<kernels::Arith> aten_arith();

// Calls fn on contiguous pieces covering all elements of the operands (fusable() must hold).
// Uses TensorIterator::for_each instead of at::parallel_for: the latter is an inline OpenMP
// template that runs serially in TUs built without -fopenmp, and our clang would pull in libomp
// next to LibTorch's libgomp. TensorIterator::for_each runs LibTorch's own compiled pool.
void parallel_chunks(at::TensorList operands, c10::function_ref<void(const kernels::Chunk&)> fn);

}  // namespace attune::optim

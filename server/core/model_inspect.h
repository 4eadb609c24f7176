// What attune learns about a TorchScript module when it is loaded.
#pragma once
#include <torch/script.h>

#include <vector>

#include "core/tensor_codec.h"

namespace attune {

int64_t parameter_count(const torch::jit::Module& m);
bool has_features(const torch::jit::Module& m);
// Submodules whose TorchScript type name contains "BatchNorm" (names may be mangled).
int64_t batchnorm_layers(const torch::jit::Module& m);
bool is_batchnorm(const torch::jit::Module& m);

// Inputs named after forward()'s arguments, dtype of the first floating parameter, unknown shape.
std::vector<TensorSpec> default_inputs(const torch::jit::Module& m);

// Flattens forward()'s result: a Tensor, or a tuple/list of Tensors.
std::vector<torch::Tensor> tensors_of(const c10::IValue& v);

// The useful part of an error thrown by a TorchScript forward: c10::Error without its C++
// backtrace, or the final "RuntimeError: ..." line of an interpreter traceback.
std::string torch_error_message(const std::exception& e);

// Runs a batch-1 forward of zeros when every input shape is known and returns output specs
// (declared ones are checked against it). Throws attune::Error(kInvalidArgument) with the reason
// when the module cannot run on its declared inputs.
std::vector<TensorSpec> probe(torch::jit::Module& m, const std::vector<TensorSpec>& inputs,
                              const std::vector<TensorSpec>& declared_outputs);

}  // namespace attune

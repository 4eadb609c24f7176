// Shared by the Adapter implementations; not part of the public API.
#pragma once
#include <torch/script.h>
#include <torch/torch.h>

#include <memory>

#include "tta/adapter.h"

namespace attune::tta::detail {

// InvalidBatch unless x is a defined [N, ...] tensor of `dtype`, N ≥ min_samples, all finite.
void check_batch(const torch::Tensor& x, torch::ScalarType dtype, int64_t min_samples,
                 Method method, std::string_view what = "batch");

// source, lame
std::unique_ptr<Adapter> make_frozen_adapter(const torch::jit::Module& source,
                                             const Options& options);
// norm, tent, eta, eata
std::unique_ptr<Adapter> make_bn_adapter(const torch::jit::Module& source, const Options& options);

}  // namespace attune::tta::detail

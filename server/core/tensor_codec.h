// Tensors on the wire: dtype + shape + raw little-endian bytes. Everything a request carries is
// validated here, before LibTorch sees it; failures throw attune::Error(kInvalidArgument) with a
// message naming the field and the expected vs received value.
#pragma once
#include <torch/torch.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace attune {

using Shape = std::vector<int64_t>;

struct TensorSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;  // -1 = any size; empty = unknown rank (anything goes)
};

std::string shape_str(const Shape& shape);
std::string shape_str(c10::IntArrayRef shape);

// Number of elements; throws for negative dimensions or products beyond 2^62.
int64_t checked_numel(std::string_view field, const Shape& shape);

// Builds a tensor over `bytes` after checking dtype, shape and byte length. With copy=false the
// tensor aliases `bytes`, which must outlive it (an RPC's request does).
torch::Tensor decode_tensor(std::string_view field, DType dtype, const Shape& shape,
                            std::string_view bytes, bool copy = false);

// Checks a decoded tensor against a model's declared input.
void check_spec(std::string_view field, const TensorSpec& spec, DType dtype, const Shape& shape);

// Rejects NaN/Inf in floating tensors and empty batches (shape[0] == 0).
void check_finite(std::string_view field, const torch::Tensor& t);
void check_nonempty_batch(std::string_view field, const Shape& shape);

// Contiguous CPU bytes of `t` in its own dtype.
std::string encode_tensor(const torch::Tensor& t);
DType dtype_of(const torch::Tensor& t);

}  // namespace attune

#include "optim/fused_loop.h"

#include <ATen/TensorIterator.h>

#include <array>

namespace attune::optim {
namespace {

constexpr size_t kMaxOperands = 8;

bool supported_param_dtype(c10::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

// 1 + 2⁻³⁰ squared is 1 + 2⁻²⁹ + 2⁻⁶⁰: one rounding keeps the 2⁻⁶⁰, two roundings lose it.
std::optional<kernels::Arith> probe() {
  at::NoGradGuard no_grad;
  const double x = 1.0 + std::ldexp(1.0, -30);
  const double y = -(1.0 + std::ldexp(1.0, -29));
  // 67 elements: ATen's vector loop and its scalar tail both take part.
  auto a = at::full({67}, y, at::kDouble);
  auto b = at::full({67}, x, at::kDouble);
  auto fused_add = at::add(a, b, x).eq(std::ldexp(1.0, -60)).all().item<bool>();
  auto plain_add = at::add(a, b, x).eq(0.0).all().item<bool>();
  auto fused_addcmul = at::addcmul(a, b, b, 1.0).eq(std::ldexp(1.0, -60)).all().item<bool>();
  auto plain_addcmul = at::addcmul(a, b, b, 1.0).eq(0.0).all().item<bool>();
  if (fused_add && fused_addcmul) return kernels::Arith::kFused;
  if (plain_add && plain_addcmul) return kernels::Arith::kTwoRoundings;
  return std::nullopt;
}

}  // namespace

std::optional<kernels::Arith> aten_arith() {
  static const std::optional<kernels::Arith> arith = probe();
  return arith;
}

bool fusable(at::TensorList tensors) {
  if (tensors.empty() || tensors.size() > kMaxOperands || !aten_arith()) return false;
  const auto param_type = tensors[0].scalar_type();
  if (!supported_param_dtype(param_type)) return false;
  const bool reduced = param_type == at::kHalf || param_type == at::kBFloat16;
  const auto state_type = reduced ? at::kFloat : param_type;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const auto& t = tensors[k];
    if (!t.defined() || !t.device().is_cpu() || t.layout() != at::kStrided || !t.is_contiguous() ||
        t.numel() != tensors[0].numel() || t.scalar_type() != (k < 2 ? param_type : state_type)) {
      return false;
    }
  }
  return true;
}

void parallel_chunks(at::TensorList operands, c10::function_ref<void(const kernels::Chunk&)> fn) {
  const int64_t n = operands[0].numel();
  const size_t k = operands.size();
  TORCH_INTERNAL_ASSERT(k <= kMaxOperands);
  if (n == 0) return;
  std::array<char*, kMaxOperands> ptrs{};
  if (n < at::internal::GRAIN_SIZE || at::get_num_threads() == 1) {
    // Small tensors: skip the iterator setup, nothing to split.
    for (size_t j = 0; j < k; ++j) ptrs[j] = static_cast<char*>(operands[j].data_ptr());
    fn(kernels::Chunk{ptrs.data(), n});
    return;
  }
  at::TensorIteratorConfig config;
  config.set_check_mem_overlap(false).check_all_same_dtype(false).resize_outputs(false);
  for (const auto& t : operands) config.add_output(t);
  auto iter = config.build();
  iter.for_each([&](char** data, const int64_t* strides, int64_t size0, int64_t size1) {
    std::array<char*, kMaxOperands> chunk{};
    for (int64_t outer = 0; outer < size1; ++outer) {
      for (size_t j = 0; j < k; ++j) chunk[j] = data[j] + outer * strides[k + j];
      fn(kernels::Chunk{chunk.data(), size0});
    }
  });
}

}  // namespace attune::optim

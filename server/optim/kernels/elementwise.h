// The fused elementwise loop every optimizer kernel shares. Torch-free on purpose: kernel TUs are
// compiled without the LibTorch PCH and with -fno-math-errno, the only way clang vectorizes
// std::sqrt (the PCH pins math-errno on).
#pragma once
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <c10/core/ScalarType.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace attune::optim::kernels {

// How `a*b + c` rounds in the ATen CPU kernels of this process. ATen's AVX2/AVX512 builds
// round add(…, alpha) and addcmul once (FMA); its DEFAULT build rounds twice. The fused kernels
// follow the same rule so they are bit-identical to the tensor-op reference path.
enum class Arith : uint8_t { kTwoRoundings, kFused };

template <bool Fused>
struct ArithTag {
  static constexpr bool fused = Fused;
};

// a*b + c as ATen's add_(b, alpha=a) / addcmul_ computes it.
template <class Tag, class T>
inline __attribute__((always_inline)) T madd(T a, T b, T c) {
  if constexpr (Tag::fused) {
    return std::fma(a, b, c);
  } else {
    return a * b + c;  // -ffp-contract=off keeps the two roundings
  }
}

// torch.maximum semantics: NaN in either operand wins.
template <class T>
inline __attribute__((always_inline)) T nan_max(T a, T b) {
  return (a > b || a != a) ? a : b;
}

// One contiguous piece of every operand (same element count, operand order fixed per kernel).
struct Chunk {
  char* const* data;
  int64_t n;
  template <class X>
  X* ptr(int k) const {
    return reinterpret_cast<X*>(data[k]);
  }
};

namespace detail {
// Forced vectorization (assume_safety: each iteration touches only element i of distinct
// buffers) for float/double; fp16/bf16 conversions defeat the vectorizer, so those loops are
// left to the compiler's own judgement.
template <class Tag, class Body, bool Vectorize>
__attribute__((target("avx2,fma"))) void loop_avx2(int64_t n, const Body& body) {
  if constexpr (Vectorize) {
#pragma clang loop vectorize(assume_safety)
    for (int64_t i = 0; i < n; ++i) body(i, Tag{});
  } else {
    for (int64_t i = 0; i < n; ++i) body(i, Tag{});
  }
}

template <class Tag, class Body, bool Vectorize>
void loop_baseline(int64_t n, const Body& body) {
  if constexpr (Vectorize) {
#pragma clang loop vectorize(assume_safety)
    for (int64_t i = 0; i < n; ++i) body(i, Tag{});
  } else {
    for (int64_t i = 0; i < n; ++i) body(i, Tag{});
  }
}

inline bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
}  // namespace detail

// Runs body(i, tag) for i in [0, n): one pass, AVX2 build when the CPU has it. P is the
// parameter's element type; `tag` carries the rounding rule for madd(). The body must only touch
// element i of each buffer.
template <class P, class Body>
inline void for_each_element(int64_t n, Arith arith, const Body& body) {
  constexpr bool vectorize = std::is_floating_point_v<P>;
  const bool avx2 = detail::cpu_has_avx2_fma();
  if (arith == Arith::kFused) {
    avx2 ? detail::loop_avx2<ArithTag<true>, Body, vectorize>(n, body)
         : detail::loop_baseline<ArithTag<true>, Body, vectorize>(n, body);
  } else {
    avx2 ? detail::loop_avx2<ArithTag<false>, Body, vectorize>(n, body)
         : detail::loop_baseline<ArithTag<false>, Body, vectorize>(n, body);
  }
}

// Calls f(P{}, T{}) with P the parameter's element type and T the math/state type:
// fp16/bf16 parameters get fp32 math and fp32 state.
template <class F>
inline void dispatch_param_type(c10::ScalarType type, F&& f) {
  switch (type) {
    case c10::ScalarType::Float: return f(float{}, float{});
    case c10::ScalarType::Double: return f(double{}, double{});
    case c10::ScalarType::Half: return f(c10::Half{}, float{});
    case c10::ScalarType::BFloat16: return f(c10::BFloat16{}, float{});
    default:
      throw std::invalid_argument(std::string("fused optimizer kernel: unsupported parameter dtype ") +
                                  c10::toString(type));
  }
}

}  // namespace attune::optim::kernels

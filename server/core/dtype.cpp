#include "core/dtype.h"

#include <array>

namespace attune {
namespace {

struct Row {
  DType dtype;
  c10::ScalarType scalar;
  size_t size;
  const char* kserve;
  const char* name;
};

constexpr std::array<Row, 9> kRows{{
    {DType::kFloat32, c10::ScalarType::Float, 4, "FP32", "float32"},
    {DType::kFloat64, c10::ScalarType::Double, 8, "FP64", "float64"},
    {DType::kInt64, c10::ScalarType::Long, 8, "INT64", "int64"},
    {DType::kInt32, c10::ScalarType::Int, 4, "INT32", "int32"},
    {DType::kUInt8, c10::ScalarType::Byte, 1, "UINT8", "uint8"},
    {DType::kInt8, c10::ScalarType::Char, 1, "INT8", "int8"},
    {DType::kFloat16, c10::ScalarType::Half, 2, "FP16", "float16"},
    {DType::kBFloat16, c10::ScalarType::BFloat16, 2, "BF16", "bfloat16"},
    {DType::kBool, c10::ScalarType::Bool, 1, "BOOL", "bool"},
}};

const Row* find(DType t) {
  for (const auto& r : kRows)
    if (r.dtype == t) return &r;
  return nullptr;
}

}  // namespace

size_t itemsize(DType t) {
  const Row* r = find(t);
  return r ? r->size : 0;
}

c10::ScalarType to_scalar_type(DType t) {
  const Row* r = find(t);
  return r ? r->scalar : c10::ScalarType::Undefined;
}

std::optional<DType> from_scalar_type(c10::ScalarType t) {
  for (const auto& r : kRows)
    if (r.scalar == t) return r.dtype;
  return std::nullopt;
}

bool is_floating(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 ||
         t == DType::kBFloat16;
}

std::string kserve_name(DType t) {
  const Row* r = find(t);
  return r ? r->kserve : "UNSPECIFIED";
}

std::optional<DType> from_kserve_name(const std::string& s) {
  for (const auto& r : kRows)
    if (s == r.kserve) return r.dtype;
  return std::nullopt;
}

std::string dtype_name(DType t) {
  const Row* r = find(t);
  return r ? r->name : "unspecified";
}

std::optional<DType> from_dtype_name(const std::string& s) {
  for (const auto& r : kRows)
    if (s == r.name) return r.dtype;
  return from_kserve_name(s);
}

}  // namespace attune

// Element types on the wire and their LibTorch / KServe v2 equivalents.
#pragma once
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <string>

namespace attune {

// Values equal attune.v1.DataType so the rpc layer can cast.
enum class DType : int {
  kUnspecified = 0,
  kFloat32 = 1,
  kFloat64 = 2,
  kInt64 = 3,
  kInt32 = 4,
  kUInt8 = 5,
  kInt8 = 6,
  kFloat16 = 7,
  kBFloat16 = 8,
  kBool = 9,
};

size_t itemsize(DType t);
c10::ScalarType to_scalar_type(DType t);
std::optional<DType> from_scalar_type(c10::ScalarType t);
bool is_floating(DType t);
// KServe v2 datatype strings: "FP32", "FP64", "INT64", "INT32", "UINT8", "INT8", "FP16",
// "BF16", "BOOL".
std::string kserve_name(DType t);
std::optional<DType> from_kserve_name(const std::string& s);
// Lower-case name used in messages and JSON ("float32", ...).
std::string dtype_name(DType t);
std::optional<DType> from_dtype_name(const std::string& s);

}  // namespace attune

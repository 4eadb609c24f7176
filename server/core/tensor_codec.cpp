#include "core/tensor_codec.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "attune's wire format is little-endian; big-endian hosts need byte swapping");

namespace attune {

std::string shape_str(const Shape& shape) {
  std::ostringstream o;
  o << '[';
  for (size_t i = 0; i < shape.size(); ++i) o << (i ? "," : "") << shape[i];
  o << ']';
  return o.str();
}

std::string shape_str(c10::IntArrayRef shape) { return shape_str(Shape(shape.begin(), shape.end())); }

int64_t checked_numel(std::string_view field, const Shape& shape) {
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0)
      throw InvalidArgument(std::string(field) + ": shape[" + std::to_string(i) +
                            "] must be >= 0, received " + std::to_string(shape[i]));
    if (shape[i] != 0 && n > (int64_t{1} << 62) / shape[i])
      throw InvalidArgument(std::string(field) + ": shape " + shape_str(shape) +
                            " has too many elements");
    n *= shape[i];
  }
  return n;
}

torch::Tensor decode_tensor(std::string_view field, DType dtype, const Shape& shape,
                            std::string_view bytes, bool copy) {
  const size_t width = itemsize(dtype);
  if (width == 0)
    throw InvalidArgument(std::string(field) + ": datatype must be one of FP32, FP64, INT64, "
                          "INT32, UINT8, INT8, FP16, BF16, BOOL; received " +
                          std::to_string(static_cast<int>(dtype)));
  const int64_t numel = checked_numel(field, shape);
  const uint64_t expected = static_cast<uint64_t>(numel) * width;
  if (bytes.size() != expected)
    throw InvalidArgument(std::string(field) + ": expected " + std::to_string(expected) +
                          " bytes for " + kserve_name(dtype) + " " + shape_str(shape) +
                          ", received " + std::to_string(bytes.size()));
  auto opts = torch::TensorOptions().dtype(to_scalar_type(dtype));
  auto t = torch::from_blob(const_cast<char*>(bytes.data()), shape, opts);
  return copy ? t.clone() : t;
}

void check_spec(std::string_view field, const TensorSpec& spec, DType dtype, const Shape& shape) {
  if (dtype != spec.dtype)
    throw InvalidArgument(std::string(field) + " '" + spec.name + "': datatype expected " +
                          kserve_name(spec.dtype) + ", received " + kserve_name(dtype));
  if (spec.shape.empty()) return;
  bool ok = shape.size() == spec.shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i)
    ok = spec.shape[i] < 0 || spec.shape[i] == shape[i];
  if (!ok)
    throw InvalidArgument(std::string(field) + " '" + spec.name + "': shape expected " +
                          shape_str(spec.shape) + ", received " + shape_str(shape));
}

void check_nonempty_batch(std::string_view field, const Shape& shape) {
  if (!shape.empty() && shape[0] == 0)
    throw InvalidArgument(std::string(field) + ": empty batch (shape[0] = 0, expected >= 1)");
}

namespace {

// Index of the first non-finite element of a contiguous float/double buffer, or -1. A plain loop:
// on the inference path this replaces several temporary tensors per request.
template <class T>
int64_t first_non_finite(const T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return i;
  return -1;
}

}  // namespace

void check_finite(std::string_view field, const torch::Tensor& t) {
  if (!t.is_floating_point() || t.numel() == 0) return;
  if (t.is_contiguous() && (t.scalar_type() == torch::kFloat32 || t.scalar_type() == torch::kFloat64)) {
    const int64_t first = t.scalar_type() == torch::kFloat32
                              ? first_non_finite(t.data_ptr<float>(), t.numel())
                              : first_non_finite(t.data_ptr<double>(), t.numel());
    if (first < 0) return;
  }
  auto bad = torch::logical_not(torch::isfinite(t)).reshape({-1});
  const int64_t count = bad.sum().item<int64_t>();
  if (count == 0) return;
  const int64_t first = bad.nonzero()[0][0].item<int64_t>();
  throw InvalidArgument(std::string(field) + ": contains " + std::to_string(count) +
                        " non-finite value(s) (NaN or Inf), first at flat index " +
                        std::to_string(first) + "; expected only finite numbers");
}

std::string encode_tensor(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU).contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

DType dtype_of(const torch::Tensor& t) {
  auto d = from_scalar_type(t.scalar_type());
  if (!d) throw Internal(std::string("unsupported tensor dtype ") + c10::toString(t.scalar_type()));
  return *d;
}

}  // namespace attune

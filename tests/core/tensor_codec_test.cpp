#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "core/tensor_codec.h"

namespace attune {
namespace {

std::string bytes_of(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

TEST(TensorCodec, DecodesLittleEndianRowMajor) {
  const std::string b = bytes_of({1, 2, 3, 4, 5, 6});
  auto t = decode_tensor("x", DType::kFloat32, {2, 3}, b);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t[1][0].item<float>(), 4.0f);
  EXPECT_EQ(t.data_ptr(), static_cast<const void*>(b.data()));  // aliases without copy
  auto c = decode_tensor("x", DType::kFloat32, {2, 3}, b, /*copy=*/true);
  EXPECT_NE(c.data_ptr(), static_cast<const void*>(b.data()));
  EXPECT_TRUE(torch::equal(t, c));
}

TEST(TensorCodec, EncodeDecodeRoundTripEveryDtype) {
  for (auto dt : {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kUInt8,
                  DType::kInt8, DType::kFloat16, DType::kBFloat16, DType::kBool}) {
    auto t = (torch::arange(12) % 2).to(to_scalar_type(dt)).reshape({3, 4});
    const std::string b = encode_tensor(t);
    EXPECT_EQ(b.size(), 12 * itemsize(dt)) << dtype_name(dt);
    EXPECT_TRUE(torch::equal(decode_tensor("x", dt, {3, 4}, b, true), t)) << dtype_name(dt);
    EXPECT_EQ(dtype_of(t), dt);
    EXPECT_EQ(from_kserve_name(kserve_name(dt)), dt);
  }
}

TEST(TensorCodec, ByteLengthMismatchNamesExpectedAndReceived) {
  const auto msg = message_of([] { decode_tensor("inputs[0]", DType::kFloat64, {2, 2}, "abc"); });
  EXPECT_NE(msg.find("inputs[0]: expected 32 bytes for FP64 [2,2], received 3"), std::string::npos) << msg;
}

TEST(TensorCodec, NegativeAndOverflowingShapes) {
  EXPECT_NE(message_of([] { checked_numel("s", {2, -1}); }).find("shape[1] must be >= 0"), std::string::npos);
  EXPECT_NE(message_of([] { checked_numel("s", {1ll << 40, 1ll << 40}); }).find("too many elements"),
            std::string::npos);
  EXPECT_EQ(checked_numel("s", {}), 1);
  EXPECT_EQ(checked_numel("s", {0, 5}), 0);
}

TEST(TensorCodec, SpecChecksDtypeRankAndFixedDims) {
  const TensorSpec spec{"image", DType::kFloat32, {-1, 1, 28, 28}};
  check_spec("in", spec, DType::kFloat32, {7, 1, 28, 28});
  EXPECT_NE(message_of([&] { check_spec("in", spec, DType::kInt64, {7, 1, 28, 28}); })
                .find("datatype expected FP32, received INT64"), std::string::npos);
  EXPECT_NE(message_of([&] { check_spec("in", spec, DType::kFloat32, {7, 28, 28}); })
                .find("shape expected [-1,1,28,28], received [7,28,28]"), std::string::npos);
  check_spec("in", TensorSpec{"any", DType::kFloat32, {}}, DType::kFloat32, {3, 3, 3});
}

TEST(TensorCodec, FiniteAndEmptyBatchChecks) {
  auto t = torch::zeros({2, 3});
  check_finite("x", t);
  t[1][1] = std::numeric_limits<float>::quiet_NaN();
  t[0][2] = -std::numeric_limits<float>::infinity();
  EXPECT_NE(message_of([&] { check_finite("x", t); }).find("2 non-finite value(s)"), std::string::npos);
  EXPECT_NE(message_of([&] { check_finite("x", t); }).find("first at flat index 2"), std::string::npos);
  check_finite("ints", torch::zeros({2}, torch::kInt64));
  EXPECT_NE(message_of([] { check_nonempty_batch("x", {0, 3}); }).find("empty batch"), std::string::npos);
}

}  // namespace
}  // namespace attune

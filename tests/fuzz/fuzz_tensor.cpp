// Tensors as clients send them: attune.v1.Tensor (Adapt, ComputeFisher, UploadDataset,
// TrainStream batches) through rpc::decode and the checks the services run, and KServe v2
// ModelInferRequest through rpc::decode_inputs against several model declarations, then
// encode_outputs. The first byte picks the message; the rest is its protobuf encoding.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "attune/v1/tensor.pb.h"
#include "core/tensor_codec.h"
#include "fuzz_support.h"
#include "inference/open_inference_grpc.pb.h"
#include "rpc/convert.h"
#include "rpc/kserve_tensors.h"

namespace {

using attune::DType;
using attune::ModelVersionInfo;
using attune::TensorSpec;

ModelVersionInfo model(std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs) {
  ModelVersionInfo m;
  m.version = 1;
  m.state = attune::ModelState::kReady;
  m.inputs = std::move(inputs);
  m.outputs = std::move(outputs);
  return m;
}

const std::vector<ModelVersionInfo>& models() {
  static const std::vector<ModelVersionInfo> all = {
      model({{"image", DType::kFloat32, {-1, 1, 28, 28}}}, {{"logits", DType::kFloat32, {-1, 10}}}),
      model({{"input", DType::kFloat32, {-1, 8}}}, {{"output", DType::kFloat32, {-1, 4}}}),
      model({{"ids", DType::kInt64, {-1, -1}}, {"mask", DType::kBool, {-1, -1}}}, {}),
      model({{"x", DType::kFloat64, {}}}, {{"y", DType::kFloat64, {}}}),
      model({{"u8", DType::kUInt8, {-1, 3}}}, {}),
      model({{"h", DType::kFloat16, {-1}}}, {}),
  };
  return all;
}

void fuzz_attune_tensor(const uint8_t* data, size_t size) {
  attune::v1::Tensor t;
  if (!t.ParseFromArray(data, static_cast<int>(size))) return;
  const TensorSpec spec{"input", DType::kFloat32, {-1, 8}};
  attune::fuzz::accepts("decode(attune.v1.Tensor)", [&] {
    const auto x = attune::rpc::decode(t, "batch[0]");
    // decode() promised dtype, shape and byte length agree; the bytes round-trip exactly.
    FUZZ_CHECK(x.numel() * static_cast<int64_t>(x.element_size()) == static_cast<int64_t>(t.data().size()));
    FUZZ_CHECK(attune::encode_tensor(x) == t.data());
    attune::v1::Tensor back;
    attune::rpc::encode(x, &back);
    FUZZ_CHECK(back.data() == t.data() && back.dtype() == t.dtype());
    attune::check_spec("batch[0]", spec, attune::dtype_of(x), x.sizes().vec());
    attune::check_nonempty_batch("batch[0]", x.sizes().vec());
    attune::check_finite("batch[0]", x);
    // What the services then do with an accepted batch.
    const auto copy = attune::rpc::decode(t, "batch[0]", /*copy=*/true);
    FUZZ_CHECK(copy.to(torch::kFloat64).sum().item<double>() == x.to(torch::kFloat64).sum().item<double>());
  });
}

void fuzz_infer_request(const uint8_t* data, size_t size) {
  inference::ModelInferRequest req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return;
  for (const auto& m : models()) {
    std::vector<torch::Tensor> inputs;
    if (!attune::fuzz::accepts("decode_inputs", [&] { inputs = attune::rpc::decode_inputs(req, m); }))
      continue;
    FUZZ_CHECK(inputs.size() == m.inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      FUZZ_CHECK(inputs[i].defined());
      FUZZ_CHECK(attune::dtype_of(inputs[i]) == m.inputs[i].dtype);
    }
    // The model "echoes" its inputs: encoding them answers with what was sent, raw or typed.
    inference::ModelInferResponse resp;
    attune::fuzz::accepts("encode_outputs", [&] {
      attune::rpc::encode_outputs(req, m, inputs, req.raw_input_contents_size() > 0, &resp);
    });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0)
    fuzz_attune_tensor(data + 1, size - 1);
  else
    fuzz_infer_request(data + 1, size - 1);
  return 0;
}

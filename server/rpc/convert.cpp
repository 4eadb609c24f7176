#include "rpc/convert.h"

#include "core/error.h"

namespace attune::rpc {

TensorSpec from_proto(const v1::TensorSpec& p) {
  TensorSpec s;
  s.name = p.name();
  s.dtype = p.dtype() == v1::DATA_TYPE_UNSPECIFIED ? DType::kFloat32 : static_cast<DType>(p.dtype());
  s.shape.assign(p.shape().begin(), p.shape().end());
  return s;
}

std::vector<TensorSpec> from_proto(const google::protobuf::RepeatedPtrField<v1::TensorSpec>& p) {
  std::vector<TensorSpec> out;
  for (const auto& s : p) out.push_back(from_proto(s));
  return out;
}

void to_proto(const TensorSpec& s, v1::TensorSpec* p) {
  p->set_name(s.name);
  p->set_dtype(static_cast<v1::DataType>(s.dtype));
  for (auto d : s.shape) p->add_shape(d);
}

void to_proto(const ModelInfo& m, v1::Model* p) {
  p->set_name(m.name);
  p->set_serving_version(m.serving_version);
  for (const auto& v : m.versions) {
    auto* pv = p->add_versions();
    pv->set_version(v.version);
    pv->set_state(static_cast<v1::ModelState>(v.state));
    pv->set_parameter_count(v.parameter_count);
    for (const auto& s : v.inputs) to_proto(s, pv->add_inputs());
    for (const auto& s : v.outputs) to_proto(s, pv->add_outputs());
    pv->set_has_features(v.has_features);
    pv->set_origin(v.origin);
    pv->set_size_bytes(v.size_bytes);
    pv->set_created_unix_seconds(v.created_unix_seconds);
    pv->set_error(v.error);
    pv->set_batchnorm_layers(v.batchnorm_layers);
  }
}

torch::Tensor decode(const v1::Tensor& t, std::string_view field, bool copy) {
  if (!v1::DataType_IsValid(t.dtype()) || t.dtype() == v1::DATA_TYPE_UNSPECIFIED)
    throw InvalidArgument(std::string(field) + ".dtype: expected one of FLOAT32, FLOAT64, INT64, "
                          "INT32, UINT8, INT8, FLOAT16, BFLOAT16, BOOL; received " +
                          std::to_string(t.dtype()));
  return decode_tensor(std::string(field) + ".data", static_cast<DType>(t.dtype()),
                       Shape(t.shape().begin(), t.shape().end()), t.data(), copy);
}

void encode(const torch::Tensor& t, v1::Tensor* p) {
  p->set_dtype(static_cast<v1::DataType>(dtype_of(t)));
  for (auto d : t.sizes()) p->add_shape(d);
  p->set_data(encode_tensor(t));
}

}  // namespace attune::rpc

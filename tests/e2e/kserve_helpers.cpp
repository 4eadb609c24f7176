#include "kserve_helpers.h"

#include <cstring>

namespace attune::test {

std::string kserve_datatype(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "FP32";
    case torch::kFloat64: return "FP64";
    case torch::kInt64: return "INT64";
    case torch::kInt32: return "INT32";
    case torch::kUInt8: return "UINT8";
    default: return "BOOL";
  }
}

inference::ModelInferRequest infer_request(const std::string& model, const std::string& input,
                                           const torch::Tensor& x_in, bool raw) {
  auto x = x_in.contiguous();
  inference::ModelInferRequest req;
  req.set_model_name(model);
  auto* in = req.add_inputs();
  in->set_name(input);
  in->set_datatype(kserve_datatype(x.scalar_type()));
  for (auto d : x.sizes()) in->add_shape(d);
  if (raw) {
    req.add_raw_input_contents(std::string(static_cast<const char*>(x.data_ptr()),
                                           x.numel() * x.element_size()));
    return req;
  }
  auto flat = x.reshape({-1});
  auto* c = in->mutable_contents();
  if (x.scalar_type() == torch::kFloat32)
    c->mutable_fp32_contents()->Add(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
  else if (x.scalar_type() == torch::kFloat64)
    c->mutable_fp64_contents()->Add(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
  else if (x.scalar_type() == torch::kInt64)
    c->mutable_int64_contents()->Add(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
  return req;
}

torch::Tensor output_tensor(const inference::ModelInferResponse& r, int i) {
  const auto& o = r.outputs(i);
  std::vector<int64_t> shape(o.shape().begin(), o.shape().end());
  torch::ScalarType t = o.datatype() == "FP64"   ? torch::kFloat64
                        : o.datatype() == "INT64" ? torch::kInt64
                                                  : torch::kFloat32;
  if (r.raw_output_contents_size() > i) {
    const auto& bytes = r.raw_output_contents(i);
    return torch::from_blob(const_cast<char*>(bytes.data()), shape, t).clone();
  }
  const auto& c = o.contents();
  if (t == torch::kFloat64)
    return torch::tensor(std::vector<double>(c.fp64_contents().begin(), c.fp64_contents().end()),
                         torch::kFloat64).reshape(shape);
  if (t == torch::kInt64)
    return torch::tensor(std::vector<int64_t>(c.int64_contents().begin(), c.int64_contents().end()))
        .reshape(shape);
  return torch::tensor(std::vector<float>(c.fp32_contents().begin(), c.fp32_contents().end()))
      .reshape(shape);
}

}  // namespace attune::test

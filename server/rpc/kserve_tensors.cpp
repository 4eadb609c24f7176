#include "rpc/kserve_tensors.h"

#include "core/error.h"

namespace attune::rpc {
namespace {

// Copies repeated values into a tensor of C++ type Stored, then casts to the wire dtype.
template <class Stored, class Repeated>
torch::Tensor from_repeated(const Repeated& values, DType dtype, const Shape& shape,
                            const std::string& field) {
  const int64_t numel = checked_numel(field, shape);
  if (static_cast<int64_t>(values.size()) != numel)
    throw InvalidArgument(field + ": expected " + std::to_string(numel) + " values for shape " +
                          shape_str(shape) + ", received " + std::to_string(values.size()));
  auto t = torch::empty({numel}, torch::TensorOptions().dtype(c10::CppTypeToScalarType<Stored>()));
  std::copy(values.begin(), values.end(), t.template data_ptr<Stored>());
  return t.to(to_scalar_type(dtype)).reshape(shape);
}

torch::Tensor typed_input(const inference::ModelInferRequest::InferInputTensor& in, DType dtype,
                          const Shape& shape, const std::string& field) {
  const auto& c = in.contents();
  switch (dtype) {
    case DType::kFloat32:
      return from_repeated<float>(c.fp32_contents(), dtype, shape, field + ".contents.fp32_contents");
    case DType::kFloat64:
      return from_repeated<double>(c.fp64_contents(), dtype, shape, field + ".contents.fp64_contents");
    case DType::kInt64:
      return from_repeated<int64_t>(c.int64_contents(), dtype, shape, field + ".contents.int64_contents");
    case DType::kInt32:
    case DType::kInt8:
      return from_repeated<int32_t>(c.int_contents(), dtype, shape, field + ".contents.int_contents");
    case DType::kUInt8:
      return from_repeated<int64_t>(c.uint_contents(), dtype, shape, field + ".contents.uint_contents");
    case DType::kBool: {
      const int64_t numel = checked_numel(field, shape);
      if (static_cast<int64_t>(c.bool_contents_size()) != numel)
        throw InvalidArgument(field + ".contents.bool_contents: expected " + std::to_string(numel) +
                              " values, received " + std::to_string(c.bool_contents_size()));
      auto t = torch::empty({numel}, torch::kBool);
      std::copy(c.bool_contents().begin(), c.bool_contents().end(), t.data_ptr<bool>());
      return t.reshape(shape);
    }
    default:
      throw InvalidArgument(field + ": datatype " + kserve_name(dtype) +
                            " has no typed contents; send it in raw_input_contents");
  }
}

void typed_output(const torch::Tensor& t, inference::InferTensorContents* c) {
  auto flat = t.contiguous().reshape({-1});
  switch (dtype_of(t)) {
    case DType::kFloat32: {
      auto p = flat.data_ptr<float>();
      c->mutable_fp32_contents()->Add(p, p + flat.numel());
      break;
    }
    case DType::kFloat64: {
      auto p = flat.data_ptr<double>();
      c->mutable_fp64_contents()->Add(p, p + flat.numel());
      break;
    }
    case DType::kInt64: {
      auto p = flat.data_ptr<int64_t>();
      c->mutable_int64_contents()->Add(p, p + flat.numel());
      break;
    }
    case DType::kBool: {
      auto p = flat.data_ptr<bool>();
      c->mutable_bool_contents()->Add(p, p + flat.numel());
      break;
    }
    case DType::kUInt8: {
      auto w = flat.to(torch::kInt64);
      const int64_t* p = w.data_ptr<int64_t>();
      for (int64_t i = 0; i < w.numel(); ++i) c->add_uint_contents(static_cast<uint32_t>(p[i]));
      break;
    }
    default: {
      auto w = flat.to(torch::kInt32);
      auto p = w.data_ptr<int32_t>();
      c->mutable_int_contents()->Add(p, p + w.numel());
    }
  }
}

}  // namespace

std::vector<torch::Tensor> decode_inputs(const inference::ModelInferRequest& req,
                                         const ModelVersionInfo& model) {
  const auto& specs = model.inputs;
  if (req.inputs_size() != static_cast<int>(specs.size())) {
    std::string names;
    for (const auto& s : specs) names += (names.empty() ? "" : ", ") + s.name;
    throw InvalidArgument("inputs: expected " + std::to_string(specs.size()) + " tensor(s) [" +
                          names + "], received " + std::to_string(req.inputs_size()));
  }
  const bool raw = req.raw_input_contents_size() > 0;
  if (raw && req.raw_input_contents_size() != req.inputs_size())
    throw InvalidArgument("raw_input_contents: expected one entry per input (" +
                          std::to_string(req.inputs_size()) + "), received " +
                          std::to_string(req.raw_input_contents_size()));
  std::vector<torch::Tensor> out(specs.size());
  for (int i = 0; i < req.inputs_size(); ++i) {
    const auto& in = req.inputs(i);
    const std::string field = "inputs[" + std::to_string(i) + "]";
    size_t slot = specs.size();
    for (size_t k = 0; k < specs.size(); ++k)
      if (specs[k].name == in.name()) slot = k;
    if (slot == specs.size()) {
      if (specs.size() != 1)
        throw InvalidArgument(field + " '" + in.name() + "': unknown input name");
      slot = 0;  // a single-input model accepts any name
    }
    if (out[slot].defined())
      throw InvalidArgument(field + " '" + in.name() + "': input given twice");
    auto dtype = from_kserve_name(in.datatype());
    if (!dtype)
      throw InvalidArgument(field + ".datatype: expected one of FP32, FP64, INT64, INT32, UINT8, "
                            "INT8, FP16, BF16, BOOL; received '" + in.datatype() + "'");
    const Shape shape(in.shape().begin(), in.shape().end());
    checked_numel(field + ".shape", shape);
    check_spec(field, specs[slot], *dtype, shape);
    check_nonempty_batch(field, shape);
    torch::Tensor t;
    if (raw) {
      t = decode_tensor("raw_input_contents[" + std::to_string(i) + "]", *dtype, shape,
                        req.raw_input_contents(i));
    } else {
      t = typed_input(in, *dtype, shape, field);
    }
    check_finite(field + " '" + specs[slot].name + "'", t);
    out[slot] = t;
  }
  return out;
}

void encode_outputs(const inference::ModelInferRequest& req, const ModelVersionInfo& model,
                    const std::vector<torch::Tensor>& outputs, bool raw,
                    inference::ModelInferResponse* resp) {
  std::vector<size_t> chosen;
  auto name_of = [&](size_t k) {
    return k < model.outputs.size() ? model.outputs[k].name : "output" + std::to_string(k);
  };
  if (req.outputs_size() == 0) {
    for (size_t k = 0; k < outputs.size(); ++k) chosen.push_back(k);
  } else {
    for (int i = 0; i < req.outputs_size(); ++i) {
      size_t found = outputs.size();
      for (size_t k = 0; k < outputs.size(); ++k)
        if (name_of(k) == req.outputs(i).name()) found = k;
      if (found == outputs.size())
        throw InvalidArgument("outputs[" + std::to_string(i) + "] '" + req.outputs(i).name() +
                              "': the model has no such output");
      chosen.push_back(found);
    }
  }
  for (size_t k : chosen) {
    const auto& t = outputs[k];
    auto* o = resp->add_outputs();
    o->set_name(name_of(k));
    o->set_datatype(kserve_name(dtype_of(t)));
    for (auto d : t.sizes()) o->add_shape(d);
    if (raw)
      resp->add_raw_output_contents(encode_tensor(t));
    else
      typed_output(t, o->mutable_contents());
  }
}

}  // namespace attune::rpc

#include "core/model_inspect.h"

#include "core/error.h"

namespace attune {

int64_t parameter_count(const torch::jit::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters(/*recurse=*/true)) n += p.numel();
  return n;
}

bool has_features(const torch::jit::Module& m) { return m.find_method("features").has_value(); }

bool is_batchnorm(const torch::jit::Module& m) {
  const auto type = m.type()->name();
  return type && type->name().find("BatchNorm") != std::string::npos;
}

int64_t batchnorm_layers(const torch::jit::Module& m) {
  int64_t n = 0;
  for (const auto& sub : m.modules())
    if (is_batchnorm(sub)) ++n;
  return n;
}

std::vector<TensorSpec> default_inputs(const torch::jit::Module& m) {
  DType dtype = DType::kFloat32;
  for (const auto& p : m.parameters(true))
    if (p.is_floating_point()) {
      if (auto d = from_scalar_type(p.scalar_type())) dtype = *d;
      break;
    }
  std::vector<TensorSpec> specs;
  const auto& schema = m.get_method("forward").function().getSchema();
  for (size_t i = 1; i < schema.arguments().size(); ++i)  // skip self
    specs.push_back({schema.arguments()[i].name(), dtype, {}});
  return specs;
}

std::vector<torch::Tensor> tensors_of(const c10::IValue& v) {
  if (v.isTensor()) return {v.toTensor()};
  std::vector<torch::Tensor> out;
  auto take = [&](const c10::IValue& x) {
    if (!x.isTensor())
      throw InvalidArgument("model output: expected Tensor or a tuple/list of Tensors, got " +
                            x.tagKind());
    out.push_back(x.toTensor());
  };
  if (v.isTuple()) {
    for (const auto& x : v.toTupleRef().elements()) take(x);
  } else if (v.isList()) {
    for (const auto& x : v.toListRef()) take(x);
  } else {
    take(v);
  }
  return out;
}

std::string torch_error_message(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  std::string msg = e.what();
  if (msg.find("TorchScript interpreter") == std::string::npos) return msg;
  const auto pos = msg.rfind("RuntimeError: ");
  if (pos != std::string::npos) msg = msg.substr(pos + 14);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

std::vector<TensorSpec> probe(torch::jit::Module& m, const std::vector<TensorSpec>& inputs,
                              const std::vector<TensorSpec>& declared_outputs) {
  std::vector<c10::IValue> args;
  bool batch_dynamic = false;
  for (const auto& spec : inputs) {
    if (spec.shape.empty()) return declared_outputs;  // unknown rank: nothing to probe with
    Shape s = spec.shape;
    for (auto& d : s)
      if (d < 0) d = 1;
    batch_dynamic = batch_dynamic || spec.shape[0] < 0;
    args.emplace_back(torch::zeros(s, torch::TensorOptions().dtype(to_scalar_type(spec.dtype))));
  }
  std::vector<torch::Tensor> outs;
  try {
    c10::InferenceMode guard;
    outs = tensors_of(m.forward(args));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw InvalidArgument("probe forward on the declared inputs failed: " + torch_error_message(e));
  }
  if (!declared_outputs.empty() && declared_outputs.size() != outs.size())
    throw InvalidArgument("outputs: declared " + std::to_string(declared_outputs.size()) +
                          " output(s), the model returns " + std::to_string(outs.size()));
  std::vector<TensorSpec> specs;
  for (size_t i = 0; i < outs.size(); ++i) {
    TensorSpec s;
    s.name = declared_outputs.empty() ? (outs.size() == 1 ? "output" : "output" + std::to_string(i))
                                      : declared_outputs[i].name;
    s.dtype = dtype_of(outs[i]);
    s.shape = Shape(outs[i].sizes().begin(), outs[i].sizes().end());
    if (batch_dynamic && !s.shape.empty()) s.shape[0] = -1;
    if (!declared_outputs.empty()) check_spec("outputs[" + std::to_string(i) + "]", declared_outputs[i],
                                              s.dtype, outs[i].sizes().vec());
    specs.push_back(declared_outputs.empty() ? s : declared_outputs[i]);
  }
  return specs;
}

}  // namespace attune

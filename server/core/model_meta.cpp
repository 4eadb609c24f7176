#include "core/model_meta.h"

#include "core/error.h"

namespace attune {

nlohmann::json to_json(const std::vector<TensorSpec>& specs) {
  auto arr = nlohmann::json::array();
  for (const auto& s : specs)
    arr.push_back({{"name", s.name}, {"datatype", kserve_name(s.dtype)}, {"shape", s.shape}});
  return arr;
}

std::vector<TensorSpec> specs_from_json(const nlohmann::json& j, const std::string& field) {
  std::vector<TensorSpec> out;
  if (j.is_null()) return out;
  if (!j.is_array()) throw InvalidArgument(field + ": expected a list of tensor specs");
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& e = j[i];
    const std::string f = field + "[" + std::to_string(i) + "]";
    if (!e.is_object()) throw InvalidArgument(f + ": expected an object");
    TensorSpec s;
    s.name = e.value("name", std::string("input") + std::to_string(i));
    const std::string dt = e.contains("datatype") ? e["datatype"].get<std::string>()
                                                  : e.value("dtype", std::string("FP32"));
    auto d = from_dtype_name(dt);
    if (!d) throw InvalidArgument(f + ".datatype: unknown datatype '" + dt + "'");
    s.dtype = *d;
    if (e.contains("shape")) s.shape = e["shape"].get<Shape>();
    out.push_back(std::move(s));
  }
  return out;
}

nlohmann::json to_json(const ModelVersionInfo& info) {
  return {{"version", info.version},
          {"inputs", to_json(info.inputs)},
          {"outputs", to_json(info.outputs)},
          {"origin", info.origin},
          {"created_unix_seconds", info.created_unix_seconds}};
}

ModelVersionInfo version_from_json(const nlohmann::json& j) {
  ModelVersionInfo v;
  v.version = j.at("version").get<int64_t>();
  v.inputs = specs_from_json(j.value("inputs", nlohmann::json()), "inputs");
  v.outputs = specs_from_json(j.value("outputs", nlohmann::json()), "outputs");
  v.origin = j.value("origin", std::string());
  v.created_unix_seconds = j.value("created_unix_seconds", 0.0);
  return v;
}

}  // namespace attune

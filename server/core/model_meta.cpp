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
    s.name = std::string("input") + std::to_string(i);
    if (e.contains("name")) {
      if (!e["name"].is_string()) throw InvalidArgument(f + ".name: expected a string");
      s.name = e["name"].get<std::string>();
    }
    const char* key = e.contains("datatype") ? "datatype" : "dtype";
    std::string dt = "FP32";
    if (e.contains(key)) {
      if (!e[key].is_string())
        throw InvalidArgument(f + "." + key + ": expected a string such as \"FP32\"");
      dt = e[key].get<std::string>();
    }
    auto d = from_dtype_name(dt);
    if (!d) throw InvalidArgument(f + ".datatype: unknown datatype '" + dt + "'");
    s.dtype = *d;
    if (e.contains("shape")) {
      const auto& shape = e["shape"];
      if (!shape.is_array()) throw InvalidArgument(f + ".shape: expected a list of integers");
      for (size_t k = 0; k < shape.size(); ++k) {
        // -1 = any size; a float, string or dimension below -1 is a mistake, not a wildcard.
        if (!shape[k].is_number_integer() || shape[k].get<int64_t>() < -1)
          throw InvalidArgument(f + ".shape[" + std::to_string(k) + "]: expected an integer >= -1, received " +
                                shape[k].dump());
        s.shape.push_back(shape[k].get<int64_t>());
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

RepositoryConfig repository_config_from_json(std::string_view text, const std::string& where) {
  const auto cfg = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded()) throw InvalidArgument(where + ": not valid JSON");
  if (!cfg.is_object())
    throw InvalidArgument(where + ": expected a JSON object with \"inputs\" and \"outputs\"");
  RepositoryConfig out;
  if (cfg.contains("inputs")) out.inputs = specs_from_json(cfg["inputs"], "config.inputs");
  if (cfg.contains("outputs")) out.outputs = specs_from_json(cfg["outputs"], "config.outputs");
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

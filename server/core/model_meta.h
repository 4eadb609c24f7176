// JSON form of tensor specs and version metadata (meta.json, repository config.json).
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/model_registry.h"

namespace attune {

nlohmann::json to_json(const std::vector<TensorSpec>& specs);
// Accepts {"name", "datatype": "FP32" | "dtype": "float32", "shape": [...]}; throws
// attune::Error(kInvalidArgument) naming `field`.
std::vector<TensorSpec> specs_from_json(const nlohmann::json& j, const std::string& field);
nlohmann::json to_json(const ModelVersionInfo& info);
ModelVersionInfo version_from_json(const nlohmann::json& j);

}  // namespace attune

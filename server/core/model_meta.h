// JSON form of tensor specs and version metadata (meta.json, repository config.json).
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/model_registry.h"

namespace attune {

nlohmann::json to_json(const std::vector<TensorSpec>& specs);
// Accepts {"name", "datatype": "FP32" | "dtype": "float32", "shape": [...]}; throws
// attune::Error(kInvalidArgument) naming `field`.
std::vector<TensorSpec> specs_from_json(const nlohmann::json& j, const std::string& field);

// A model repository's config.json: {"inputs": [specs], "outputs": [specs]}, both optional.
// Anything else (not JSON, not an object, wrongly typed fields) throws
// attune::Error(kInvalidArgument) naming `where` and the field.
struct RepositoryConfig {
  std::vector<TensorSpec> inputs, outputs;
};
RepositoryConfig repository_config_from_json(std::string_view text, const std::string& where);
nlohmann::json to_json(const ModelVersionInfo& info);
ModelVersionInfo version_from_json(const nlohmann::json& j);

}  // namespace attune

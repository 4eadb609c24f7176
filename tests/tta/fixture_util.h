// Loading the official-implementation fixtures of tests/fixtures/tta (see its README).
#pragma once
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attune::tta::testing {

inline std::string fixture_path(const std::string& name) {
  return std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/tta/" + name;
}

inline nlohmann::json load_json(const std::string& name) {
  std::ifstream in(fixture_path(name));
  if (!in) throw std::runtime_error("missing fixture " + fixture_path(name));
  return nlohmann::json::parse(in);
}

inline torch::jit::Module load_fixture_model() {
  return torch::jit::load(fixture_path("eata_model.pt"));
}

inline torch::jit::Module load_test_model(const std::string& name) {
  return torch::jit::load(std::string(ATTUNE_BINARY_DIR) + "/models/" + name + "/1/model.pt");
}

// Nested JSON arrays of numbers (IEEE doubles written round-trip) to a float64 tensor.
inline torch::Tensor to_tensor(const nlohmann::json& j) {
  std::vector<int64_t> shape;
  for (const auto* level = &j; level->is_array(); level = &(*level)[0]) {
    shape.push_back(static_cast<int64_t>(level->size()));
    if (level->empty()) break;
  }
  std::vector<double> values;
  // Depth-first, row-major.
  std::function<void(const nlohmann::json&)> flatten = [&](const nlohmann::json& node) {
    if (node.is_array()) {
      for (const auto& child : node) flatten(child);
    } else {
      values.push_back(node.get<double>());
    }
  };
  flatten(j);
  return torch::tensor(values, torch::kFloat64).reshape(shape);
}

// max |a − b| / max(|b|, floor): a relative error that stays meaningful near zero.
inline double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b, double floor = 1e-12) {
  EXPECT_EQ(a.sizes(), b.sizes());
  const auto a64 = a.to(torch::kFloat64);
  const auto b64 = b.to(torch::kFloat64);
  return ((a64 - b64).abs() / b64.abs().clamp_min(floor)).max().item<double>();
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

inline bool bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() && torch::equal(a, b);
}

}  // namespace attune::tta::testing

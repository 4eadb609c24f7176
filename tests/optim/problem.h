// The spec §7 problem, rebuilt from its formulas, and the reference fixtures.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "optim/param_groups.h"

namespace attune::optim::testing {

// x·W1ᵀ + b1 → tanh → ·W2ᵀ + b2, with data and parameters from sin/cos (no RNG), built in double
// and cast to `dtype`. params = {W1 [8,4], b1 [8], W2 [1,8], b2 [1]}.
struct Problem {
  torch::Tensor x, y;
  std::vector<torch::Tensor> params;

  torch::Tensor predict(const torch::Tensor& inputs) const;  // [n]
  torch::Tensor loss() const;                                // mean squared error on all data
  torch::Tensor sample_loss(int64_t i) const;                // (ŷᵢ − yᵢ)²
  std::vector<NamedParameter> named() const;                 // fc1.weight, fc1.bias, fc2.weight, fc2.bias
};

Problem make_problem(int64_t n, torch::Dtype dtype);

// Parameters flattened in fixture order, as double.
torch::Tensor flatten(const std::vector<torch::Tensor>& params);

const nlohmann::json& fixture(const std::string& dtype);  // "float64" or "float32"
torch::Tensor to_tensor(const nlohmann::json& values);      // double

// max|got − ref| / max|ref| (spec §7's measure).
double rel_err(const torch::Tensor& got, const torch::Tensor& ref);
double rel_err(double got, double ref);

struct Trajectory {
  std::vector<double> loss_before_step;
  std::map<int, torch::Tensor> params_after_step;  // steps 1, 2, 5, 10, 50, 100
  torch::Tensor grad_at_step1;
  double final_loss = 0;
};

// zero_grad, loss, backward, step — `steps` times, recording what the fixture records.
Trajectory run(torch::optim::Optimizer& optimizer, const Problem& problem, int steps = 100);

}  // namespace attune::optim::testing

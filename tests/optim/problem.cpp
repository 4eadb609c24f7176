#include "problem.h"

#include <fstream>

namespace attune::optim::testing {

torch::Tensor Problem::predict(const torch::Tensor& inputs) const {
  auto hidden = torch::tanh(inputs.matmul(params[0].t()) + params[1]);
  return (hidden.matmul(params[2].t()) + params[3]).squeeze(1);
}

torch::Tensor Problem::loss() const { return (predict(x) - y).pow(2).mean(); }

torch::Tensor Problem::sample_loss(int64_t i) const {
  return (predict(x.narrow(0, i, 1)) - y.narrow(0, i, 1)).pow(2).mean();
}

std::vector<NamedParameter> Problem::named() const {
  return {{"fc1.weight", params[0]}, {"fc1.bias", params[1]}, {"fc2.weight", params[2]}, {"fc2.bias", params[3]}};
}

Problem make_problem(int64_t n, torch::Dtype dtype) {
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  auto i = torch::arange(1, n + 1, f64);
  auto j = torch::arange(1, 5, f64);
  auto k = torch::arange(1, 9, f64);
  Problem p;
  p.x = torch::sin(0.37 * i.unsqueeze(1) + 0.91 * j.unsqueeze(0)).to(dtype);
  p.y = torch::cos(0.5 * i).to(dtype);
  const std::vector<torch::Tensor> init = {
      0.5 * torch::cos(0.3 * k.unsqueeze(1) + 0.7 * j.unsqueeze(0)),
      0.05 * torch::sin(k),
      (0.3 * torch::sin(0.5 * k + 0.2)).unsqueeze(0),
      torch::full({1}, 0.1, f64),
  };
  for (const auto& t : init) p.params.push_back(t.to(dtype).set_requires_grad(true));
  return p;
}

torch::Tensor flatten(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> flat;
  for (const auto& p : params) flat.push_back(p.detach().reshape({-1}).to(torch::kDouble));
  return torch::cat(flat);
}

const nlohmann::json& fixture(const std::string& dtype) {
  static std::map<std::string, nlohmann::json> cache;
  auto it = cache.find(dtype);
  if (it == cache.end()) {
    const std::string path =
        std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/optim/reference_" + dtype + ".json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open fixture " + path);
    it = cache.emplace(dtype, nlohmann::json::parse(in)).first;
  }
  return it->second;
}

torch::Tensor to_tensor(const nlohmann::json& values) {
  return torch::tensor(values.get<std::vector<double>>(), torch::kDouble);
}

double rel_err(const torch::Tensor& got, const torch::Tensor& ref) {
  return (got.to(torch::kDouble) - ref).abs().max().item<double>() / ref.abs().max().item<double>();
}

double rel_err(double got, double ref) { return std::abs(got - ref) / std::abs(ref); }

Trajectory run(torch::optim::Optimizer& optimizer, const Problem& problem, int steps) {
  Trajectory out;
  for (int t = 1; t <= steps; ++t) {
    optimizer.zero_grad();
    auto loss = problem.loss();
    loss.backward();
    out.loss_before_step.push_back(loss.item<double>());
    if (t == 1) out.grad_at_step1 = flatten({problem.params[0].grad(), problem.params[1].grad(),
                                             problem.params[2].grad(), problem.params[3].grad()});
    optimizer.step();
    if (t == 1 || t == 2 || t == 5 || t == 10 || t == 50 || t == 100) {
      out.params_after_step[t] = flatten(problem.params);
    }
  }
  torch::NoGradGuard no_grad;
  out.final_loss = problem.loss().item<double>();
  return out;
}

}  // namespace attune::optim::testing

// Closed-form ridge regression, the fast reference model (spec §4 (i)):
//   β = (Xcᵀ W Xc + λI)⁻¹ Xcᵀ W Yc, intercept = ȳ − x̄ β, with weighted means x̄, ȳ (the
// intercept is not penalised). Solved in float64.
#include <stdexcept>

#include "nowcast/regressor.h"

namespace attune::nowcast {
namespace {

class Ridge : public Regressor {
 public:
  explicit Ridge(double l2) : l2_(l2) {}

  FitStats fit(const FitData& d) override {
    const auto w = d.w.unsqueeze(1);
    const auto w_sum = w.sum();
    const auto x_mean = (d.x * w).sum(0) / w_sum;
    const auto y_mean = (d.y * w).sum(0) / w_sum;
    const auto xc = d.x - x_mean;
    const auto yc = d.y - y_mean;
    const int64_t p = d.x.size(1);
    const auto a = xc.t().mm(xc * w) + l2_ * torch::eye(p, torch::kFloat64);
    beta_ = torch::linalg_solve(a, xc.t().mm(yc * w));
    intercept_ = y_mean - x_mean.matmul(beta_);
    const double n = static_cast<double>(d.x.size(0)), pd = static_cast<double>(p);
    return {1, n * pd * pd + pd * pd * pd / 3.0};
  }

  torch::Tensor predict(const torch::Tensor& x) override {
    if (!beta_.defined()) throw std::logic_error("ridge: predict before fit");
    return x.mm(beta_) + intercept_;
  }

  void save(torch::serialize::OutputArchive& a) const override {
    a.write("beta", beta_);
    a.write("intercept", intercept_);
  }
  void load(torch::serialize::InputArchive& a) override {
    a.read("beta", beta_);
    a.read("intercept", intercept_);
  }

 private:
  double l2_;
  torch::Tensor beta_, intercept_;
};

}  // namespace

std::unique_ptr<Regressor> make_ridge(double l2) { return std::make_unique<Ridge>(l2); }

std::unique_ptr<Regressor> make_regressor(const ModelConfig& c, const FeatureLayout& layout,
                                          int64_t n_outputs, uint64_t seed) {
  switch (c.kind) {
    case ModelKind::ridge: return make_ridge(c.l2);
    case ModelKind::mlp:
    case ModelKind::lstm:
    case ModelKind::transformer: return make_neural(c, layout, n_outputs, seed);
    case ModelKind::persistence:
    case ModelKind::climatology: break;
  }
  throw std::invalid_argument(std::string("model.kind: ") + to_string(c.kind) +
                              " is a baseline and has no trainable regressor");
}

}  // namespace attune::nowcast

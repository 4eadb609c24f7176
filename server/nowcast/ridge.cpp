// Closed-form ridge regression, the fast reference model (spec §4 (i)):
//   β = (Xcᵀ W Xc + λI)⁻¹ Xcᵀ W Yc, intercept = ȳ − x̄ β, with weighted means x̄, ȳ (the
// intercept is not penalised). Solved in float64.
// A fit is a few hundred rows × ~30 inputs, where per-op LibTorch dispatch and temporaries cost
// more than the arithmetic, so it is plain loops over the contiguous rows: one pass for the
// weighted means (and the min–max ranges), one for the upper triangle of the normal equations
// (the only n·p² work), then a Cholesky solve of the p×p system.
#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <vector>

#include "nowcast/regressor.h"

namespace attune::nowcast {
namespace {

// Solves A·B = R in place (R becomes B) for SPD `a` (p×p row-major, upper triangle used) and q
// right-hand sides (r: p×q). Returns false, with r untouched, if A is not positive definite.
// Right-looking and row-oriented, and one right-hand side at a time in a contiguous buffer, so
// that the inner loops run over contiguous memory.
bool cholesky_solve(std::vector<double>& a, std::vector<double>& r, int64_t p, int64_t q) {
  std::vector<double> inv(static_cast<size_t>(p)), z(static_cast<size_t>(p));  // 1 / U_jj
  for (int64_t j = 0; j < p; ++j) {  // A = UᵀU, U overwrites the upper triangle
    double* uj = a.data() + j * p;
    if (!(uj[j] > 0)) return false;
    uj[j] = std::sqrt(uj[j]);
    inv[j] = 1.0 / uj[j];
    for (int64_t i = j + 1; i < p; ++i) uj[i] *= inv[j];
    for (int64_t k = j + 1; k < p; ++k) {
      double* ak = a.data() + k * p;
      const double f = uj[k];
      for (int64_t i = k; i < p; ++i) ak[i] -= f * uj[i];
    }
  }
  for (int64_t c = 0; c < q; ++c) {
    for (int64_t i = 0; i < p; ++i) z[i] = r[i * q + c];
    for (int64_t i = 0; i < p; ++i) {  // Uᵀ y = r, column-oriented
      z[i] *= inv[i];
      const double* ui = a.data() + i * p;
      for (int64_t k = i + 1; k < p; ++k) z[k] -= ui[k] * z[i];
    }
    for (int64_t i = p; i-- > 0;) {  // U b = y
      const double* ui = a.data() + i * p;
      double s = z[i];
      for (int64_t k = i + 1; k < p; ++k) s -= ui[k] * z[k];
      z[i] = s * inv[i];
    }
    for (int64_t i = 0; i < p; ++i) r[i * q + c] = z[i];
  }
  return true;
}

class Ridge : public Regressor {
 public:
  explicit Ridge(double l2) : l2_(l2) {}

  FitStats fit(const FitData& d) override { return fit_rows(d.x, d.y, d.w, nullptr, nullptr); }

  std::optional<FitStats> fit_unscaled(const torch::Tensor& x, const torch::Tensor& y,
                                       const torch::Tensor& w, MinMaxScaler& x_scaler,
                                       MinMaxScaler& y_scaler) override {
    return fit_rows(x, y, w, &x_scaler, &y_scaler);
  }

  torch::Tensor predict(const torch::Tensor& x_in) override {
    if (beta_.empty()) throw std::logic_error("ridge: predict before fit");
    const auto xt = x_in.to(torch::kFloat64).contiguous();
    const int64_t n = xt.size(0), p = xt.size(1), q = q_;
    if (p != p_) throw std::invalid_argument("ridge: input width mismatch");
    auto out = torch::empty({n, q}, torch::kFloat64);
    const double* x = xt.data_ptr<double>();
    double* o = out.data_ptr<double>();
    for (int64_t r = 0; r < n; ++r, x += p, o += q) {
      for (int64_t k = 0; k < q; ++k) o[k] = 0.0;
      for (int64_t j = 0; j < p; ++j)
        for (int64_t k = 0; k < q; ++k) o[k] += x[j] * beta_[j * q + k];
      for (int64_t k = 0; k < q; ++k) o[k] += intercept_[k];
    }
    return out;
  }

  void save(torch::serialize::OutputArchive& a) const override {
    a.write("beta", torch::tensor(beta_, torch::kFloat64).reshape({p_, q_}));
    a.write("intercept", torch::tensor(intercept_, torch::kFloat64));
  }
  void load(torch::serialize::InputArchive& a) override {
    torch::Tensor beta, intercept;
    a.read("beta", beta);
    a.read("intercept", intercept);
    if (beta.dim() != 2 || intercept.dim() != 1 || intercept.size(0) != beta.size(1))
      throw std::invalid_argument("ridge: malformed beta/intercept");
    p_ = beta.size(0);
    q_ = beta.size(1);
    beta = beta.to(torch::kFloat64).contiguous();
    intercept = intercept.to(torch::kFloat64).contiguous();
    beta_.assign(beta.data_ptr<double>(), beta.data_ptr<double>() + beta.numel());
    intercept_.assign(intercept.data_ptr<double>(), intercept.data_ptr<double>() + q_);
  }

 private:
  // With scalers, fits them on the rows and solves the scaled problem from the raw centred
  // moments: for x_s = (x − c)/h, Xc_sᵀ W Xc_s = D⁻¹ (Xcᵀ W Xc) D⁻¹ with D = diag(h) (likewise
  // for y) and x̄_s = (x̄ − c)/h, so no scaled copy is made. Without, the rows are already scaled.
  FitStats fit_rows(const torch::Tensor& x_in, const torch::Tensor& y_in, const torch::Tensor& w_in,
                    MinMaxScaler* x_scaler, MinMaxScaler* y_scaler) {
    const auto xt = x_in.to(torch::kFloat64).contiguous();
    const auto yt = y_in.to(torch::kFloat64).contiguous();
    const auto wt = w_in.to(torch::kFloat64).contiguous();
    const int64_t n = xt.size(0), p = xt.size(1), q = yt.size(1);
    if (n < 1) throw std::invalid_argument("ridge: no training rows");
    const double* x = xt.data_ptr<double>();
    const double* y = yt.data_ptr<double>();
    const double* w = wt.data_ptr<double>();

    // Pass 1: weighted means, and the column ranges when the scalers are fitted here.
    std::vector<double> xm(p, 0.0), ym(q, 0.0);
    std::vector<double> x_lo(x, x + p), x_hi(x, x + p), y_lo(y, y + q), y_hi(y, y + q);
    double w_sum = 0;
    for (int64_t r = 0; r < n; ++r) {
      const double* xr = x + r * p;
      const double* yr = y + r * q;
      w_sum += w[r];
      for (int64_t j = 0; j < p; ++j) xm[j] += w[r] * xr[j];
      for (int64_t k = 0; k < q; ++k) ym[k] += w[r] * yr[k];
      if (!x_scaler) continue;
      for (int64_t j = 0; j < p; ++j) {
        x_lo[j] = std::min(x_lo[j], xr[j]);
        x_hi[j] = std::max(x_hi[j], xr[j]);
      }
      for (int64_t k = 0; k < q; ++k) {
        y_lo[k] = std::min(y_lo[k], yr[k]);
        y_hi[k] = std::max(y_hi[k], yr[k]);
      }
    }
    for (auto& v : xm) v /= w_sum;
    for (auto& v : ym) v /= w_sum;

    // Pass 2: upper triangle of Xcᵀ W Xc, and Xcᵀ W Yc.
    std::vector<double> a(p * p, 0.0), b(p * q, 0.0), xc(p), yc(q);
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t j = 0; j < p; ++j) xc[j] = x[r * p + j] - xm[j];
      for (int64_t k = 0; k < q; ++k) yc[k] = w[r] * (y[r * q + k] - ym[k]);
      for (int64_t i = 0; i < p; ++i) {
        const double wx = w[r] * xc[i];
        double* ai = a.data() + i * p;
        for (int64_t j = i; j < p; ++j) ai[j] += wx * xc[j];
        double* bi = b.data() + i * q;
        for (int64_t k = 0; k < q; ++k) bi[k] += xc[i] * yc[k];
      }
    }

    if (x_scaler) {
      x_scaler->fit_ranges(x_lo, x_hi);
      y_scaler->fit_ranges(y_lo, y_hi);
      std::vector<double> ixh(p), iyh(q);  // 1/h
      for (int64_t j = 0; j < p; ++j) ixh[j] = 1.0 / x_scaler->half_range[j];
      for (int64_t k = 0; k < q; ++k) iyh[k] = 1.0 / y_scaler->half_range[k];
      for (int64_t i = 0; i < p; ++i) {
        for (int64_t j = i; j < p; ++j) a[i * p + j] *= ixh[i] * ixh[j];
        for (int64_t k = 0; k < q; ++k) b[i * q + k] *= ixh[i] * iyh[k];
        xm[i] = (xm[i] - x_scaler->center[i]) * ixh[i];
      }
      for (int64_t k = 0; k < q; ++k) ym[k] = (ym[k] - y_scaler->center[k]) * iyh[k];
    }
    for (int64_t j = 0; j < p; ++j) a[j * p + j] += l2_;

    if (!cholesky_solve(a, b, p, q)) {
      // Only reachable with λ = 0 and (near-)collinear inputs: LU decides (and throws when the
      // system is exactly singular, as the tensor solve always did).
      const auto rhs = torch::from_blob(b.data(), {p, q}, torch::kFloat64).clone();
      const auto sol = torch::linalg_solve(full_system(xt, wt, x_scaler), rhs).contiguous();
      std::copy(sol.data_ptr<double>(), sol.data_ptr<double>() + p * q, b.begin());
    }
    p_ = p;
    q_ = q;
    beta_ = std::move(b);
    intercept_ = std::move(ym);
    for (int64_t k = 0; k < q; ++k)
      for (int64_t j = 0; j < p; ++j) intercept_[k] -= xm[j] * beta_[j * q + k];
    const double nd = static_cast<double>(n), pd = static_cast<double>(p);
    return {1, nd * pd * pd + pd * pd * pd / 3.0};
  }

  // Xc_sᵀ W Xc_s + λI as a tensor (fallback path only).
  torch::Tensor full_system(const torch::Tensor& x, const torch::Tensor& w,
                            const MinMaxScaler* x_scaler) const {
    const auto xs = x_scaler ? x_scaler->transform(x) : x;
    const auto wc = w.unsqueeze(1);
    const auto xc = xs - (xs * wc).sum(0) / w.sum();
    return xc.t().mm(xc * wc) + l2_ * torch::eye(x.size(1), torch::kFloat64);
  }

  double l2_;
  int64_t p_ = 0, q_ = 0;
  std::vector<double> beta_, intercept_;  // [p, q] row-major, [q]
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

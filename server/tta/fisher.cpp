#include "tta/fisher.h"

#include <sstream>
#include <stdexcept>

namespace attune::tta {

FisherInfo estimate_fisher(BnModel& model, const std::vector<torch::Tensor>& batches) {
  TORCH_CHECK(!batches.empty(), "estimate_fisher needs at least one batch");
  torch::AutoGradMode enable_grad(true);
  const auto& params = model.params();
  FisherInfo fisher;
  fisher.names = model.param_names();
  fisher.theta0 = model.source_params();
  model.zero_grad();
  for (const auto& x : batches) {
    const auto logits = model.forward(x);
    const auto pseudo_labels = std::get<1>(logits.max(1));
    torch::nn::functional::cross_entropy(logits, pseudo_labels).backward();
    for (size_t i = 0; i < params.size(); ++i) {
      const auto g2 = params[i].grad().detach().pow(2);
      if (fisher.F.size() <= i) {
        fisher.F.push_back(g2);
      } else {
        fisher.F[i] = g2 + fisher.F[i];
      }
    }
    model.zero_grad();
    fisher.samples += x.size(0);
  }
  fisher.batches = static_cast<int64_t>(batches.size());
  for (auto& f : fisher.F) f = f / fisher.batches;
  return fisher;
}

namespace {

torch::Tensor flat(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> views;
  views.reserve(tensors.size());
  for (const auto& t : tensors) views.push_back(t.detach().reshape(-1));
  return torch::cat(views).contiguous();
}

// Calls f(θ, F, θ0, g, n) per parameter with pointers into the flat F/θ0 and the parameter's
// gradient (null unless `grads`).
template <typename scalar_t, typename Fn>
void for_each_param(const std::vector<torch::Tensor>& params, const torch::Tensor& F,
                    const torch::Tensor& theta0, bool grads, Fn&& f) {
  const auto* Fp = F.data_ptr<scalar_t>();
  const auto* t0 = theta0.data_ptr<scalar_t>();
  int64_t offset = 0;
  for (const auto& p : params) {
    TORCH_CHECK(p.is_cpu() && p.is_contiguous() && p.scalar_type() == F.scalar_type(),
                "FisherPenalty: expected contiguous CPU parameters of type ", F.scalar_type());
    TORCH_CHECK(offset + p.numel() <= F.numel(), "FisherPenalty: more parameter elements than F");
    scalar_t* g = nullptr;
    if (grads) {
      auto& grad = p.mutable_grad();
      if (!grad.defined()) grad = torch::zeros_like(p);
      TORCH_CHECK(grad.is_cpu() && grad.is_contiguous(), "FisherPenalty: non-contiguous gradient");
      g = grad.data_ptr<scalar_t>();
    }
    f(p.data_ptr<scalar_t>(), Fp + offset, t0 + offset, g, p.numel());
    offset += p.numel();
  }
  TORCH_CHECK(offset == F.numel(), "FisherPenalty: ", offset, " parameter elements for ",
              F.numel(), " in F");
}

}  // namespace

FisherPenalty::FisherPenalty(const FisherInfo& fisher)
    : F_(flat(fisher.F)), theta0_(flat(fisher.theta0)) {}

double FisherPenalty::value(const std::vector<torch::Tensor>& params, double fisher_alpha) const {
  double total = 0;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, F_.scalar_type(), "fisher_value", [&] {
    const auto alpha = static_cast<scalar_t>(fisher_alpha);
    for_each_param<scalar_t>(params, F_, theta0_, false, [&](const scalar_t* t, const scalar_t* F,
                                                            const scalar_t* t0, scalar_t*,
                                                            int64_t n) {
      for (int64_t k = 0; k < n; ++k) {
        const auto d = static_cast<scalar_t>(t[k] - t0[k]);
        const auto aF = static_cast<scalar_t>(alpha * F[k]);
        total += static_cast<double>(static_cast<scalar_t>(aF * static_cast<scalar_t>(d * d)));
      }
    });
  });
  return total;
}

void FisherPenalty::add_gradient(const std::vector<torch::Tensor>& params,
                                 double fisher_alpha) const {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, F_.scalar_type(), "fisher_grad", [&] {
    const auto alpha = static_cast<scalar_t>(fisher_alpha);
    for_each_param<scalar_t>(params, F_, theta0_, true, [&](const scalar_t* t, const scalar_t* F,
                                                           const scalar_t* t0, scalar_t* g,
                                                           int64_t n) {
      // Autograd's chain for (β·F)·(θ − θ0)²: PowBackward gives 2·(θ − θ0), MulBackward the
      // product with β·F; the engine then sums it with the BatchNorm gradient.
      for (int64_t k = 0; k < n; ++k) {
        const auto two_d = static_cast<scalar_t>(scalar_t(2) * static_cast<scalar_t>(t[k] - t0[k]));
        const auto aF = static_cast<scalar_t>(alpha * F[k]);
        g[k] = static_cast<scalar_t>(g[k] + static_cast<scalar_t>(aF * two_d));
      }
    });
  });
}

void check_fisher_matches(const FisherInfo& fisher, const BnModel& model) {
  const auto& names = model.param_names();
  const auto& params = model.params();
  auto fail = [](const std::string& what) { throw std::invalid_argument("fisher: " + what); };
  if (fisher.names.size() != names.size() || fisher.F.size() != names.size() ||
      fisher.theta0.size() != names.size()) {
    std::ostringstream msg;
    msg << "expected " << names.size() << " BatchNorm parameters, received " << fisher.names.size()
        << " names, " << fisher.F.size() << " F and " << fisher.theta0.size() << " theta0 tensors";
    fail(msg.str());
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (fisher.names[i] != names[i]) {
      fail("parameter " + std::to_string(i) + ": expected name '" + names[i] + "', received '" +
           fisher.names[i] + "'");
    }
    for (const auto* t : {&fisher.F[i], &fisher.theta0[i]}) {
      if (!t->defined() || t->sizes() != params[i].sizes() ||
          t->scalar_type() != params[i].scalar_type()) {
        std::ostringstream msg;
        msg << names[i] << ": expected a " << params[i].scalar_type() << " tensor of shape "
            << params[i].sizes() << ", received ";
        if (t->defined()) {
          msg << t->scalar_type() << ' ' << t->sizes();
        } else {
          msg << "an undefined tensor";
        }
        fail(msg.str());
      }
    }
  }
}

}  // namespace attune::tta

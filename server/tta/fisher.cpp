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
  for (const auto& t : tensors) views.push_back(t.reshape(-1));
  return torch::cat(views);
}

}  // namespace

FisherPenalty::FisherPenalty(const FisherInfo& fisher)
    : F_(flat(fisher.F)), theta0_(flat(fisher.theta0)) {}

torch::Tensor FisherPenalty::operator()(const std::vector<torch::Tensor>& params,
                                        double fisher_alpha) const {
  return fisher_alpha * (F_ * (flat(params) - theta0_).pow(2)).sum();
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

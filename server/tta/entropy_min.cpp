#include "tta/entropy_min.h"

#include <cmath>

namespace attune::tta {

torch::Tensor softmax_entropy(const torch::Tensor& logits) {
  return -(logits.softmax(1) * logits.log_softmax(1)).sum(1);
}

StepOutcome tent_step(BnModel& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x) {
  torch::AutoGradMode enable_grad(true);
  StepOutcome out;
  out.logits = model.forward(x);
  const auto entropy = softmax_entropy(out.logits);
  const auto loss = entropy.mean(0);
  loss.backward();
  optimizer.step();
  optimizer.zero_grad();
  out.logits = out.logits.detach();
  out.entropy = entropy.detach();
  out.reliable = out.used = x.size(0);
  out.updated = true;
  out.loss = loss.item<double>();
  return out;
}

StepOutcome eata_step(BnModel& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                      const EataStepConfig& config, torch::Tensor& moving_avg) {
  torch::AutoGradMode enable_grad(true);
  StepOutcome out;
  out.logits = model.forward(x);
  const auto entropy = softmax_entropy(out.logits);
  const double E0 = std::log(static_cast<double>(out.logits.size(1))) * config.e_margin_factor;

  // S1: reliable samples (Eq. 6). S2 ⊆ S1: samples whose prediction is not redundant with the
  // moving average m (Eq. 7); S2 = S1 before m exists.
  const auto S1 = torch::nonzero(entropy < E0).select(1, 0);
  const auto probs_S1 = out.logits.detach().index_select(0, S1).softmax(1);
  torch::Tensor S2_in_S1;
  torch::Tensor E_S2 = entropy.index({S1});
  torch::Tensor probs_S2 = probs_S1;
  if (moving_avg.defined()) {
    const auto cos = torch::cosine_similarity(moving_avg.unsqueeze(0), probs_S1, /*dim=*/1);
    S2_in_S1 = torch::nonzero(cos.abs() < config.d_margin).select(1, 0);
    E_S2 = E_S2.index({S2_in_S1});
    probs_S2 = probs_S2.index_select(0, S2_in_S1);
  }
  out.reliable = S1.size(0);
  out.used = E_S2.size(0);

  // Eq. 8: weights 1/exp(E − E0) on detached entropies; the mean is NaN when S2 is empty, in
  // which case nothing is back-propagated (official).
  const auto coeff = 1.0 / torch::exp(E_S2.detach() - E0);
  out.weights = coeff;
  auto loss = E_S2.mul(coeff).mean(0);
  if (config.fisher) {
    const auto ewc = (*config.fisher)(model.params(), config.fisher_alpha);
    out.fisher_penalty = ewc.item<double>();
    loss = loss + ewc;
  }
  if (out.used > 0) {
    loss.backward();
    optimizer.step();
    out.updated = true;
    out.loss = loss.item<double>();
  }
  optimizer.zero_grad();

  // m ← 0.9 m + (1 − 0.9) mean(p_S2); the first m is the mean over S1.
  {
    torch::NoGradGuard no_grad;
    if (!moving_avg.defined()) {
      if (out.reliable > 0) moving_avg = probs_S1.mean(0);
    } else if (out.used > 0) {
      moving_avg = 0.9 * moving_avg + (1 - 0.9) * probs_S2.mean(0);
    }
  }
  out.logits = out.logits.detach();
  out.entropy = entropy.detach();
  return out;
}

}  // namespace attune::tta

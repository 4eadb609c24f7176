#include "tta/entropy_min.h"

#include <ATen/OpMathType.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace attune::tta {

torch::Tensor softmax_entropy(const torch::Tensor& logits, torch::Tensor* probs) {
  auto p = logits.softmax(1);
  auto entropy = -(p * logits.log_softmax(1)).sum(1);
  if (probs) *probs = std::move(p);
  return entropy;
}

StepOutcome tent_step(BnModel& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x) {
  torch::AutoGradMode enable_grad(true);
  StepOutcome out;
  out.logits = model.forward(x);
  const auto entropy = softmax_entropy(out.logits, &out.probs);
  const auto loss = entropy.mean(0);
  loss.backward();
  optimizer.step();
  optimizer.zero_grad();
  out.logits = out.logits.detach();
  out.probs = out.probs.detach();
  out.entropy = entropy.detach();
  out.reliable = out.used = x.size(0);
  out.updated = true;
  out.loss = loss.item<double>();
  return out;
}

namespace {

struct Selection {
  int64_t reliable = 0;       // |S1|
  std::vector<int64_t> used;  // S2, batch indices
};

// S1 = {E < E0} (Eq. 6), S2 = {i ∈ S1 : |cos(m, p_i)| < ε} (Eq. 7; S1 while m is undefined) and
// the moving average m ← 0.9 m + (1 − 0.9) mean(p_S2) (the first m: mean(p_S1)), on the host.
// The official code does this with a dozen small tensor ops (masks, cosine similarity, indexing,
// means) whose dispatch cost (~0.35 ms per batch) dwarfed the arithmetic on N×C numbers. Every
// operation rounds to the tensor's type where the tensor op would; only the order of the sums
// in the cosine and the mean differs (last-ulp differences at most).
Selection select_and_average(const torch::Tensor& entropy, const torch::Tensor& probs, double E0,
                             double d_margin, torch::Tensor& m) {
  TORCH_CHECK(entropy.is_cpu() && probs.is_cpu(), "eata_step: CPU tensors expected");
  TORCH_CHECK(!m.defined() || (m.is_cpu() && m.is_contiguous() && m.numel() == probs.size(1) &&
                               m.scalar_type() == probs.scalar_type()),
              "eata_step: the moving average does not match the model's output");
  const auto E_t = entropy.contiguous();
  const auto P_t = probs.contiguous();
  const int64_t N = P_t.size(0), C = P_t.size(1);
  Selection s;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, P_t.scalar_type(), "eata_select", [&] {
    using T = scalar_t;
    using acc = at::opmath_type<T>;  // what the tensor ops compute in
    const auto rd = [](acc v) { return static_cast<acc>(static_cast<T>(v)); };
    const T* E = E_t.data_ptr<T>();
    const T* P = P_t.data_ptr<T>();
    // torch.cosine_similarity: each side divided by sqrt(max(Σx², 1e-16)), then Σ x̂1·x̂2.
    const auto unit = [&](const T* v, acc* out) {
      acc sq = 0;
      for (int64_t k = 0; k < C; ++k) sq += rd(acc(v[k]) * acc(v[k]));
      const acc norm = rd(std::sqrt(std::max(rd(sq), rd(1e-16))));
      for (int64_t k = 0; k < C; ++k) out[k] = rd(acc(v[k]) / norm);
    };
    std::vector<acc> m_unit(static_cast<size_t>(C)), p_unit(static_cast<size_t>(C));
    if (m.defined()) unit(m.data_ptr<T>(), m_unit.data());
    for (int64_t i = 0; i < N; ++i) {
      if (!(acc(E[i]) < rd(E0))) continue;
      ++s.reliable;
      if (m.defined()) {
        unit(P + i * C, p_unit.data());
        acc cos = 0;
        for (int64_t k = 0; k < C; ++k) cos += rd(m_unit[k] * p_unit[k]);
        if (!(std::abs(rd(cos)) < rd(d_margin))) continue;
      }
      s.used.push_back(i);
    }
    if (s.used.empty()) return;  // m stays as it is (undefined before the first reliable sample)
    std::vector<acc> sum(static_cast<size_t>(C), acc(0));
    for (const auto i : s.used) {
      for (int64_t k = 0; k < C; ++k) sum[k] += acc(P[i * C + k]);
    }
    const bool first = !m.defined();
    if (first) m = torch::empty({C}, P_t.options());
    T* mp = m.data_ptr<T>();
    for (int64_t k = 0; k < C; ++k) {
      const acc mean = rd(rd(sum[k]) / acc(s.used.size()));
      mp[k] = static_cast<T>(first ? mean : rd(acc(0.9) * acc(mp[k])) + rd(acc(1 - 0.9) * mean));
    }
  });
  return s;
}

double host_mean(const torch::Tensor& t) {
  double sum = 0;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, t.scalar_type(), "host_mean", [&] {
    const auto* p = t.data_ptr<scalar_t>();
    for (int64_t i = 0; i < t.numel(); ++i) sum += static_cast<double>(p[i]);
  });
  return sum / static_cast<double>(t.numel());
}

// v[index], a new tensor outside the autograd graph.
torch::Tensor compact(const torch::Tensor& v, const std::vector<int64_t>& index) {
  const auto src_t = v.contiguous();
  auto out = torch::empty({static_cast<int64_t>(index.size())}, v.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, v.scalar_type(), "compact", [&] {
    const auto* src = src_t.data_ptr<scalar_t>();
    auto* dst = out.data_ptr<scalar_t>();
    for (size_t j = 0; j < index.size(); ++j) dst[j] = src[index[j]];
  });
  return out;
}

// w of size n: w[index[j]] = (1/|index|)·coeff[j], 0 elsewhere. This is the gradient autograd
// gives mean(coeff ⊙ v[index]) with respect to v (MeanBackward 1/|index|, then MulBackward),
// rounded the same way.
torch::Tensor mean_weights(const torch::Tensor& coeff, const std::vector<int64_t>& index,
                           int64_t n) {
  auto w = torch::empty({n}, coeff.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, w.scalar_type(), "mean_weights", [&] {
    const auto inv = static_cast<scalar_t>(scalar_t(1) / static_cast<scalar_t>(index.size()));
    const auto* c = coeff.data_ptr<scalar_t>();
    auto* out = w.data_ptr<scalar_t>();
    std::fill(out, out + n, scalar_t(0));
    for (size_t j = 0; j < index.size(); ++j) out[index[j]] = static_cast<scalar_t>(inv * c[j]);
  });
  return w;
}

}  // namespace

StepOutcome eata_step(BnModel& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                      const EataStepConfig& config, torch::Tensor& moving_avg) {
  torch::AutoGradMode enable_grad(true);
  StepOutcome out;
  out.logits = model.forward(x);
  const auto entropy = softmax_entropy(out.logits, &out.probs);
  const double E0 = std::log(static_cast<double>(out.logits.size(1))) * config.e_margin_factor;
  const auto selection = select_and_average(entropy, out.probs, E0, config.d_margin, moving_avg);
  out.reliable = selection.reliable;
  out.used = static_cast<int64_t>(selection.used.size());

  // Penalty before the |S2| check (official), its gradient added by hand (FisherPenalty).
  if (config.fisher) {
    out.fisher_penalty = config.fisher->value(model.params(), config.fisher_alpha);
  }
  if (out.used > 0) {
    // Eq. 8: weights 1/exp(E − E0) on detached entropies, computed on the S2 entropies laid out
    // as in the official code (so that exp rounds identically); nothing is back-propagated when
    // S2 is empty (the official mean would be NaN). The loss mean_{S2}(w ⊙ E) is taken as
    // E · w' with w' = w/|S2| on S2 and 0 elsewhere: the same gradient bit for bit, without an
    // index_select and its scatter in the backward (the reported value is summed in another order).
    const auto E_S2 = compact(entropy, selection.used);
    const auto coeff = E_S2.sub(torch::scalar_tensor(E0, E_S2.options())).exp_().reciprocal_();
    const auto loss = entropy.dot(mean_weights(coeff, selection.used, entropy.size(0)));
    loss.backward();
    if (config.fisher) config.fisher->add_gradient(model.params(), config.fisher_alpha);
    optimizer.step();
    out.updated = true;
    out.loss = loss.item<double>() + out.fisher_penalty.value_or(0.0);
    out.weights = coeff;
    out.mean_weight = host_mean(coeff);
  } else {
    out.weights = torch::empty({0}, out.probs.options());
  }
  optimizer.zero_grad();
  out.logits = out.logits.detach();
  out.probs = out.probs.detach();
  out.entropy = entropy.detach();
  return out;
}

}  // namespace attune::tta

// eata_step keeps EATA's filters, moving average and Fisher gradient off the autograd graph and
// out of small tensor ops (for speed). The float64 fixtures pin it to the official code; these
// tests check the same in float32 against the official sequence of tensor ops, and the
// hand-written Fisher gradient against autograd's, bit for bit.
#include <gtest/gtest.h>

#include "fixture_util.h"
#include "tta/bn_model.h"
#include "tta/entropy_min.h"
#include "tta/fisher.h"

namespace attune::tta {
namespace {

using testing::bitwise_equal;
using testing::load_fixture_model;
using testing::load_json;
using testing::max_rel_diff;
using testing::to_tensor;

std::vector<torch::Tensor> fixture_batches(const char* which, torch::ScalarType dtype) {
  const auto fixture = load_json("eata.json");
  std::vector<torch::Tensor> out;
  for (const auto& b : fixture["inputs"][which]) out.push_back(to_tensor(b["x"]).to(dtype));
  return out;
}

// mr-eggplant/EATA forward_and_adapt_eata, op for op (tta spec §2).
void official_eata_step(BnModel& model, torch::optim::Optimizer& opt, const torch::Tensor& x,
                        double E0, double d_margin, const FisherInfo* fisher, double alpha,
                        torch::Tensor& m, int64_t& n1, int64_t& n2) {
  torch::AutoGradMode grad(true);
  const auto logits = model.forward(x);
  auto E = -(logits.softmax(1) * logits.log_softmax(1)).sum(1);
  const auto ids1 = torch::nonzero(E < E0).select(1, 0);
  E = E.index({ids1});
  const auto probs1 = logits.detach().index_select(0, ids1).softmax(1);
  auto probs2 = probs1;
  if (m.defined()) {
    const auto cos = torch::cosine_similarity(m.unsqueeze(0), probs1, 1);
    const auto ids2 = torch::nonzero(cos.abs() < d_margin).select(1, 0);
    E = E.index({ids2});
    probs2 = probs1.index_select(0, ids2);
  }
  n1 = ids1.size(0);
  n2 = E.size(0);
  auto loss = E.mul(torch::exp(E.detach() - E0).reciprocal()).mean(0);
  if (fisher) {
    for (size_t i = 0; i < fisher->F.size(); ++i) {
      loss = loss + (alpha * fisher->F[i] * (model.params()[i] - fisher->theta0[i]).pow(2)).sum();
    }
  }
  if (n2 > 0) {
    loss.backward();
    opt.step();
  }
  opt.zero_grad();
  torch::NoGradGuard no_grad;
  if (!m.defined()) {
    if (n1 > 0) m = probs1.mean(0);
  } else if (n2 > 0) {
    m = 0.9 * m + (1 - 0.9) * probs2.mean(0);
  }
}

TEST(EataStep, MatchesTheOfficialTensorOpsInFloat32) {
  auto source = load_fixture_model();
  source.to(torch::kFloat);
  const auto adapt = fixture_batches("adapt_batches", torch::kFloat);
  const auto clean = fixture_batches("fisher_batches", torch::kFloat);
  for (const double alpha : {0.0, 1.0, 2000.0}) {
    for (const double d_margin : {0.4, 0.05}) {
      SCOPED_TRACE("alpha " + std::to_string(alpha) + " d_margin " + std::to_string(d_margin));
      BnModel ours(source, "eata", true), theirs(source, "eata", true);
      const auto fisher = estimate_fisher(theirs, clean);
      theirs.restore_source();
      const FisherPenalty penalty(fisher);
      torch::optim::SGD sgd_ours(ours.params(), torch::optim::SGDOptions(0.01).momentum(0.9));
      torch::optim::SGD sgd_theirs(theirs.params(), torch::optim::SGDOptions(0.01).momentum(0.9));
      const EataStepConfig config{0.4, d_margin, alpha > 0 ? &penalty : nullptr, alpha};
      const double E0 = 0.4 * std::log(10.0);
      torch::Tensor m_ours, m_theirs;
      int64_t updates = 0;
      for (int round = 0; round < 3; ++round) {
        for (const auto& x : adapt) {
          int64_t n1 = 0, n2 = 0;
          const auto out = eata_step(ours, sgd_ours, x, config, m_ours);
          official_eata_step(theirs, sgd_theirs, x, E0, d_margin, alpha > 0 ? &fisher : nullptr,
                             alpha, m_theirs, n1, n2);
          EXPECT_EQ(out.reliable, n1);
          EXPECT_EQ(out.used, n2);
          updates += out.updated;
          for (size_t i = 0; i < ours.params().size(); ++i) {
            EXPECT_TRUE(bitwise_equal(ours.params()[i].detach(), theirs.params()[i].detach()))
                << ours.param_names()[i];
          }
          ASSERT_EQ(m_ours.defined(), m_theirs.defined());
          // Sums in another order: a few float32 ulps at most.
          if (m_ours.defined()) EXPECT_LE(max_rel_diff(m_ours, m_theirs), 1e-6);
        }
      }
      EXPECT_GT(updates, 0);
    }
  }
}

TEST(EataStep, FisherGradientIsAutogradsBitForBit) {
  torch::manual_seed(3);
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    FisherInfo info;
    std::vector<torch::Tensor> params, bn_grads;
    for (const int64_t n : {4, 4, 7, 7}) {
      info.names.push_back("p" + std::to_string(params.size()));
      info.F.push_back(torch::rand({n}, dtype) * 1e-3);
      info.theta0.push_back(torch::randn({n}, dtype));
      params.push_back((info.theta0.back() + 0.1 * torch::randn({n}, dtype)).requires_grad_());
      bn_grads.push_back(torch::randn({n}, dtype));
    }
    const double alpha = 2000;
    // Autograd through the official expression, with the BatchNorm gradient arriving alongside.
    torch::Tensor reference = torch::zeros({}, dtype);
    for (size_t i = 0; i < params.size(); ++i) {
      reference = reference + (alpha * info.F[i] * (params[i] - info.theta0[i]).pow(2)).sum() +
                  (params[i] * bn_grads[i]).sum();
    }
    reference.backward();
    std::vector<torch::Tensor> expected;
    for (auto& p : params) {
      expected.push_back(p.grad().clone());
      p.mutable_grad() = bn_grads[expected.size() - 1].clone();
    }
    const FisherPenalty penalty(info);
    penalty.add_gradient(params, alpha);
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(bitwise_equal(params[i].grad(), expected[i])) << dtype << " " << i;
    }
    torch::NoGradGuard no_grad;
    double value = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      value += (alpha * info.F[i] * (params[i] - info.theta0[i]).pow(2)).sum().item<double>();
    }
    EXPECT_NEAR(penalty.value(params, alpha), value,
                (dtype == torch::kFloat ? 1e-6 : 1e-14) * std::abs(value));
  }
}

}  // namespace
}  // namespace attune::tta

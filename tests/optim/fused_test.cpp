// The single-pass kernels against the tensor-op reference path: bit-identical in float32 and
// float64, on the threaded path (tensors above LibTorch's grain size) and the direct one, with
// every option that changes the kernel. Plus fp32 maths for fp16/bf16 parameters.
#include <gtest/gtest.h>

#include <functional>

#include "optim/adabelief.h"
#include "optim/adagrad_norm.h"
#include "optim/adan.h"
#include "optim/exadam.h"
#include "optim/fused_loop.h"
#include "optim/step_support.h"

namespace attune::optim {
namespace {

using Factory = std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::Tensor>, bool fused)>;

struct Variant {
  std::string label;
  Factory make;
};

std::vector<Variant> variants() {
  return {
      {"exadam_wd", [](auto p, bool f) { return std::make_unique<EXAdam>(p, EXAdamOptions(1e-2).weight_decay(1e-2).fused(f)); }},
      {"exadam_v1", [](auto p, bool f) { return std::make_unique<EXAdam>(p, EXAdamOptions(1e-2).log_step_size(true).fused(f)); }},
      {"adan_prox", [](auto p, bool f) { return std::make_unique<Adan>(p, AdanOptions(1e-2).weight_decay(0.02).fused(f)); }},
      {"adan_no_prox", [](auto p, bool f) { return std::make_unique<Adan>(p, AdanOptions(1e-2).weight_decay(0.02).no_prox(true).fused(f)); }},
      {"adan_clipped", [](auto p, bool f) { return std::make_unique<Adan>(p, AdanOptions(1e-2).max_grad_norm(0.05).fused(f)); }},
      {"adabelief_rectified", [](auto p, bool f) { return std::make_unique<AdaBelief>(p, AdaBeliefOptions(1e-2).fused(f)); }},
      {"adabelief_rect_amsgrad", [](auto p, bool f) { return std::make_unique<AdaBelief>(p, AdaBeliefOptions(1e-2).amsgrad(true).fused(f)); }},
      {"adabelief_rect_no_sgd", [](auto p, bool f) { return std::make_unique<AdaBelief>(p, AdaBeliefOptions(1e-2).degenerated_to_sgd(false).fused(f)); }},
      {"adabelief_adaptive", [](auto p, bool f) { return std::make_unique<AdaBelief>(p, AdaBeliefOptions(1e-2).rectify(false).weight_decay(1e-2).fused(f)); }},
      {"adabelief_amsgrad", [](auto p, bool f) { return std::make_unique<AdaBelief>(p, AdaBeliefOptions(1e-2).rectify(false).amsgrad(true).eps(1e-8).fused(f)); }},
      {"adabelief_l2", [](auto p, bool f) { return std::make_unique<AdaBelief>(p, AdaBeliefOptions(1e-2).rectify(false).weight_decouple(false).weight_decay(1e-3).fused(f)); }},
      {"adabelief_fixed_decay", [](auto p, bool f) { return std::make_unique<AdaBelief>(p, AdaBeliefOptions(1e-2).fixed_decay(true).weight_decay(1e-3).fused(f)); }},
      {"adagradnorm", [](auto p, bool f) { return std::make_unique<AdaGradNorm>(p, AdaGradNormOptions(0.1).fused(f)); }},
      {"adagradnorm_l2", [](auto p, bool f) { return std::make_unique<AdaGradNorm>(p, AdaGradNormOptions(0.1).weight_decay(1e-3).fused(f)); }},
  };
}

constexpr int kSteps = 8;

// A tensor above LibTorch's grain size (split across threads when there are several) and a
// small odd-sized one (vector-loop tails).
std::vector<torch::Tensor> make_params(torch::Dtype dtype) {
  torch::manual_seed(7);
  return {torch::randn({200, 200}).to(dtype).set_requires_grad(true), torch::randn({7}).to(dtype).set_requires_grad(true)};
}

std::vector<std::vector<torch::Tensor>> make_grads(torch::Dtype dtype) {
  torch::manual_seed(11);
  std::vector<std::vector<torch::Tensor>> grads;
  for (int t = 0; t < kSteps; ++t) {
    // Shifted so the gradient keeps a sign and the moments settle like a real run's.
    grads.push_back({(torch::randn({200, 200}) * 0.1 + 0.05).to(dtype), (torch::randn({7}) * 0.1).to(dtype)});
  }
  return grads;
}

// Runs kSteps and returns every step's parameters and (possibly rewritten) gradients.
std::vector<torch::Tensor> trajectory(const Variant& v, torch::Dtype dtype, bool fused) {
  auto params = make_params(dtype);
  const auto grads = make_grads(dtype);
  auto optimizer = v.make(params, fused);
  std::vector<torch::Tensor> out;
  for (int t = 0; t < kSteps; ++t) {
    for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = grads[t][i].clone();
    optimizer->step();
    for (size_t i = 0; i < params.size(); ++i) {
      out.push_back(params[i].detach().clone());
      out.push_back(params[i].grad().clone());
    }
  }
  return out;
}

std::vector<torch::Tensor> state_buffers(const torch::optim::OptimizerParamState& state) {
  if (auto* s = dynamic_cast<const EXAdamParamState*>(&state)) return {s->exp_avg(), s->exp_avg_sq()};
  if (auto* s = dynamic_cast<const AdanParamState*>(&state)) {
    return {s->exp_avg(), s->exp_avg_diff(), s->exp_avg_sq(), s->pre_grad()};
  }
  if (auto* s = dynamic_cast<const AdaBeliefParamState*>(&state)) return {s->exp_avg(), s->exp_avg_var()};
  return {};  // AdaGradNorm keeps a double per parameter
}

class ThreadsGuard {
 public:
  explicit ThreadsGuard(int n) : saved_(at::get_num_threads()) { at::set_num_threads(n); }
  ~ThreadsGuard() { at::set_num_threads(saved_); }

 private:
  int saved_;
};

TEST(FusedKernels, ProbeKnowsHowAtenRounds) { EXPECT_TRUE(aten_arith().has_value()); }

TEST(FusedKernels, BitIdenticalToReferencePath) {
  for (const auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16}) {
    for (const auto& v : variants()) {
      SCOPED_TRACE(v.label + " " + std::string(c10::toString(dtype)));
      const auto fused = trajectory(v, dtype, true);
      const auto reference = trajectory(v, dtype, false);
      ASSERT_EQ(fused.size(), reference.size());
      for (size_t k = 0; k < fused.size(); ++k) {
        ASSERT_TRUE(torch::equal(fused[k], reference[k]))
            << "tensor " << k << " max |diff| "
            << (fused[k].to(torch::kDouble) - reference[k].to(torch::kDouble)).abs().max().item<double>();
      }
      // The run must actually move the parameters.
      EXPECT_FALSE(torch::equal(fused[fused.size() - 4], make_params(dtype)[0].detach()));
    }
  }
}

// Two intra-op threads: the fused loop runs in TensorIterator::for_each chunks. Elementwise
// results do not depend on the split; the clipped variant's global norm is an ATen sum whose
// order does (as in the official code), so it is only compared within one thread count.
TEST(FusedKernels, ThreadedChunksMatchReferenceAndSingleThread) {
  const auto all = variants();
  for (const auto& v : {all[2], all[4]}) {
    SCOPED_TRACE(v.label);
    std::vector<torch::Tensor> one, two, reference;
    {
      ThreadsGuard threads(1);
      one = trajectory(v, torch::kFloat, true);
    }
    {
      ThreadsGuard threads(2);
      two = trajectory(v, torch::kFloat, true);
      reference = trajectory(v, torch::kFloat, false);
    }
    for (size_t k = 0; k < one.size(); ++k) {
      EXPECT_TRUE(torch::equal(two[k], reference[k]));
      if (v.label != "adan_clipped") EXPECT_TRUE(torch::equal(one[k], two[k]));
    }
  }
}

// The kernels write through raw pointers; autograd must still see the in-place update.
TEST(FusedKernels, BumpsVersionCountersLikeInPlaceOps) {
  auto p = torch::ones({100}, torch::requires_grad());
  EXAdam optimizer({p}, EXAdamOptions(0.1));
  auto saved = (p * p).sum();  // keeps p for backward
  p.mutable_grad() = torch::ones({100});
  const auto version = p._version();
  optimizer.step();
  EXPECT_GT(p._version(), version);
  EXPECT_FALSE(torch::equal(p.detach(), torch::ones({100})));
  EXPECT_THROW(saved.backward(), c10::Error);
}

// fp16/bf16 parameters: fp32 state, and a step equals the fp32 step rounded once.
TEST(MixedPrecision, ReducedParamsStepWithFp32MathAndState) {
  for (const auto dtype : {torch::kHalf, torch::kBFloat16}) {
    for (const auto& v : variants()) {
      SCOPED_TRACE(v.label + " " + std::string(c10::toString(dtype)));
      auto low = make_params(dtype);
      const auto grads = make_grads(dtype);
      std::vector<torch::Tensor> high;
      for (const auto& p : low) high.push_back(p.detach().to(torch::kFloat).set_requires_grad(true));
      auto low_opt = v.make(low, true);
      auto high_opt = v.make(high, true);
      for (size_t i = 0; i < low.size(); ++i) {
        low[i].mutable_grad() = grads[0][i].clone();
        high[i].mutable_grad() = grads[0][i].to(torch::kFloat);
      }
      low_opt->step();
      high_opt->step();
      for (size_t i = 0; i < low.size(); ++i) {
        EXPECT_TRUE(torch::equal(low[i].detach(), high[i].detach().to(dtype)));
        EXPECT_EQ(low[i].scalar_type(), dtype);
      }
      for (const auto& [key, state] : low_opt->state()) {
        for (const auto& buffer : state_buffers(*state)) EXPECT_EQ(buffer.scalar_type(), torch::kFloat);
      }
    }
  }
}

// AdaBelief's ε = 1e-16 is below fp16's smallest subnormal; in the fp32 state it survives and
// accumulates (spec §3 step 3).
TEST(MixedPrecision, AdaBeliefEpsilonSurvivesInFp32State) {
  auto p = torch::ones({64}, torch::kHalf).set_requires_grad(true);
  AdaBelief optimizer({p}, AdaBeliefOptions(1e-2));
  for (int t = 1; t <= 3; ++t) {
    p.mutable_grad() = torch::zeros({64}, torch::kHalf);
    optimizer.step();
    const auto& s = static_cast<const AdaBeliefParamState&>(*optimizer.state().begin()->second);
    float expected = 0;
    for (int k = 0; k < t; ++k) expected = expected * 0.999f + 1e-16f;
    EXPECT_TRUE(torch::equal(s.exp_avg_var(), torch::full({64}, expected, torch::kFloat))) << "step " << t;
  }
}

}  // namespace
}  // namespace attune::optim

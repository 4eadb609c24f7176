// ms/step at 10M float32 parameters (ten 1000×1000 tensors) for the attune optimizers (fused and
// reference paths) and torch::optim::Adam, at 1 and 2 intra-op threads, each against a STREAM
// triad over the same sizes and the same fused loop. The triad runs right before every timed
// step, so both see the same machine load (the cores are shared): "ratio_to_bound" = step time /
// (bytes_per_param × N ÷ triad bandwidth) comes from pairs measured seconds apart.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>

#include "optim/adabelief.h"
#include "optim/adagrad_norm.h"
#include "optim/adan.h"
#include "optim/exadam.h"
#include "optim/fused_loop.h"
#include "triad_kernel.h"

namespace {

using attune::optim::AdaBelief;
using attune::optim::AdaBeliefOptions;
using attune::optim::AdaGradNorm;
using attune::optim::AdaGradNormOptions;
using attune::optim::Adan;
using attune::optim::AdanOptions;
using attune::optim::EXAdam;
using attune::optim::EXAdamOptions;

constexpr int64_t kTensors = 10;
constexpr int64_t kSide = 1000;

// Created once and shared by every benchmark and repetition (a step's cost does not depend on
// the values); each repetition builds a fresh optimizer, i.e. fresh state.
const std::vector<torch::Tensor>& params() {
  static const std::vector<torch::Tensor> params = [] {
    torch::manual_seed(0);
    std::vector<torch::Tensor> out;
    for (int64_t i = 0; i < kTensors; ++i) {
      auto p = torch::randn({kSide, kSide}).set_requires_grad(true);
      p.mutable_grad() = torch::randn({kSide, kSide}) * 1e-2;
      out.push_back(p);
    }
    return out;
  }();
  return params;
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// a = b + 3c over ten 1000×1000 float32 tensors: 12 B per element in STREAM's count.
class Triad {
 public:
  Triad() {
    for (int64_t i = 0; i < kTensors; ++i) {
      a_.push_back(torch::zeros({kSide, kSide}));
      b_.push_back(torch::randn({kSide, kSide}));
      c_.push_back(torch::randn({kSide, kSide}));
    }
  }
  double run_seconds() {
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < kTensors; ++i) {
      attune::optim::parallel_chunks({a_[i], b_[i], c_[i]}, [](const attune::optim::kernels::Chunk& chunk) {
        attune::optim::kernels::triad(3.0f, chunk);
      });
    }
    return seconds_since(t0);
  }

 private:
  std::vector<torch::Tensor> a_, b_, c_;
};

Triad& triad() {
  static Triad instance;
  return instance;
}

using Make = std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::Tensor>)>;

// bytes_per_param: the minimum traffic of one update in float32 (each buffer read and written
// once), e.g. Adam-like = read θ, g, m, v + write θ, m, v = 7 × 4 B.
void run_optimizer(benchmark::State& state, const Make& make, double bytes_per_param) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  auto optimizer = make(params());
  optimizer->step();  // allocates and first-touches the state
  double step_s = 0, triad_s = 0;
  for (auto _ : state) {
    triad_s += triad().run_seconds();
    const auto t0 = Clock::now();
    optimizer->step();
    const double s = seconds_since(t0);
    state.SetIterationTime(s);
    step_s += s;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["bytes_per_param"] = bytes_per_param;
  state.counters["triad_ms"] = triad_s / n * 1e3;
  state.counters["ratio_to_bound"] = step_s * 12.0 / (bytes_per_param * triad_s);
}

void BM_Triad(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  for (auto _ : state) state.SetIterationTime(triad().run_seconds());
  state.counters["bytes_per_param"] = 12;
  state.counters["triad_ms"] = 0;
  state.counters["ratio_to_bound"] = 1;
}

template <class Opt, class Options>
Make attune_make(Options options) {
  return [options](std::vector<torch::Tensor> p) { return std::make_unique<Opt>(p, options); };
}

void BM_EXAdam(benchmark::State& s) {
  run_optimizer(s, attune_make<EXAdam>(EXAdamOptions(1e-3).weight_decay(1e-4)), 28);
}
void BM_EXAdam_reference(benchmark::State& s) {
  run_optimizer(s, attune_make<EXAdam>(EXAdamOptions(1e-3).weight_decay(1e-4).fused(false)), 28);
}
// p, g, m, v, n, g_prev read; p, m, v, n, g_prev written.
void BM_Adan(benchmark::State& s) {
  run_optimizer(s, attune_make<Adan>(AdanOptions(1e-3).weight_decay(0.02)), 44);
}
void BM_Adan_reference(benchmark::State& s) {
  run_optimizer(s, attune_make<Adan>(AdanOptions(1e-3).weight_decay(0.02).fused(false)), 44);
}
// Clipping adds a read of g for the global norm and the write-back of the clipped g.
void BM_Adan_clipped(benchmark::State& s) {
  run_optimizer(s, attune_make<Adan>(AdanOptions(1e-3).weight_decay(0.02).max_grad_norm(1e-3)), 52);
}
void BM_AdaBelief(benchmark::State& s) {
  run_optimizer(s, attune_make<AdaBelief>(AdaBeliefOptions(1e-3).weight_decay(1e-2)), 28);
}
void BM_AdaBelief_reference(benchmark::State& s) {
  run_optimizer(s, attune_make<AdaBelief>(AdaBeliefOptions(1e-3).weight_decay(1e-2).fused(false)), 28);
}
// Norm pass reads g; the update reads θ, g and writes θ.
void BM_AdaGradNorm(benchmark::State& s) {
  run_optimizer(s, attune_make<AdaGradNorm>(AdaGradNormOptions(0.1)), 16);
}
void BM_AdaGradNorm_reference(benchmark::State& s) {
  run_optimizer(s, attune_make<AdaGradNorm>(AdaGradNormOptions(0.1).fused(false)), 16);
}
// Charged Adam's minimum traffic, so its bandwidth is comparable per byte with ours.
void BM_TorchAdam(benchmark::State& s) {
  run_optimizer(s, [](std::vector<torch::Tensor> p) {
    return std::make_unique<torch::optim::Adam>(p, torch::optim::AdamOptions(1e-3));
  }, 28);
}

}  // namespace

double minimum(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// The minimum over repetitions is reported next to the median: on a shared machine the noise
// only ever adds time.
#define ATTUNE_OPTIM_BENCH(fn)                                                              \
  BENCHMARK(fn)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseManualTime()->ComputeStatistics( \
      "min", minimum)

ATTUNE_OPTIM_BENCH(BM_Triad);
ATTUNE_OPTIM_BENCH(BM_EXAdam);
ATTUNE_OPTIM_BENCH(BM_EXAdam_reference);
ATTUNE_OPTIM_BENCH(BM_Adan);
ATTUNE_OPTIM_BENCH(BM_Adan_reference);
ATTUNE_OPTIM_BENCH(BM_Adan_clipped);
ATTUNE_OPTIM_BENCH(BM_AdaBelief);
ATTUNE_OPTIM_BENCH(BM_AdaBelief_reference);
ATTUNE_OPTIM_BENCH(BM_AdaGradNorm);
ATTUNE_OPTIM_BENCH(BM_AdaGradNorm_reference);
ATTUNE_OPTIM_BENCH(BM_TorchAdam);

BENCHMARK_MAIN();

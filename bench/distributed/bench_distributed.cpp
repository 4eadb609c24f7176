// Data-parallel training throughput with attune's distributed building blocks (server/dist:
// TCPStore rendezvous, Gloo process group, bucketed gradient all-reduce) on real Fashion-MNIST
// with the built-in BatchNorm CNN and Adam, one LibTorch thread per rank, every rank its own
// process (rank 0 spawns ranks 1..W-1 as copies of itself). The step is the one
// server/train/trainer.cpp runs: this rank's slice of the global batch, forward, backward seeded
// with the rank's share, all-reduce (+ the control values), optimizer step.
//
//   bench_distributed --world W --batch GLOBAL [--steps 300] [--warmup 30]    one JSON line
//   bench_distributed --allreduce --world W [--reps 30]       all-reduce time vs element count
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "core/architectures.h"
#include "data/idx.h"
#include "dist/grad_reducer.h"
#include "dist/process_group.h"
#include "optim/factory.h"
#include "optim/param_groups.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Args {
  int world = 1, rank = 0, port = 0;
  int64_t batch = 64, steps = 300, warmup = 30, reps = 30, limit = 12800;
  bool allreduce = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
      return std::string(argv[++i]);
    };
    if (k == "--world") a.world = std::stoi(next());
    else if (k == "--rank") a.rank = std::stoi(next());
    else if (k == "--port") a.port = std::stoi(next());
    else if (k == "--batch") a.batch = std::stoll(next());
    else if (k == "--steps") a.steps = std::stoll(next());
    else if (k == "--warmup") a.warmup = std::stoll(next());
    else if (k == "--reps") a.reps = std::stoll(next());
    else if (k == "--train-limit") a.limit = std::stoll(next());
    else if (k == "--allreduce") a.allreduce = true;
    else throw std::invalid_argument("unknown argument " + k);
  }
  if (a.world < 1 || a.batch < a.world) throw std::invalid_argument("need world >= 1 and batch >= world");
  return a;
}

std::unique_ptr<attune::dist::Group> join(const Args& a) {
  attune::dist::GroupOptions g;
  g.store_host = "127.0.0.1";
  g.store_port = a.port;
  g.prefix = "bench";
  g.rank = a.rank;
  g.world_size = a.world;
  g.device_host = "127.0.0.1";
  g.join_timeout = std::chrono::seconds(60);
  g.timeout = std::chrono::seconds(60);
  return attune::dist::Group::join(g);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Median time of one all-reduce of n float32 elements, for several n.
void allreduce_sweep(attune::dist::Group& group, const Args& a) {
  std::ostringstream out;
  out << "{\"mode\": \"allreduce\", \"world\": " << a.world << ", \"points\": [";
  bool first = true;
  for (int64_t n : {int64_t{1000}, int64_t{24170}, int64_t{100000}, int64_t{1000000}, int64_t{4000000}}) {
    auto t = torch::ones({n}, torch::kFloat32);
    std::vector<double> times;
    for (int64_t r = 0; r < a.reps + 3; ++r) {
      const auto t0 = Clock::now();
      group.allreduce_sum(t, "bench all-reduce");
      if (r >= 3) times.push_back(since(t0));
    }
    // Every rank reports rank 0's view: the slowest rank bounds the collective anyway.
    out << (first ? "" : ", ") << "{\"elements\": " << n << ", \"seconds\": " << median(times) << "}";
    first = false;
  }
  out << "]}";
  if (group.rank() == 0) std::cout << out.str() << std::endl;
}

void train(attune::dist::Group* group, const Args& a) {
  const auto data = attune::data::load_mnist_style(attune::data::fashion_mnist_dir(), true, a.limit);
  const int64_t n = data.images.size(0);
  attune::ArchitectureSpec spec;
  spec.kind = "cnn";
  spec.in_channels = 1;
  spec.height = 28;
  spec.width = 28;
  spec.classes = 10;
  auto model = attune::build_architecture(spec, 7).module;  // same seed: identical replicas
  model.train();
  const auto named = attune::optim::named_parameters(model);
  const auto params = attune::optim::tensors_of(named);
  attune::optim::OptimizerConfig cfg;
  cfg.name = "adam";
  auto opt = attune::optim::make_optimizer(cfg, named);
  std::optional<attune::dist::GradientReducer> reducer;
  if (group) reducer.emplace(params, int64_t{25} << 20);
  const int64_t parameters = std::accumulate(params.begin(), params.end(), int64_t{0},
                                             [](int64_t s, const torch::Tensor& p) { return s + p.numel(); });

  auto gen = at::detail::createCPUGenerator(1234);  // the same batch order on every rank
  auto order = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64));
  int64_t position = 0;
  double step_total = 0, reduce_total = 0, compute_total = 0;
  std::vector<double> steps;
  const int rank = group ? group->rank() : 0, world = group ? group->size() : 1;
  for (int64_t s = 0; s < a.warmup + a.steps; ++s) {
    if (position + a.batch > n) {
      order = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64));
      position = 0;
    }
    const auto t0 = Clock::now();
    const int64_t lo = a.batch * rank / world, hi = a.batch * (rank + 1) / world;
    const auto index = order.narrow(0, position + lo, hi - lo);
    position += a.batch;
    const auto x = data.images.index_select(0, index);
    const auto y = data.labels.index_select(0, index);
    opt->zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model.forward({x}).toTensor(), y);
    double reduce_seconds = 0;
    if (group) {
      loss.backward(torch::full({}, static_cast<double>(hi - lo) / static_cast<double>(a.batch), loss.options()));
      auto control = torch::zeros({4}, torch::kFloat64);
      control[0] = loss.item<double>() * static_cast<double>(hi - lo);
      const auto r0 = Clock::now();
      reducer->reduce(*group, control);
      reduce_seconds = since(r0);
    } else {
      loss.backward();
      (void)loss.item<double>();
    }
    opt->step();
    const double step_seconds = since(t0);
    if (s >= a.warmup) {
      step_total += step_seconds;
      reduce_total += reduce_seconds;
      compute_total += step_seconds - reduce_seconds;
      steps.push_back(step_seconds);
    }
  }
  bool identical = true;
  if (group) {
    const auto prints = group->allgather(attune::dist::fingerprint(params), "fingerprint");
    identical = std::all_of(prints.begin(), prints.end(), [&](int64_t p) { return p == prints[0]; });
  }
  if (rank == 0) {
    const double k = static_cast<double>(a.steps);
    std::cout << "{\"mode\": \"train\", \"world\": " << world << ", \"global_batch\": " << a.batch
              << ", \"per_rank_batch\": " << a.batch / world << ", \"steps\": " << a.steps << ", \"warmup\": " << a.warmup
              << ", \"parameters\": " << parameters << ", \"steps_per_second\": " << k / step_total
              << ", \"step_seconds_mean\": " << step_total / k << ", \"step_seconds_median\": " << median(steps)
              << ", \"allreduce_seconds_mean\": " << reduce_total / k << ", \"compute_seconds_mean\": "
              << compute_total / k << ", \"allreduce_share\": " << reduce_total / step_total
              << ", \"replicas_identical\": " << (identical ? "true" : "false") << "}" << std::endl;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a = parse(argc, argv);
    torch::set_num_threads(1);  // one thread per rank
    std::unique_ptr<attune::dist::StoreServer> store;
    std::vector<pid_t> children;
    if (a.world > 1 && a.rank == 0) {
      store = std::make_unique<attune::dist::StoreServer>("127.0.0.1", 0, std::chrono::seconds(60));
      a.port = store->port();
      for (int r = 1; r < a.world; ++r) {
        std::vector<std::string> args(argv, argv + argc);
        args.push_back("--rank");
        args.push_back(std::to_string(r));
        args.push_back("--port");
        args.push_back(std::to_string(a.port));
        std::vector<char*> cargs;
        for (auto& s : args) cargs.push_back(s.data());
        cargs.push_back(nullptr);
        pid_t pid;
        if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, cargs.data(), environ) != 0)
          throw std::runtime_error("cannot spawn rank " + std::to_string(r));
        children.push_back(pid);
      }
    }
    std::unique_ptr<attune::dist::Group> group;
    if (a.world > 1) group = join(a);
    if (a.allreduce) {
      if (!group) throw std::invalid_argument("--allreduce needs --world >= 2");
      allreduce_sweep(*group, a);
    } else {
      train(group.get(), a);
    }
    group.reset();
    int code = 0;
    for (pid_t pid : children) {
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) code = 1;
    }
    return code;
  } catch (const std::exception& e) {
    std::cerr << "bench_distributed: " << e.what() << "\n";
    return 1;
  }
}

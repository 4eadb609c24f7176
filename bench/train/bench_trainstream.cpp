// Service overhead of online fine-tuning: steps/s of TrainStream (gRPC on loopback, one optimizer
// step per streamed batch of 64 Fashion-MNIST images, CNN with BatchNorm, Adam) vs the same loop
// in process (the OnlineTrainer the server runs, same model, same batches). In-process runs are
// measured before and after the gRPC runs and averaged, so drift on a busy machine cancels out.
//
//   bench_trainstream [--batches 200] [--threads 1]
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <iostream>
#include <thread>

#include "data/idx.h"
#include "server_process.h"
#include "train/online.h"
#include "training_helpers.h"

using namespace attune::test;
using Clock = std::chrono::steady_clock;

namespace {
// CPU seconds used so far by this process (the server: ServerProcess::cpu_seconds): what a
// step costs on a busy machine, where wall time also counts waiting for the cores.
double own_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
struct Rate {
  double steps_per_second, cpu_ms_per_step;
};
}  // namespace

int main(int argc, char** argv) {
  int64_t batches = 200, threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--batches") batches = std::stoll(argv[i + 1]);
    if (a == "--threads") threads = std::stoll(argv[i + 1]);
  }
  constexpr int64_t kBatch = 64, kWarmup = 10;
  torch::set_num_threads(static_cast<int>(threads));
  const auto data = attune::data::load_mnist_style(attune::data::fashion_mnist_dir(), true, (batches + kWarmup) * kBatch);
  auto batch = [&](int64_t i) {
    return std::make_pair(data.images.narrow(0, i * kBatch, kBatch), data.labels.narrow(0, i * kBatch, kBatch));
  };

  auto in_process = [&]() -> Rate {
    attune::optim::OptimizerConfig cfg;
    cfg.name = "adam";
    attune::train::OnlineTrainer t(torch::jit::load((models_dir() / "cnn_bn/1/model.pt").string()),
                                   attune::train::LossKind::kCrossEntropy, cfg, 0, torch::kFloat32);
    for (int64_t i = 0; i < kWarmup; ++i) t.step(batch(i).first, batch(i).second);
    const auto t0 = Clock::now();
    const double c0 = own_cpu_seconds();
    for (int64_t i = kWarmup; i < kWarmup + batches; ++i) t.step(batch(i).first, batch(i).second);
    return Rate{batches / std::chrono::duration<double>(Clock::now() - t0).count(),
                (own_cpu_seconds() - c0) * 1e3 / batches};
  };

  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--load-model", "cnn_bn", "--threads", std::to_string(threads)});
  server.start();
  // window = batches in flight: 1 is lock-step (write, wait for the reply, write the next); 2 lets
  // the client encode and send batch i+1 while the server steps on batch i, as a streaming client
  // that reads replies on their own would.
  auto remote = [&](int window) -> Rate {
    TrainingClient c(server);
    grpc::ClientContext ctx;
    auto stream = c.training->TrainStream(&ctx);
    attune::v1::TrainStreamRequest start;
    start.mutable_start()->mutable_model()->set_name("cnn_bn");
    start.mutable_start()->mutable_optimizer()->set_name("adam");
    start.mutable_start()->set_publish_name("cnn_bench");
    stream->Write(start);
    auto write = [&](int64_t i) {
      attune::v1::TrainStreamRequest req;
      fill_tensor(batch(i).first, req.mutable_batch()->mutable_features());
      fill_tensor(batch(i).second, req.mutable_batch()->mutable_labels());
      if (!stream->Write(req)) std::abort();
    };
    auto read = [&] {
      attune::v1::TrainStreamResponse resp;
      if (!stream->Read(&resp)) std::abort();
    };
    auto run = [&](int64_t from, int64_t to) {
      int64_t next = from;
      for (; next < std::min(to, from + window); ++next) write(next);
      for (int64_t done = from; done < to; ++done) {
        read();
        if (next < to) write(next++);
      }
    };
    run(0, kWarmup);
    const auto t0 = Clock::now();
    const double c0 = own_cpu_seconds() + server.cpu_seconds();
    run(kWarmup, kWarmup + batches);
    const Rate rate{batches / std::chrono::duration<double>(Clock::now() - t0).count(),
                    (own_cpu_seconds() + server.cpu_seconds() - c0) * 1e3 / batches};
    stream->WritesDone();
    attune::v1::TrainStreamResponse last;
    while (stream->Read(&last)) {
    }
    if (!stream->Finish().ok()) std::abort();
    return rate;
  };

  // The in-process loop runs on a thread of its own, as the server's TrainStream handler does: on
  // the process's main thread the same loop measured ~25% more CPU per step (not explained; the
  // allocator and thread count are the same), which would flatter the service.
  auto on_thread = [&] {
    Rate r{};
    std::thread th([&] { r = in_process(); });
    th.join();
    return r;
  };
  const Rate local_before = on_thread();
  const Rate lockstep = remote(1);
  const Rate pipelined = remote(2);
  const Rate local_after = on_thread();
  const double local = (local_before.steps_per_second + local_after.steps_per_second) / 2;
  const double local_cpu = (local_before.cpu_ms_per_step + local_after.cpu_ms_per_step) / 2;
  std::cout << std::fixed << std::setprecision(2)
            << "| arm | steps/s (wall) | ratio to in-process | CPU ms/step (client + server) | CPU ratio (in-process ÷ arm) |\n"
            << "|---|---|---|---|---|\n"
            << "| in-process (before, after) | " << local << " (" << local_before.steps_per_second << ", "
            << local_after.steps_per_second << ") | 1.00 | " << local_cpu << " | 1.00 |\n"
            << "| TrainStream lock-step | " << lockstep.steps_per_second << " | " << lockstep.steps_per_second / local
            << " | " << lockstep.cpu_ms_per_step << " | " << local_cpu / lockstep.cpu_ms_per_step << " |\n"
            << "| TrainStream 2 in flight | " << pipelined.steps_per_second << " | "
            << pipelined.steps_per_second / local << " | " << pipelined.cpu_ms_per_step << " | "
            << local_cpu / pipelined.cpu_ms_per_step << " |\n"
            << "\n" << batches << " batches of 64 per arm, " << threads << " LibTorch thread(s) on each side.\n";
  return 0;
}

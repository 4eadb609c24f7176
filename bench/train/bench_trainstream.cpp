// Service overhead of online fine-tuning: steps/s of TrainStream (gRPC on loopback, one optimizer
// step per streamed batch of 64 Fashion-MNIST images, CNN with BatchNorm, Adam) vs the same loop
// in process (the OnlineTrainer the server runs, same model, same batches). In-process runs are
// measured before and after the gRPC run and averaged, so drift on a busy machine cancels out.
//
//   bench_trainstream [--batches 200] [--threads 1]
#include <chrono>
#include <iomanip>
#include <iostream>

#include "data/idx.h"
#include "server_process.h"
#include "train/online.h"
#include "training_helpers.h"

using namespace attune::test;
using Clock = std::chrono::steady_clock;

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

  auto in_process = [&] {
    attune::optim::OptimizerConfig cfg;
    cfg.name = "adam";
    attune::train::OnlineTrainer t(torch::jit::load((models_dir() / "cnn_bn/1/model.pt").string()),
                                   attune::train::LossKind::kCrossEntropy, cfg, 0, torch::kFloat32);
    for (int64_t i = 0; i < kWarmup; ++i) t.step(batch(i).first, batch(i).second);
    const auto t0 = Clock::now();
    for (int64_t i = kWarmup; i < kWarmup + batches; ++i) t.step(batch(i).first, batch(i).second);
    return batches / std::chrono::duration<double>(Clock::now() - t0).count();
  };

  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--load-model", "cnn_bn", "--threads", std::to_string(threads)});
  server.start();
  auto remote = [&] {
    TrainingClient c(server);
    grpc::ClientContext ctx;
    auto stream = c.training->TrainStream(&ctx);
    attune::v1::TrainStreamRequest start;
    start.mutable_start()->mutable_model()->set_name("cnn_bn");
    start.mutable_start()->mutable_optimizer()->set_name("adam");
    start.mutable_start()->set_publish_name("cnn_bench");
    stream->Write(start);
    auto send = [&](int64_t i) {
      attune::v1::TrainStreamRequest req;
      fill_tensor(batch(i).first, req.mutable_batch()->mutable_features());
      fill_tensor(batch(i).second, req.mutable_batch()->mutable_labels());
      stream->Write(req);
      attune::v1::TrainStreamResponse resp;
      if (!stream->Read(&resp)) std::abort();
    };
    for (int64_t i = 0; i < kWarmup; ++i) send(i);
    const auto t0 = Clock::now();
    for (int64_t i = kWarmup; i < kWarmup + batches; ++i) send(i);
    const double rate = batches / std::chrono::duration<double>(Clock::now() - t0).count();
    stream->WritesDone();
    attune::v1::TrainStreamResponse last;
    while (stream->Read(&last)) {
    }
    if (!stream->Finish().ok()) std::abort();
    return rate;
  };

  const double local_before = in_process();
  const double grpc_rate = remote();
  const double local_after = in_process();
  const double local = (local_before + local_after) / 2;
  std::cout << std::fixed << std::setprecision(2)
            << "| batches | threads | in-process steps/s (before, after) | TrainStream steps/s | ratio |\n"
            << "|---|---|---|---|---|\n"
            << "| " << batches << " | " << threads << " | " << local << " (" << local_before << ", " << local_after
            << ") | " << grpc_rate << " | " << grpc_rate / local << " |\n";
  return 0;
}

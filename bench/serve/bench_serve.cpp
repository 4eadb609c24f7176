// ModelInfer through gRPC on loopback vs an in-process forward of the same TorchScript model
// and batch, measured in the same run: p50/p99 latency and throughput at 1 and N concurrent
// clients. Both sides use one intra-op thread per request so the comparison is like for like.
//
//   bench_serve [--seconds S] [--clients 1,8] [--out results.md]
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>
#include <torch/script.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "kserve_helpers.h"
#include "server_process.h"

using namespace attune::test;
using Clock = std::chrono::steady_clock;

namespace {

struct Result {
  double p50_us, p99_us, throughput;  // requests per second
};

Result summarize(std::vector<double> lat_us, double wall_s) {
  std::sort(lat_us.begin(), lat_us.end());
  auto pct = [&](double p) { return lat_us[std::min(lat_us.size() - 1, size_t(p * lat_us.size()))]; };
  return {pct(0.5), pct(0.99), lat_us.size() / wall_s};
}

// Runs `call` from `clients` threads: each warms up, then all measure together for `seconds`
// (and at least kMinSamples calls each), collecting per-call latencies.
template <class MakeCall>
Result drive(int clients, double seconds, MakeCall make_call) {
  constexpr size_t kMinSamples = 10;
  std::vector<std::vector<double>> lat(clients);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto call = make_call();
      for (int w = 0; w < 10; ++w) call();  // warm-up (TorchScript profiling runs)
      ++ready;
      while (!go) std::this_thread::yield();
      while (!stop || lat[c].size() < kMinSamples) {
        const auto t0 = Clock::now();
        call();
        lat[c].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  while (ready < clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = Clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  return summarize(all, wall);
}

// The floor of the floor: a gRPC server with nothing but ServerLive, default builder options (no
// interceptor, reflection, health or quota), in its own process like attune. Forked before any
// thread exists; it serves until the parent closes the pipe.
class BareLive final : public inference::GRPCInferenceService::Service {
  grpc::Status ServerLive(grpc::ServerContext*, const inference::ServerLiveRequest*,
                          inference::ServerLiveResponse* r) override {
    r->set_live(true);
    return grpc::Status::OK;
  }
};

class BareLiveCallback final : public inference::GRPCInferenceService::CallbackService {
  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* ctx, const inference::ServerLiveRequest*,
                                       inference::ServerLiveResponse* r) override {
    r->set_live(true);
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

struct BareServer {
  pid_t pid = -1;
  int port = 0;
};

BareServer fork_bare_server(bool callback) {
  int to_parent[2], from_parent[2];
  if (pipe(to_parent) != 0 || pipe(from_parent) != 0) std::abort();
  const pid_t pid = fork();
  if (pid == 0) {
    close(to_parent[0]);
    close(from_parent[1]);
    BareLive sync_service;
    BareLiveCallback callback_service;
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    if (callback)
      builder.RegisterService(&callback_service);
    else
      builder.RegisterService(&sync_service);
    auto server = builder.BuildAndStart();
    if (write(to_parent[1], &port, sizeof port) != sizeof port) _exit(1);
    char c;
    while (read(from_parent[0], &c, 1) > 0) {
    }
    server->Shutdown();
    _exit(0);
  }
  close(to_parent[1]);
  close(from_parent[0]);
  BareServer b{pid, 0};
  if (read(to_parent[0], &b.port, sizeof b.port) != sizeof b.port || b.port == 0) std::abort();
  close(to_parent[0]);
  // from_parent[1] stays open for the parent's lifetime; closing it at exit stops the child.
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  const BareServer bare = fork_bare_server(false), bare_cb = fork_bare_server(true);
  double seconds = 3;
  std::vector<int> client_counts{1, 8};
  std::string out = "";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--seconds") seconds = std::stod(argv[i + 1]);
    if (a == "--out") out = argv[i + 1];
    if (a == "--clients") {
      client_counts.clear();
      std::stringstream ss(argv[i + 1]);
      for (std::string x; std::getline(ss, x, ',');) client_counts.push_back(std::stoi(x));
    }
  }
  torch::set_num_threads(1);
  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--load-model", "mlp", "--load-model", "cnn_bn"});
  server.start();

  struct Case {
    std::string model, input;
    std::vector<int64_t> item_shape;
  };
  const std::vector<Case> cases{{"mlp", "input", {8}}, {"cnn_bn", "image", {1, 28, 28}}};
  std::ostringstream table;
  table << "| model | batch | clients | in-process p50 µs | p99 µs | req/s | gRPC p50 µs | p99 µs | req/s "
           "| p50 overhead µs | throughput ratio |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& c : cases) {
    auto module = torch::jit::load((models_dir() / c.model / "1/model.pt").string());
    module.eval();
    for (int64_t batch : {1, 64}) {
      std::vector<int64_t> shape{batch};
      shape.insert(shape.end(), c.item_shape.begin(), c.item_shape.end());
      const auto x = torch::rand(shape);
      const auto request = infer_request(c.model, c.input, x);
      for (int clients : client_counts) {
        const Result local = drive(clients, seconds, [&] {
          return [&] {
            c10::InferenceMode g;
            auto m = module;
            (void)m.forward({x});
          };
        });
        const Result remote = drive(clients, seconds, [&] {
          auto stub = inference::GRPCInferenceService::NewStub(server.channel());
          return [stub = std::shared_ptr<inference::GRPCInferenceService::Stub>(std::move(stub)), &request] {
            inference::ModelInferResponse r;
            grpc::ClientContext ctx;
            const auto s = stub->ModelInfer(&ctx, request, &r);
            if (!s.ok()) {
              std::cerr << "ModelInfer failed: " << s.error_message() << "\n";
              std::abort();
            }
          };
        });
        table << std::fixed << std::setprecision(0) << "| " << c.model << " | " << batch << " | "
              << clients << " | " << local.p50_us << " | " << local.p99_us << " | "
              << local.throughput << " | " << remote.p50_us << " | " << remote.p99_us << " | "
              << remote.throughput << " | " << remote.p50_us - local.p50_us << " | "
              << std::setprecision(2) << remote.throughput / local.throughput << " |\n";
        std::cerr << "." << std::flush;
      }
    }
  }
  // The transport floor: ServerLive is a gRPC round trip that does no work in attune, on the same
  // channel, so `ModelInfer p50 - ServerLive p50` is attune's own cost (decode, lookup, forward
  // dispatch, encode) beyond what gRPC itself costs on this machine. The bare server's ServerLive
  // shows what gRPC costs with none of attune's server options.
  table << "\n| ServerLive (transport floor) on | clients | p50 µs | p99 µs | req/s |\n|---|---|---|---|---|\n";
  const auto bare_channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(bare.port),
                                                grpc::InsecureChannelCredentials());
  const auto bare_cb_channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(bare_cb.port),
                                                   grpc::InsecureChannelCredentials());
  for (const auto& [label, channel] : {std::make_pair(std::string("attune-server"), server.channel()),
                                       std::make_pair(std::string("bare gRPC server (sync API)"), bare_channel),
                                       std::make_pair(std::string("bare gRPC server (callback API)"), bare_cb_channel)}) {
    for (int clients : client_counts) {
      const Result floor = drive(clients, seconds, [&, ch = channel] {
        auto stub = inference::GRPCInferenceService::NewStub(ch);
        return [stub = std::shared_ptr<inference::GRPCInferenceService::Stub>(std::move(stub))] {
          inference::ServerLiveResponse r;
          grpc::ClientContext ctx;
          if (!stub->ServerLive(&ctx, inference::ServerLiveRequest(), &r).ok()) std::abort();
        };
      });
      table << std::fixed << std::setprecision(0) << "| " << label << " | " << clients << " | " << floor.p50_us
            << " | " << floor.p99_us << " | " << floor.throughput << " |\n";
    }
  }
  std::cerr << "\n";
  std::cout << table.str();
  if (!out.empty()) std::ofstream(out) << table.str();
  server.stop();
  for (const pid_t pid : {bare.pid, bare_cb.pid}) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
  return 0;
}

// NowcastService ingest throughput: a live attune-server (child process, loopback gRPC, durable
// observation log) against the library's in-process Nowcaster, measured in the same run on the
// same observations and stream config. Observations/s per core = observations ÷ CPU-seconds of
// the process doing the work (the server; the library run's own process), so the ratio does
// not depend on how busy the machine is; wall-clock rates are shown too.
//   bench/nowcast/ingest_run.sh [build-dir]   → the "Service ingest throughput" section of RESULTS.md
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "attune/v1/nowcast_service.grpc.pb.h"
#include "nowcast/nowcaster.h"
#include "nowcast/weather_csv.h"
#include "server_process.h"

using namespace attune;

namespace {

using Clock = std::chrono::steady_clock;

// The splice repeated `times` times, each copy shifted after the previous one.
std::vector<nowcast::Observation> observations(int times) {
  const auto once = nowcast::seattle_new_york_splice(
      nowcast::read_weather_csv(std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/noaa/weather.csv"));
  const int64_t span = once.back().time - once.front().time + 86400;
  std::vector<nowcast::Observation> out;
  for (int r = 0; r < times; ++r)
    for (auto o : once) {
      o.time += r * span;
      out.push_back(std::move(o));
    }
  return out;
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Rate {
  std::string arm;
  size_t n = 0;
  double wall = 0, cpu = 0, client_cpu = -1;
};

Rate library_rate(const std::vector<nowcast::Observation>& obs) {
  auto c = nowcast::make_stream_config("bench", nowcast::weather_variables(), {"temp_max", "wind"}, 86400);
  nowcast::NowcasterOptions o;
  o.mode = nowcast::RetrainMode::background;  // as the service: fits on another thread
  nowcast::Nowcaster nc(c, o);
  const double cpu0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  for (const auto& x : obs) nc.ingest(x);
  nc.wait_for_retrain();
  return {"library, in-process Nowcaster::ingest", obs.size(),
          std::chrono::duration<double>(Clock::now() - t0).count(), process_cpu_seconds() - cpu0};
}

v1::Observation to_proto(const nowcast::Observation& o) {
  v1::Observation p;
  p.set_time(o.time);
  p.mutable_values()->insert(o.values.begin(), o.values.end());
  return p;
}

// One Ingest call with `batch` observations per message, at most `window` messages unanswered.
Rate service_rate(test::ServerProcess& server, const std::string& stream,
                  const std::vector<nowcast::Observation>& obs, size_t batch, size_t window,
                  const std::string& arm) {
  auto stub = v1::NowcastService::NewStub(server.channel());
  {
    v1::CreateStreamRequest req;
    auto* c = req.mutable_config();
    c->set_name(stream);
    for (const auto& v : nowcast::weather_variables()) c->add_variables(v);
    c->add_targets("temp_max");
    c->add_targets("wind");
    v1::NowcastStream s;
    grpc::ClientContext ctx;
    const auto st = stub->CreateStream(&ctx, req, &s);
    if (!st.ok()) throw std::runtime_error("CreateStream: " + st.error_message());
  }
  std::vector<v1::IngestRequest> messages;
  for (size_t i = 0; i < obs.size(); i += batch) {
    v1::IngestRequest r;
    r.set_stream(stream);
    for (size_t k = i; k < std::min(obs.size(), i + batch); ++k) *r.add_observations() = to_proto(obs[k]);
    messages.push_back(std::move(r));
  }
  const double server0 = server.cpu_seconds(), client0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  grpc::ClientContext ctx;
  auto call = stub->Ingest(&ctx);
  std::mutex m;
  std::condition_variable cv;
  size_t answered = 0;
  std::thread writer([&] {
    for (size_t i = 0; i < messages.size(); ++i) {
      {
        std::unique_lock<std::mutex> l(m);
        cv.wait(l, [&] { return i < answered + window; });
      }
      if (!call->Write(messages[i])) break;
    }
    call->WritesDone();
  });
  v1::IngestResponse reply;
  while (call->Read(&reply)) {
    std::lock_guard<std::mutex> l(m);
    ++answered;
    cv.notify_all();
  }
  writer.join();
  const auto st = call->Finish();
  if (!st.ok() || answered != messages.size()) throw std::runtime_error("Ingest: " + st.error_message());
  Rate r{arm, obs.size(), std::chrono::duration<double>(Clock::now() - t0).count(),
         server.cpu_seconds() - server0, process_cpu_seconds() - client0};
  return r;
}

std::string fmt(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 4;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--repeats") repeats = std::stoi(argv[i + 1]);
  const auto obs = observations(repeats);

  std::vector<Rate> rates;
  const Rate lib = library_rate(obs);
  rates.push_back(lib);
  struct Arm {
    std::string where;
    std::filesystem::path root;
  };
  test::TempDir disk;
  const std::filesystem::path shm = "/dev/shm/attune-ingest-bench-" + std::to_string(getpid());
  std::vector<Arm> arms{{"disk", disk.path()}};
  if (std::filesystem::exists("/dev/shm") && std::filesystem::create_directories(shm)) arms.push_back({"tmpfs", shm});
  for (const auto& a : arms) {
    test::ServerProcess server(a.root / "data");
    server.start();
    rates.push_back(service_rate(server, "single", obs, 1, 1, "service, 1 obs/message, lockstep, " + a.where));
    rates.push_back(service_rate(server, "pipelined", obs, 1, 32, "service, 1 obs/message, 32 in flight, " + a.where));
    rates.push_back(service_rate(server, "batched", obs, 64, 1, "service, 64 obs/message, lockstep, " + a.where));
    server.stop();
  }
  std::error_code ec;
  std::filesystem::remove_all(shm, ec);

  std::cout << "Stream: Seattle→New York splice repeated " << repeats << "× (" << obs.size()
            << " daily observations of 4 variables), targets temp_max and wind, ridge, performance-based "
               "retraining in the background (the service's defaults); the server runs with `--threads 1` "
               "(one fit worker). Every reply acknowledges observations made durable by fdatasync.\n\n"
            << "| arm | observations | wall s | obs/s (wall) | CPU-s (server or library process) | obs/s per core | ratio to library | client CPU-s |\n"
            << "|---|---|---|---|---|---|---|---|\n";
  const double lib_per_core = static_cast<double>(lib.n) / lib.cpu;
  for (const auto& r : rates) {
    const double per_core = static_cast<double>(r.n) / r.cpu;
    std::cout << "| " << r.arm << " | " << r.n << " | " << fmt(r.wall, 2) << " | " << fmt(r.n / r.wall, 0) << " | "
              << fmt(r.cpu, 2) << " | " << fmt(per_core, 0) << " | " << fmt(per_core / lib_per_core, 3) << " | "
              << (r.client_cpu < 0 ? "–" : fmt(r.client_cpu, 2)) << " |\n";
  }
  return 0;
}

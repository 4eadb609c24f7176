// attune-load: drives mixed RPCs (KServe ModelInfer, Adapt, nowcast Ingest, GetJob) against a
// running attune-server from N concurrent clients for T seconds, after a warm-up, and prints
// throughput, latency percentiles and errors by status per operation, plus the server's resident
// memory (process_resident_memory_bytes from /metrics) after the warm-up and at the end.
//
//   attune-load --server 127.0.0.1:50051 --metrics-port 9464 --clients 64 --seconds 60
//
// Exit status: 0 when every call succeeded, 1 when any failed, 2 for usage errors.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

#include "workload.h"

namespace attune::load {
namespace {

const char* kUsage = R"(usage: attune-load [options]
  --server HOST:PORT      attune-server gRPC address (default 127.0.0.1:50051; loopback only)
  --metrics-port PORT     its /metrics port on the same host, for RSS readings (default: none)
  --clients N             concurrent clients (default 8)
  --seconds T             measured duration (default 10)
  --warmup S              unmeasured warm-up before it (default 5)
  --mix infer=70,adapt=10,ingest=10,job=10   operation weights (0 disables one)
  --infer-model NAME      model for ModelInfer (default mlp; one FP32 input)
  --adapt-model NAME      model adapted by the sessions (default cnn_bn)
  --adapt-method M        adaptation method (default tent)
  --batch N               rows per inference / adaptation batch (default 8)
  --streams N             nowcast streams shared by the clients (default 8)
  --observations N        observations per Ingest message (default 10)
  --no-train              poll an existing job instead of starting one
  --seed N                (default 1)
  --json                  one JSON object instead of the table
)";

// GET /metrics on 127.0.0.1 and read process_resident_memory_bytes.
double rss_bytes(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to the metrics port " + std::to_string(port));
  }
  const std::string req = "GET /metrics HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string resp;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  static const std::regex re("\nprocess_resident_memory_bytes ([0-9.e+]+)");
  std::smatch m;
  if (!std::regex_search(resp, m, re)) throw std::runtime_error("no process_resident_memory_bytes in /metrics");
  return std::stod(m[1]);
}

// Median of 5 readings 100 ms apart.
double rss_median(const std::string& host, int port) {
  std::vector<double> v;
  for (int i = 0; i < 5; ++i) {
    v.push_back(rss_bytes(host, port));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::sort(v.begin(), v.end());
  return v[2];
}

Op parse_op(const std::string& s) {
  if (s == "infer") return Op::kInfer;
  if (s == "adapt") return Op::kAdapt;
  if (s == "ingest") return Op::kIngest;
  if (s == "job") return Op::kJob;
  throw std::invalid_argument("--mix: unknown operation '" + s + "' (infer, adapt, ingest, job)");
}

int run(int argc, char** argv) {
  Options o;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + ": missing value");
      return argv[++i];
    };
    if (a == "--server") o.server = value();
    else if (a == "--metrics-port") o.metrics_port = std::stoi(value());
    else if (a == "--clients") o.clients = std::stoi(value());
    else if (a == "--seconds") o.seconds = std::stod(value());
    else if (a == "--warmup") o.warmup_seconds = std::stod(value());
    else if (a == "--infer-model") o.infer_model = value();
    else if (a == "--adapt-model") o.adapt_model = value();
    else if (a == "--adapt-method") o.adapt_method = value();
    else if (a == "--batch") o.batch = std::stoi(value());
    else if (a == "--streams") o.streams = std::stoi(value());
    else if (a == "--observations") o.observations = std::stoi(value());
    else if (a == "--seed") o.seed = std::stoull(value());
    else if (a == "--no-train") o.train = false;
    else if (a == "--json") json = true;
    else if (a == "--mix") {
      o.weights.clear();
      std::stringstream ss(value());
      for (std::string part; std::getline(ss, part, ',');) {
        const auto eq = part.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("--mix: expected op=weight, received '" + part + "'");
        o.weights[parse_op(part.substr(0, eq))] = std::stoi(part.substr(eq + 1));
      }
    } else if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      throw std::invalid_argument("unknown option " + a);
    }
  }
  if (o.clients < 1 || o.seconds <= 0 || o.warmup_seconds < 0 || o.batch < 1 || o.streams < 1 || o.observations < 1)
    throw std::invalid_argument("--clients, --seconds, --batch, --streams and --observations must be positive");
  const std::string host = o.server.substr(0, o.server.rfind(':'));
  if (host != "127.0.0.1" && host != "localhost" && host != "[::1]")
    throw std::invalid_argument("--server: attune-load only targets a server on this machine (127.0.0.1)");

  Workload w(o);
  w.setup();
  std::atomic<bool> stop{false}, measure{false};
  std::vector<std::map<Op, OpStats>> per_client(static_cast<size_t>(o.clients));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.clients; ++i)
    threads.emplace_back([&, i] { w.client(i, stop, measure, &per_client[static_cast<size_t>(i)]); });

  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup_seconds));
  const std::string metrics_host = host == "localhost" ? "127.0.0.1" : host;
  // RSS under load moves with the calls in flight, so the start and the end of the run are each
  // the median of the readings (one a second) in its first and last 5 seconds, not one reading.
  std::vector<double> samples;
  if (o.metrics_port) samples.push_back(rss_bytes(metrics_host, o.metrics_port));
  measure = true;
  const auto t0 = std::chrono::steady_clock::now();
  const auto end = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(o.seconds));
  while (std::chrono::steady_clock::now() < end) {
    const std::chrono::steady_clock::duration left = end - std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(1), left));
    if (o.metrics_port) samples.push_back(rss_bytes(metrics_host, o.metrics_port));
  }
  measure = false;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double rss_start = 0, rss_peak = 0, rss_end = 0;
  if (!samples.empty()) {
    const size_t window = std::min<size_t>(6, (samples.size() + 1) / 2);  // t = 0..5 s, and the last 6
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    rss_start = median({samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(window)});
    rss_end = median({samples.end() - static_cast<std::ptrdiff_t>(window), samples.end()});
    rss_peak = *std::max_element(samples.begin(), samples.end());
  }
  stop = true;
  for (auto& t : threads) t.join();
  double rss_idle = 0;
  if (o.metrics_port) rss_idle = rss_median(metrics_host, o.metrics_port);
  w.cleanup();

  std::map<Op, OpStats> all;
  OpStats total;
  for (const auto& c : per_client)
    for (const auto& [op, s] : c) {
      all[op].merge(s);
      total.merge(s);
    }
  const auto tot = summarize(total.latencies_ms, total.errors);
  const double growth = rss_start > 0 ? (rss_end - rss_start) / rss_start : 0;

  if (json) {
    std::printf("{\"clients\": %d, \"seconds\": %.3f, \"calls\": %lld, \"errors\": %lld, \"throughput\": %.1f, "
                "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f",
                o.clients, elapsed, static_cast<long long>(tot.ok + tot.errors), static_cast<long long>(tot.errors),
                static_cast<double>(tot.ok) / elapsed, tot.p50, tot.p90, tot.p99);
    std::printf(", \"ops\": {");
    bool first = true;
    for (const auto& [op, s] : all) {
      const auto r = summarize(s.latencies_ms, s.errors);
      std::printf("%s\"%s\": {\"ok\": %lld, \"errors\": {", first ? "" : ", ", op_name(op), static_cast<long long>(r.ok));
      bool f2 = true;
      for (const auto& [code, n] : s.errors) {
        std::printf("%s\"%s\": %lld", f2 ? "" : ", ", code_name(code).c_str(), static_cast<long long>(n));
        f2 = false;
      }
      std::printf("}, \"throughput\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}",
                  static_cast<double>(r.ok) / elapsed, r.p50, r.p90, r.p99, r.max);
      first = false;
    }
    std::printf("}");
    if (o.metrics_port)
      std::printf(", \"rss_start_bytes\": %.0f, \"rss_peak_bytes\": %.0f, \"rss_end_bytes\": %.0f, "
                  "\"rss_idle_bytes\": %.0f, \"rss_growth\": %.5f",
                  rss_start, rss_peak, rss_end, rss_idle, growth);
    std::printf("}\n");
  } else {
    std::printf("attune-load: %d clients, %.1f s measured after %.1f s warm-up, server %s\n\n", o.clients, elapsed,
                o.warmup_seconds, o.server.c_str());
    std::printf("%-11s %10s %10s %9s %9s %9s %9s  %s\n", "operation", "ok", "calls/s", "p50 ms", "p90 ms", "p99 ms",
                "max ms", "errors");
    auto row = [&](const std::string& name, const OpStats& s) {
      const auto r = summarize(s.latencies_ms, s.errors);
      std::string errs;
      for (const auto& [code, n] : s.errors) errs += code_name(code) + "=" + std::to_string(n) + " ";
      std::printf("%-11s %10lld %10.1f %9.2f %9.2f %9.2f %9.2f  %s\n", name.c_str(), static_cast<long long>(r.ok),
                  static_cast<double>(r.ok) / elapsed, r.p50, r.p90, r.p99, r.max, errs.empty() ? "-" : errs.c_str());
    };
    for (const auto& [op, s] : all) row(op_name(op), s);
    row("all", total);
    if (o.metrics_port)
      std::printf("\nserver RSS (median of the first / last 6 one-second readings): %.1f MiB after warm-up, "
                  "peak %.1f MiB, %.1f MiB at the end (growth %+.2f%%), %.1f MiB idle after the clients stopped\n",
                  rss_start / (1 << 20), rss_peak / (1 << 20), rss_end / (1 << 20), 100 * growth, rss_idle / (1 << 20));
  }
  return tot.errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace attune::load

int main(int argc, char** argv) {
  try {
    return attune::load::run(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "attune-load: %s\n(attune-load --help lists the options)\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attune-load: %s\n", e.what());
    return 1;
  }
}

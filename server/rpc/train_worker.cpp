#include "rpc/train_worker.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <prometheus/exposer.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "attune/v1/distributed_service.grpc.pb.h"
#include "core/error.h"
#include "core/log.h"
#include "core/model_inspect.h"
#include "core/storage.h"
#include "dist/process_group.h"
#include "dist/rank_env.h"
#include "metrics/catalog.h"
#include "metrics/registry.h"
#include "rpc/credentials.h"
#include "train/job_runner.h"
#include "train/trainer.h"

namespace attune::rpc {
namespace {

using Clock = std::chrono::steady_clock;
using Stream = grpc::ClientReader<v1::JoinResponse>;

std::string hostname() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return "worker";
  return host;
}

std::shared_ptr<grpc::Channel> coordinator_channel(const ServerConfig& cfg) {
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!cfg.coordinator_ca.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = read_file(cfg.coordinator_ca);
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // Sessions idle for hours while waiting for a job: notice a dead peer.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  return grpc::CreateCustomChannel(cfg.coordinator, creds, args);
}

void prepare(grpc::ClientContext& ctx, const ServerConfig& cfg) {
  if (!cfg.coordinator_token.empty()) ctx.AddMetadata("authorization", "Bearer " + cfg.coordinator_token);
}

// Sleeps up to `seconds`, returning early once `stop` is set.
void nap(double seconds, const std::atomic<bool>& stop) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (!stop && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// Files of one server stream, by name.
std::map<std::string, std::string> fetch(const std::function<std::unique_ptr<grpc::ClientReader<v1::FileChunk>>(
                                             grpc::ClientContext*)>& call,
                                         const ServerConfig& cfg, const char* what) {
  grpc::ClientContext ctx;
  prepare(ctx, cfg);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
  auto reader = call(&ctx);
  std::map<std::string, std::string> files;
  v1::FileChunk c;
  while (reader->Read(&c)) files[c.name()] += c.data();
  const auto s = reader->Finish();
  if (!s.ok()) throw Unavailable(std::string("cannot download the ") + what + " from rank 0: " + s.error_message());
  return files;
}

}  // namespace

TrainWorker::TrainWorker(ServerConfig cfg) : cfg_(std::move(cfg)) {}

TrainWorker::~TrainWorker() {
  if (health_) health_->Shutdown(std::chrono::system_clock::now());
}

void TrainWorker::start() {
  make_dirs(cfg_.data_dir);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(cfg_.listen, server_credentials(cfg_), &grpc_port_);
  health_ = builder.BuildAndStart();
  if (!health_ || grpc_port_ == 0) throw std::runtime_error("cannot listen on " + cfg_.listen);
  health_->GetHealthCheckService()->SetServingStatus("", true);
  health_->GetHealthCheckService()->SetServingStatus("liveness", true);
  exposer_ = metrics::start_exposer(cfg_.metrics_listen);
  metrics_port_ = exposer_->GetListeningPorts().empty() ? 0 : exposer_->GetListeningPorts()[0];
  // Present before the first job, so dashboards see every rank.
  metrics::catalog().train_world_size.Add({}).Set(0);
  metrics::catalog().train_allreduce_seconds.Add({}, train::allreduce_seconds_buckets());
  if (!cfg_.ready_file.empty())
    atomic_write(cfg_.ready_file, "{\"grpc_port\": " + std::to_string(grpc_port_) + ", \"metrics_port\": " +
                                      std::to_string(metrics_port_) + ", \"pid\": " + std::to_string(::getpid()) + "}\n");
  LOG_INFO("attune worker: health on port " << grpc_port_ << ", metrics on port " << metrics_port_
                                            << ", coordinator " << cfg_.coordinator);
}

void TrainWorker::stop() {
  stopping_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  if (waiting_) waiting_->TryCancel();
  if (health_) health_->GetHealthCheckService()->SetServingStatus("", false);
}

int TrainWorker::run() {
  const auto choice = dist::choose_rank_from_environment(cfg_.rank);
  LOG_INFO("worker rank: " << (choice.rank < 0 ? std::string("any") : std::to_string(choice.rank)) << " ("
                           << choice.source << ")");
  auto stub = v1::DistributedTrainingService::NewStub(coordinator_channel(cfg_));
  const std::string me = hostname();
  int attempts = 0;
  bool last_ok = true;
  double backoff = 0.25;
  while (!stopping_) {
    grpc::ClientContext ctx;
    prepare(ctx, cfg_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      waiting_ = &ctx;
    }
    if (stopping_) ctx.TryCancel();
    v1::JoinRequest req;
    req.set_rank(choice.rank);
    req.set_worker(me);
    auto stream = stub->Join(&ctx, req);
    v1::JoinResponse first;
    const bool assigned = stream->Read(&first) && first.has_assignment();
    {
      std::lock_guard<std::mutex> lock(mu_);
      waiting_ = nullptr;
    }
    if (!assigned) {
      const auto s = stream->Finish();
      if (stopping_) break;
      if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
          s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
          s.error_code() == grpc::StatusCode::PERMISSION_DENIED || s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
        LOG_ERROR("coordinator " << cfg_.coordinator << " refused this worker: " << s.error_message());
        return 2;
      }
      LOG_WARN("coordinator " << cfg_.coordinator << " unreachable or stopping (" << s.error_message()
                              << "); retrying in " << backoff << " s");
      nap(backoff, stopping_);
      backoff = std::min(backoff * 2, 5.0);
      continue;
    }
    backoff = 0.25;
    last_ok = run_attempt(*stub, ctx, *stream, first.assignment());
    ++attempts;
    if (cfg_.worker_jobs > 0 && attempts >= cfg_.worker_jobs) break;
  }
  return last_ok ? 0 : 1;
}

bool TrainWorker::run_attempt(v1::DistributedTrainingService::Stub& stub, grpc::ClientContext& ctx,
                              grpc::ClientReader<v1::JoinResponse>& stream, const v1::Assignment& a) {
  const std::string tag = "job " + a.job() + " attempt " + std::to_string(a.attempt()) + " rank " +
                          std::to_string(a.rank()) + "/" + std::to_string(a.world_size());
  LOG_INFO(tag << ": assigned; starting from checkpoint step " << a.checkpoint_step());
  const fs::path dir = fs::path(cfg_.data_dir) / "worker" / (a.job() + "-" + std::to_string(a.attempt()));
  // The session stays open while this rank trains; rank 0 ends it with the attempt's outcome.
  std::atomic<bool> session_over{false};
  std::thread reader([&] {
    v1::JoinResponse r;
    while (stream.Read(&r))
      if (r.ended()) {
        LOG_INFO(tag << ": rank 0 ended the attempt: " << r.message());
        break;
      }
    session_over = true;
  });
  auto& cat = metrics::catalog();
  auto& step_hist = cat.train_step_seconds.Add({}, metrics::buckets::step_seconds());
  auto& allreduce_hist = cat.train_allreduce_seconds.Add({}, train::allreduce_seconds_buckets());
  auto& world_gauge = cat.train_world_size.Add({});
  bool ok = false;
  try {
    std::error_code ec;
    fs::remove_all(dir, ec);
    const fs::path ckpt = dir / ("ckpt-" + std::to_string(a.checkpoint_step()));
    make_dirs(ckpt);
    v1::FetchRequest fr;
    fr.set_job(a.job());
    fr.set_attempt(a.attempt());
    const auto files = fetch([&](grpc::ClientContext* c) { return stub.FetchCheckpoint(c, fr); }, cfg_, "checkpoint");
    for (const auto& [name, bytes] : files) atomic_write(ckpt / name, bytes);
    atomic_write(dir / "CURRENT", ckpt.filename().string());
    auto data_files = fetch([&](grpc::ClientContext* c) { return stub.FetchDataset(c, fr); }, cfg_, "training rows");
    torch::serialize::InputArchive archive;
    std::istringstream data_in(data_files["dataset.pt"]);
    archive.load_from(data_in);
    auto data = std::make_shared<Dataset>();
    torch::Tensor scale;
    archive.read("features", data->features);
    archive.read("labels", data->labels);
    archive.read("feature_scale", scale);
    data->info.samples = data->features.size(0);
    data->info.feature_scale = scale.item<double>();
    if (data->info.samples != a.train_rows())
      throw Internal("rank 0 sent " + std::to_string(data->info.samples) + " rows, expected " + std::to_string(a.train_rows()));

    train::TrainInputs in;
    in.spec = train::spec_from_json(nlohmann::json::parse(a.spec_json()));
    in.job_dir = dir;
    in.input_dtype = static_cast<torch::ScalarType>(a.input_dtype());
    in.train = data;
    in.train_end = a.train_rows();
    in.loss = static_cast<train::LossKind>(a.loss());
    in.interrupt = &stopping_;
    in.emit = [&](train::EventKind kind, const train::Progress& p, const std::string& message) {
      if (kind == train::EventKind::kProgress) {
        step_hist.Observe(p.step_seconds);
        allreduce_hist.Observe(p.allreduce_seconds);
      } else if (!message.empty()) {
        LOG_INFO(tag << ": " << message);
      }
    };
    train::DistributedRole role;
    role.rank = a.rank();
    role.world_size = a.world_size();
    role.has_validation = a.has_validation();
    role.bucket_bytes = a.bucket_bytes();
    role.connect = [&](int64_t) {
      dist::GroupOptions g;
      g.store_host = a.store_host().empty() ? dist::host_of(cfg_.coordinator) : a.store_host();
      g.store_port = a.store_port();
      g.prefix = a.store_prefix();
      g.rank = a.rank();
      g.world_size = a.world_size();
      g.device_host = cfg_.dist_host;
      g.join_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.join_timeout_seconds() * 1000));
      g.timeout = std::chrono::milliseconds(static_cast<int64_t>(a.timeout_seconds() * 1000));
      g.abort = [&] { return stopping_.load() || session_over.load(); };
      return dist::Group::join(g);
    };
    in.distributed = role;
    world_gauge.Set(a.world_size());
    const auto outcome = train::run_training(in);
    LOG_INFO(tag << ": stopped (" << train::stop_reason_name(outcome.reason) << ") at step " << outcome.progress.step);
    ok = true;
  } catch (const std::exception& e) {
    const std::string message = torch_error_message(e);
    LOG_ERROR(tag << ": " << message);
    // A collective failing is the consequence of another rank's trouble, not news for rank 0.
    const auto* err = dynamic_cast<const Error*>(&e);
    if (!err || err->code() != Code::kUnavailable) {
      grpc::ClientContext rc;
      prepare(rc, cfg_);
      rc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      v1::ReportFailureRequest req;
      req.set_job(a.job());
      req.set_attempt(a.attempt());
      req.set_rank(a.rank());
      req.set_message(message);
      v1::ReportFailureResponse resp;
      stub.ReportFailure(&rc, req, &resp);
    }
  }
  world_gauge.Set(0);
  // Rank 0 may still be validating or publishing: give it time to end the session itself.
  const auto until = Clock::now() + std::chrono::seconds(ok ? 30 : 2);
  while (!session_over && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ctx.TryCancel();
  reader.join();
  stream.Finish();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return ok;
}

}  // namespace attune::rpc

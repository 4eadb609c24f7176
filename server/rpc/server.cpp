#include "rpc/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <prometheus/exposer.h>
#include <torch/version.h>

#include <chrono>
#include <thread>

#include "core/log.h"
#include "grpc/health/v1/health.pb.h"
#include "core/storage.h"
#include "metrics/catalog.h"
#include "metrics/registry.h"
#include "rpc/inference_service.h"
#include "rpc/metrics_interceptor.h"
#include "rpc/adaptation_service.h"
#include "rpc/auth.h"
#include "rpc/credentials.h"
#include "rpc/dataset_service.h"
#include "rpc/distributed_service.h"
#include "rpc/model_service.h"
#include "rpc/nowcast_service.h"
#include "rpc/training_service.h"

namespace attune::rpc {

Server::Server(ServerConfig cfg) : cfg_(std::move(cfg)) {}

Server::~Server() { shutdown(); }

std::vector<std::string> Server::service_names() {
  return {"attune.v1.ModelService", "inference.GRPCInferenceService", "attune.v1.DatasetService",
          "attune.v1.TrainingService", "attune.v1.NowcastService", "attune.v1.AdaptationService",
          "attune.v1.DistributedTrainingService"};
}

void Server::set_health(bool serving) {
  for (auto* s : {server_.get(), health_server_.get()}) {
    if (!s) continue;
    auto* health = s->GetHealthCheckService();
    health->SetServingStatus("", serving);
    for (const auto& name : service_names()) health->SetServingStatus(name, serving);
    // "liveness" stays SERVING while the process is alive and responsive (k8s liveness probe).
    health->SetServingStatus("liveness", true);
  }
}

void Server::start() {
  metrics::catalog()
      .build_info.Add({{"version", ATTUNE_VERSION}, {"git_sha", ATTUNE_GIT_SHA}, {"libtorch", TORCH_VERSION}})
      .Set(1);
  make_dirs(cfg_.data_dir);
  registry_ = std::make_unique<ModelRegistry>(cfg_.data_dir, cfg_.model_repository, cfg_.max_models);
  registry_->restore();
  // Nowcast streams: restored (snapshot + log tail) before serving. Half the cores fit in the
  // background, one intra-op thread each.
  streams::StoreOptions stream_options;
  stream_options.dir = std::filesystem::path(cfg_.data_dir) / "streams";
  stream_options.max_streams = cfg_.max_streams;
  stream_options.fit_workers = std::max(1, (cfg_.threads > 0 ? cfg_.threads : available_cpus()) / 2);
  streams_ = std::make_unique<streams::StreamStore>(stream_options);
  streams_->restore();
  for (const auto& name : cfg_.load_models) {
    try {
      const auto existing = registry_->list();
      const bool present = std::any_of(existing.begin(), existing.end(),
                                       [&](const ModelInfo& m) { return m.name == name; });
      if (!present) registry_->load_repository(name, name, 0);
    } catch (const std::exception& e) {
      LOG_ERROR("--load-model " << name << ": " << e.what());
    }
  }

  datasets_ = std::make_unique<DatasetStore>(cfg_.data_dir, cfg_.datasets_dir);
  datasets_->restore();
  train::CoordinatorOptions distributed;
  distributed.store_port = cfg_.dist_store_port;
  distributed.advertise_host = cfg_.dist_advertise_host;
  distributed.device_host = cfg_.dist_host;
  distributed.timeout = std::chrono::milliseconds(static_cast<int64_t>(cfg_.dist_timeout_seconds * 1000));
  distributed.join_timeout = std::chrono::milliseconds(static_cast<int64_t>(cfg_.dist_join_timeout_seconds * 1000));
  distributed.bucket_bytes = int64_t{cfg_.dist_bucket_mb} << 20;
  jobs_ = std::make_unique<train::JobRunner>(cfg_.data_dir, *registry_, *datasets_, cfg_.train_workers,
                                             cfg_.max_queued_jobs, distributed);
  datasets_->set_in_use_check([this](const std::string& name) { return jobs_->dataset_in_use(name); });
  jobs_->start();

  services_.push_back(std::make_unique<ModelServiceImpl>(*registry_));
  services_.push_back(std::make_unique<DatasetServiceImpl>(*datasets_, int64_t{4} << 30));
  services_.push_back(std::make_unique<TrainingServiceImpl>(*jobs_, *registry_, life_));
  services_.push_back(std::make_unique<DistributedServiceImpl>(jobs_->coordinator(), life_));
  sessions_ = std::make_unique<adapt::SessionManager>(*registry_, *datasets_, cfg_.max_sessions,
                                                      cfg_.session_idle_seconds);
  services_.push_back(std::make_unique<AdaptationServiceImpl>(*sessions_));
  services_.push_back(std::make_unique<InferenceServiceImpl>(*registry_, life_));
  services_.push_back(std::make_unique<NowcastServiceImpl>(*streams_, life_));

  // Links the health descriptor into the binary so reflection can describe grpc.health.v1.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (!cfg_.tokens_file.empty()) TokenAuthority::instance().load(cfg_.tokens_file);
  builder.AddListeningPort(cfg_.listen, server_credentials(cfg_), &grpc_port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(cfg_.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(cfg_.max_message_bytes));
  // Long-lived progress streams: allow client keepalive pings while idle.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  grpc::ResourceQuota quota("attune");
  quota.SetMaxThreads(512);
  builder.SetResourceQuota(quota);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<MetricsInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  for (auto& s : services_) builder.RegisterService(s.get());
  server_ = builder.BuildAndStart();
  if (!server_ || grpc_port_ == 0)
    throw std::runtime_error("cannot listen on " + cfg_.listen + " (address in use or invalid?)");

  if (!cfg_.health_listen.empty()) {
    grpc::ServerBuilder hb;
    int port = 0;
    hb.AddListeningPort(cfg_.health_listen, grpc::InsecureServerCredentials(), &port);
    health_server_ = hb.BuildAndStart();
    if (!health_server_ || port == 0)
      throw std::runtime_error("cannot listen on --health-listen " + cfg_.health_listen);
  }

  exposer_ = metrics::start_exposer(cfg_.metrics_listen);
  metrics_port_ = exposer_->GetListeningPorts().empty() ? 0 : exposer_->GetListeningPorts()[0];
  life_.ready = true;
  set_health(true);
  write_ready_file();
  LOG_INFO("attune " << ATTUNE_VERSION << " serving gRPC on port " << grpc_port_
                     << ", metrics on port " << metrics_port_ << ", data dir " << cfg_.data_dir);
}

void Server::reload() { TokenAuthority::instance().reload(); }

void Server::write_ready_file() const {
  if (cfg_.ready_file.empty()) return;
  atomic_write(cfg_.ready_file, "{\"grpc_port\": " + std::to_string(grpc_port_) +
                                    ", \"metrics_port\": " + std::to_string(metrics_port_) +
                                    ", \"pid\": " + std::to_string(::getpid()) + "}\n");
}

void Server::shutdown() {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  life_.draining = true;
  set_health(false);
  LOG_INFO("shutting down: NOT_SERVING, draining for up to " << cfg_.drain_seconds << " s");
  if (cfg_.shutdown_delay_seconds > 0)
    std::this_thread::sleep_for(std::chrono::duration<double>(cfg_.shutdown_delay_seconds));
  // Running training jobs checkpoint now and resume after the restart.
  if (jobs_) jobs_->shutdown();
  // Streams snapshot now and refuse further observations (UNAVAILABLE); background fits stop.
  if (streams_) streams_->shutdown();
  if (sessions_) sessions_->shutdown();
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            std::chrono::duration<double>(cfg_.drain_seconds));
  server_->Shutdown(deadline);
  if (health_server_) health_server_->Shutdown(deadline);
  LOG_INFO("shutdown complete");
}

void Server::wait() {
  if (server_) server_->Wait();
}

}  // namespace attune::rpc

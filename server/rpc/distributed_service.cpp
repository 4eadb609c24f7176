#include "rpc/distributed_service.h"

#include <chrono>
#include <sstream>

#include "core/error.h"
#include "core/storage.h"
#include "rpc/status.h"

namespace attune::rpc {
namespace {

using namespace std::chrono_literals;
constexpr size_t kChunk = size_t{1} << 20;
// How often a session looks for its worker going away, and writes a heartbeat.
constexpr auto kPoll = 200ms;
constexpr int kPollsPerHeartbeat = 10;

void to_proto(const train::Assignment& a, v1::Assignment* p) {
  p->set_job(a.job);
  p->set_attempt(a.attempt);
  p->set_rank(a.rank);
  p->set_world_size(a.world_size);
  p->set_store_host(a.store_host);
  p->set_store_port(a.store_port);
  p->set_store_prefix(a.prefix);
  p->set_spec_json(a.spec_json);
  p->set_checkpoint_step(a.checkpoint_step);
  p->set_train_rows(a.train_rows);
  p->set_loss(a.loss);
  p->set_input_dtype(a.input_dtype);
  p->set_has_validation(a.has_validation);
  p->set_timeout_seconds(a.timeout_seconds);
  p->set_join_timeout_seconds(a.join_timeout_seconds);
  p->set_bucket_bytes(a.bucket_bytes);
}

bool send(grpc::ServerWriter<v1::FileChunk>* writer, const std::string& name, const std::string& bytes) {
  for (size_t off = 0; off == 0 || off < bytes.size(); off += kChunk) {
    v1::FileChunk c;
    c.set_name(name);
    c.set_data(bytes.substr(off, kChunk));
    if (!writer->Write(c)) return false;
    if (bytes.empty()) break;
  }
  return true;
}

}  // namespace

grpc::Status DistributedServiceImpl::Join(grpc::ServerContext* ctx, const v1::JoinRequest* req,
                                          grpc::ServerWriter<v1::JoinResponse>* writer) {
  return guard(ctx, Role::kTrain, [&] {
    std::optional<train::Assignment> a;
    while (!a) {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "worker went away");
      if (life_.draining) throw Unavailable("server is shutting down; join again when it is back");
      a = coordinator_.claim(req->rank(), req->worker().empty() ? ctx->peer() : req->worker(), kPoll);
    }
    v1::JoinResponse first;
    to_proto(*a, first.mutable_assignment());
    if (!writer->Write(first)) {
      coordinator_.left(a->job, a->attempt, a->rank);
      return grpc::Status(grpc::StatusCode::CANCELLED, "worker went away");
    }
    for (int polls = 1;; ++polls) {
      if (const auto outcome = coordinator_.wait_closed(a->job, a->attempt, kPoll)) {
        v1::JoinResponse last;
        last.set_ended(true);
        last.set_message(*outcome);
        writer->Write(last);
        return grpc::Status::OK;
      }
      if (ctx->IsCancelled() || (polls % kPollsPerHeartbeat == 0 && !writer->Write(v1::JoinResponse()))) {
        coordinator_.left(a->job, a->attempt, a->rank);
        return grpc::Status(grpc::StatusCode::CANCELLED, "worker went away");
      }
    }
  });
}

grpc::Status DistributedServiceImpl::FetchCheckpoint(grpc::ServerContext* ctx, const v1::FetchRequest* req,
                                                     grpc::ServerWriter<v1::FileChunk>* writer) {
  return guard(ctx, Role::kTrain, [&] {
    const auto dir = coordinator_.checkpoint_dir(req->job(), req->attempt());
    for (const char* name : {"model.pt", "optimizer.pt", "state.json"})
      if (!send(writer, name, read_file(dir / name)))
        return grpc::Status(grpc::StatusCode::CANCELLED, "worker went away");
    return grpc::Status::OK;
  });
}

grpc::Status DistributedServiceImpl::FetchDataset(grpc::ServerContext* ctx, const v1::FetchRequest* req,
                                                  grpc::ServerWriter<v1::FileChunk>* writer) {
  return guard(ctx, Role::kTrain, [&] {
    int64_t rows = 0;
    const auto data = coordinator_.dataset(req->job(), req->attempt(), &rows);
    torch::serialize::OutputArchive archive;
    archive.write("features", data->features.narrow(0, 0, rows).contiguous());
    archive.write("labels", data->labels.narrow(0, 0, rows).contiguous());
    archive.write("feature_scale", torch::tensor(data->info.feature_scale, torch::kFloat64));
    std::ostringstream out;
    archive.save_to(out);
    if (!send(writer, "dataset.pt", out.str())) return grpc::Status(grpc::StatusCode::CANCELLED, "worker went away");
    return grpc::Status::OK;
  });
}

grpc::Status DistributedServiceImpl::ReportFailure(grpc::ServerContext* ctx, const v1::ReportFailureRequest* req,
                                                   v1::ReportFailureResponse*) {
  return guard(ctx, Role::kTrain, [&] {
    coordinator_.report(req->job(), req->attempt(), req->rank(), req->message());
    return grpc::Status::OK;
  });
}

}  // namespace attune::rpc

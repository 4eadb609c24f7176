#include "rpc/training_service.h"

#include "core/error.h"
#include "metrics/catalog.h"
#include "metrics/registry.h"
#include "optim/factory.h"
#include "rpc/convert.h"
#include "rpc/status.h"
#include "rpc/training_convert.h"
#include "train/online.h"

namespace attune::rpc {

grpc::Status TrainingServiceImpl::StartTraining(grpc::ServerContext* ctx, const v1::StartTrainingRequest* req,
                                                v1::Job* resp) {
  return guard(ctx, Role::kTrain, [&] {
    if (life_.draining) throw Unavailable("server is shutting down; submit the job to another replica");
    to_proto(runner_.submit(from_proto(req->spec())), resp);
    return grpc::Status::OK;
  });
}

grpc::Status TrainingServiceImpl::GetJob(grpc::ServerContext* ctx, const v1::GetJobRequest* req, v1::Job* resp) {
  return guard(ctx, Role::kTrain, [&] {
    to_proto(runner_.get(req->name()), resp);
    return grpc::Status::OK;
  });
}

grpc::Status TrainingServiceImpl::ListJobs(grpc::ServerContext* ctx, const v1::ListJobsRequest* req,
                                           v1::ListJobsResponse* resp) {
  return guard(ctx, Role::kTrain, [&] {
    std::optional<train::JobState> filter;
    if (req->state() != v1::JOB_STATE_UNSPECIFIED) filter = static_cast<train::JobState>(req->state());
    for (const auto& j : runner_.list(filter)) to_proto(j, resp->add_jobs());
    return grpc::Status::OK;
  });
}

grpc::Status TrainingServiceImpl::CancelJob(grpc::ServerContext* ctx, const v1::CancelJobRequest* req, v1::Job* resp) {
  return guard(ctx, Role::kTrain, [&] {
    to_proto(runner_.cancel(req->name()), resp);
    return grpc::Status::OK;
  });
}

grpc::Status TrainingServiceImpl::RestartJob(grpc::ServerContext* ctx, const v1::RestartJobRequest* req,
                                             v1::Job* resp) {
  return guard(ctx, Role::kTrain, [&] {
    if (life_.draining) throw Unavailable("server is shutting down; restart the job after it is back");
    to_proto(runner_.restart(req->name()), resp);
    return grpc::Status::OK;
  });
}

grpc::Status TrainingServiceImpl::WatchJob(grpc::ServerContext* ctx, const v1::WatchJobRequest* req,
                                           grpc::ServerWriter<v1::JobEvent>* writer) {
  return guard(ctx, Role::kTrain, [&] {
    // The first event is the current state; then every event as it happens.
    auto batch = runner_.watch(req->name(), std::numeric_limits<int64_t>::max(), std::chrono::milliseconds(0));
    int64_t after = 0;
    {
      v1::JobEvent first;
      first.set_kind(v1::JobEvent::STATE);
      to_proto(batch.job.progress, batch.job.state, first.mutable_metadata());
      first.set_done(batch.done);
      if (batch.done) to_proto(batch.job, first.mutable_job());
      if (!writer->Write(first)) return grpc::Status(grpc::StatusCode::CANCELLED, "watcher went away");
      if (batch.done) return grpc::Status::OK;
      after = batch.last_sequence;
    }
    while (!ctx->IsCancelled()) {
      batch = runner_.watch(req->name(), after, std::chrono::milliseconds(500));
      for (const auto& e : batch.events) {
        v1::JobEvent ev;
        ev.set_kind(to_proto(e.kind));
        to_proto(e.progress, e.state, ev.mutable_metadata());
        ev.set_message(e.message);
        ev.set_done(e.done);
        if (e.done) to_proto(batch.job, ev.mutable_job());
        if (!writer->Write(ev)) return grpc::Status(grpc::StatusCode::CANCELLED, "watcher went away");
        after = e.sequence;
        if (e.done) return grpc::Status::OK;
      }
      if (batch.done && batch.events.empty()) {
        v1::JobEvent ev;
        ev.set_kind(v1::JobEvent::STATE);
        to_proto(batch.job.progress, batch.job.state, ev.mutable_metadata());
        ev.set_done(true);
        to_proto(batch.job, ev.mutable_job());
        writer->Write(ev);
        return grpc::Status::OK;
      }
      if (batch.stopping)
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "server is shutting down; the job resumes from its last checkpoint after restart");
    }
    return grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled");
  });
}

grpc::Status TrainingServiceImpl::TrainStream(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::TrainStreamResponse, v1::TrainStreamRequest>* stream) {
  return guard(ctx, Role::kTrain, [&] {
    v1::TrainStreamRequest msg;
    if (!stream->Read(&msg) || msg.part_case() != v1::TrainStreamRequest::kStart)
      throw InvalidArgument("first message: expected `start` (model, optimizer, loss), then `batch` messages");
    const auto start = msg.start();
    const auto source = models_.resolve(start.model().name(), start.model().version());
    const auto& inputs = source->info().inputs;
    const torch::ScalarType dtype =
        !inputs.empty() && is_floating(inputs[0].dtype) ? to_scalar_type(inputs[0].dtype) : torch::kFloat32;
    if (start.clip_grad_norm() < 0)
      throw InvalidArgument("start.clip_grad_norm: expected >= 0, received " + std::to_string(start.clip_grad_norm()));
    train::OnlineTrainer trainer(source->clone_module(), static_cast<train::LossKind>(start.loss()),
                                 from_proto(start.optimizer()), start.clip_grad_norm(), dtype);
    const std::string publish = start.publish_name().empty() ? start.model().name() : start.publish_name();
    const std::map<std::string, std::string> labels{{"model", publish}};
    auto& steps = metrics::catalog().train_steps.Add(labels);
    auto& samples = metrics::catalog().train_samples.Add(labels);
    auto& loss_gauge = metrics::catalog().train_loss.Add(labels);
    int64_t index = 0;
    while (stream->Read(&msg)) {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled; nothing published");
      const std::string field = "batch[" + std::to_string(index++) + "]";
      if (msg.part_case() != v1::TrainStreamRequest::kBatch)
        throw InvalidArgument(field + ": expected `batch`, received another `start`");
      const auto x = decode(msg.batch().features(), field + ".features");
      const auto y = decode(msg.batch().labels(), field + ".labels");
      check_finite(field + ".features", x);
      check_finite(field + ".labels", y);
      if (!inputs.empty() && !inputs[0].shape.empty()) {
        TensorSpec spec = inputs[0];
        spec.dtype = dtype_of(x);  // converted to the model's dtype by the trainer
        check_spec(field + ".features", spec, dtype_of(x), x.sizes().vec());
      }
      const auto r = trainer.step(x, y);
      steps.Increment();
      samples.Increment(static_cast<double>(x.size(0)));
      loss_gauge.Set(r.loss);
      v1::TrainStreamResponse resp;
      resp.set_step(r.step);
      resp.set_loss(r.loss);
      resp.set_learning_rate(r.learning_rate);
      if (!stream->Write(resp)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away; nothing published");
    }
    if (trainer.steps() == 0) throw InvalidArgument("batch: no batches received; nothing to publish");
    trainer.model().eval();
    const auto published = models_.publish(publish, trainer.model(), source->info().inputs,
                                           source->info().outputs, "training:stream");
    v1::TrainStreamResponse final_resp;
    final_resp.set_step(trainer.steps());
    to_proto(published, final_resp.mutable_published());
    stream->Write(final_resp);
    return grpc::Status::OK;
  });
}

grpc::Status TrainingServiceImpl::ListOptimizers(grpc::ServerContext* ctx, const v1::ListOptimizersRequest*,
                                                 v1::ListOptimizersResponse* resp) {
  return guard(ctx, Role::kTrain, [&] {
    for (const auto& o : optim::supported_optimizers()) {
      auto* d = resp->add_optimizers();
      d->set_name(o.name);
      d->set_description(o.description);
      for (const auto& opt : o.options) {
        auto* x = d->add_options();
        x->set_name(opt.name);
        x->set_default_value(opt.default_value);
        x->set_description(opt.description);
      }
    }
    return grpc::Status::OK;
  });
}

}  // namespace attune::rpc

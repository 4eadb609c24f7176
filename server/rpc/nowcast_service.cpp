#include "rpc/nowcast_service.h"

#include "rpc/nowcast_convert.h"
#include "rpc/status.h"
#include "streams/data_loss.h"

namespace attune::rpc {
namespace {

constexpr int kMaxObservationsPerMessage = 10000;
constexpr int kDefaultRecentFits = 20;

// guard() with the `train` role (rpc/auth.h: nowcast streams), plus DATA_LOSS for streams
// whose files are damaged.
template <class F>
grpc::Status nowcast_guard(const grpc::ServerContext* ctx, F&& f) {
  return guard(ctx, Role::kTrain, [&] {
    try {
      return f();
    } catch (const streams::StreamDataLoss& e) {
      return grpc::Status(grpc::StatusCode::DATA_LOSS, e.what());
    }
  });
}

std::string required_name(const std::string& name, const std::string& field) {
  if (name.empty()) throw InvalidArgument(field + ": expected a stream name, received \"\"");
  return name;
}

std::string layout_of(const nowcast::StreamConfig& c) {
  std::string vars, targets, horizons;
  for (const auto& v : c.variables) vars += (vars.empty() ? "" : ",") + v;
  for (const auto& t : c.targets) targets += (targets.empty() ? "" : ",") + t;
  for (int64_t h : c.horizons) horizons += (horizons.empty() ? "" : ",") + std::to_string(h);
  const int64_t calendar = nowcast::input_count(c) - static_cast<int64_t>(c.variables.size()) * c.lags;
  return "inputs: values at t-" + std::to_string(c.lags - 1) + "..t of [" + vars +
         "] (oldest first, variables inner) then " + std::to_string(calendar) +
         " calendar sin/cos; outputs: [" + targets + "] x horizons [" + horizons +
         "] as differences y(t+h) - y(t), min-max scaled by model.x_*/model.y_*";
}

}  // namespace

grpc::Status NowcastServiceImpl::CreateStream(grpc::ServerContext* ctx, const v1::CreateStreamRequest* req,
                                              v1::NowcastStream* resp) {
  return nowcast_guard(ctx, [&] {
    if (life_.draining) throw Unavailable("the server is shutting down");
    const StreamSpec spec = from_proto(req->config());
    const auto stream = store_.create(spec.config, spec.mode);
    to_proto(*stream, kDefaultRecentFits, resp);
    return grpc::Status::OK;
  });
}

grpc::Status NowcastServiceImpl::Ingest(grpc::ServerContext* ctx,
                                        grpc::ServerReaderWriter<v1::IngestResponse, v1::IngestRequest>* rw) {
  return nowcast_guard(ctx, [&] {
    v1::IngestRequest req;
    std::shared_ptr<streams::HostedStream> stream;
    while (rw->Read(&req)) {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "ingest cancelled by the client");
      if (life_.draining) throw Unavailable("the server is shutting down; retry once it has restarted");
      const std::string name = required_name(req.stream(), "stream");
      if (!stream || stream->config().name != name) stream = store_.get(name);
      if (req.observations_size() > kMaxObservationsPerMessage)
        throw InvalidArgument("observations: expected at most " + std::to_string(kMaxObservationsPerMessage) +
                              " per message, received " + std::to_string(req.observations_size()));
      // A stream deleted meanwhile answers NOT_FOUND from ingest().
      const auto done = stream->ingest(from_proto(req.observations()));
      v1::IngestResponse resp;
      for (const auto& ev : done.events) to_proto(ev, stream->config(), resp.add_results());
      resp.set_observations(done.observations);
      if (!rw->Write(resp)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    }
    // Reads end at the client's half-close and also when it cancels or its deadline passes.
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "ingest cancelled by the client");
    return grpc::Status::OK;
  });
}

grpc::Status NowcastServiceImpl::GetForecast(grpc::ServerContext* ctx, const v1::GetForecastRequest* req,
                                             v1::NowcastForecast* resp) {
  return nowcast_guard(ctx, [&] {
    const auto stream = store_.get(required_name(req->name(), "name"));
    const auto f = stream->latest_forecast();
    if (!f)
      throw FailedPrecondition("stream '" + req->name() +
                               "' has no forecast yet: ingest an observation first");
    to_proto(*f, stream->config(), resp);
    return grpc::Status::OK;
  });
}

grpc::Status NowcastServiceImpl::GetStream(grpc::ServerContext* ctx, const v1::GetStreamRequest* req,
                                           v1::NowcastStream* resp) {
  return nowcast_guard(ctx, [&] {
    if (req->recent_fits() < 0)
      throw InvalidArgument("recent_fits: expected >= 0 (0 = " + std::to_string(kDefaultRecentFits) +
                            "), received " + std::to_string(req->recent_fits()));
    const auto stream = store_.get(required_name(req->name(), "name"));
    to_proto(*stream, req->recent_fits() ? req->recent_fits() : kDefaultRecentFits, resp);
    return grpc::Status::OK;
  });
}

grpc::Status NowcastServiceImpl::ListStreams(grpc::ServerContext* ctx, const v1::ListStreamsRequest*,
                                             v1::ListStreamsResponse* resp) {
  return nowcast_guard(ctx, [&] {
    for (const auto& e : store_.list()) {
      auto* s = resp->add_streams();
      s->set_name(e.name);
      s->set_error(e.error);
      if (!e.stream) continue;
      const auto& c = e.stream->config();
      const auto st = e.stream->status();
      for (const auto& v : c.variables) s->add_variables(v);
      for (const auto& t : c.targets) s->add_targets(t);
      s->set_model(nowcast::to_string(c.model.kind));
      s->set_trigger(nowcast::to_string(c.retrain.trigger));
      s->set_observations(st.observations);
      if (st.last_time) s->set_last_time(*st.last_time);
      s->set_fits(st.fits);
      s->set_drift_events(st.drift_events);
    }
    return grpc::Status::OK;
  });
}

grpc::Status NowcastServiceImpl::DeleteStream(grpc::ServerContext* ctx, const v1::DeleteStreamRequest* req,
                                              v1::DeleteStreamResponse*) {
  return nowcast_guard(ctx, [&] {
    store_.remove(required_name(req->name(), "name"));
    return grpc::Status::OK;
  });
}

grpc::Status NowcastServiceImpl::ExportStreamModel(grpc::ServerContext* ctx,
                                                   const v1::ExportStreamModelRequest* req,
                                                   grpc::ServerWriter<v1::ExportStreamModelChunk>* writer) {
  return nowcast_guard(ctx, [&] {
    if (req->chunk_bytes() < 0 || req->chunk_bytes() > (64 << 20))
      throw InvalidArgument("chunk_bytes: expected 0 (1 MiB) to 67108864, received " +
                            std::to_string(req->chunk_bytes()));
    const auto stream = store_.get(required_name(req->name(), "name"));
    const auto& c = stream->config();
    const auto st = stream->status();
    const bool baseline =
        c.model.kind == nowcast::ModelKind::persistence || c.model.kind == nowcast::ModelKind::climatology;
    if (!baseline && st.model_version == 0)
      throw FailedPrecondition("stream '" + c.name + "' has no fitted model yet (" +
                               std::to_string(st.observations) + " observations; the first fit needs " +
                               std::to_string(nowcast::resolved_n_min(c)) + " training samples)");
    const std::string bytes = stream->export_state();
    const size_t chunk = req->chunk_bytes() ? static_cast<size_t>(req->chunk_bytes()) : (1u << 20);
    size_t offset = 0;
    do {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "export cancelled");
      v1::ExportStreamModelChunk msg;
      if (offset == 0) {
        msg.set_format("attune.nowcast.snapshot.v1");
        msg.set_model_kind(nowcast::to_string(c.model.kind));
        msg.set_model_version(st.model_version);
        msg.set_observations(st.observations);
        msg.set_layout(layout_of(c));
      }
      const size_t n = std::min(chunk, bytes.size() - offset);
      msg.set_offset(static_cast<int64_t>(offset));
      msg.set_total_bytes(static_cast<int64_t>(bytes.size()));
      msg.set_data(bytes.data() + offset, n);
      if (!writer->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      offset += n;
    } while (offset < bytes.size());
    return grpc::Status::OK;
  });
}

}  // namespace attune::rpc

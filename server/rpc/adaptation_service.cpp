#include "rpc/adaptation_service.h"

#include <cmath>

#include "core/error.h"
#include "rpc/convert.h"
#include "rpc/status.h"

namespace attune::rpc {
namespace {

torch::Tensor decode_batch(const v1::Tensor& t, const std::string& field, const TensorSpec& spec) {
  auto x = decode(t, field);
  check_spec(field, spec, dtype_of(x), x.sizes().vec());
  check_nonempty_batch(field, x.sizes().vec());
  check_finite(field, x);
  return x;
}

}  // namespace

tta::Options from_proto(const v1::AdaptationOptions& p) {
  tta::Options o;
  o.method = tta::parse_method(p.method().empty() ? "eta" : p.method());
  o.episodic = p.episodic();
  o.steps = p.steps() == 0 ? 1 : p.steps();
  const std::string opt = p.optimizer().empty() ? "sgd" : p.optimizer();
  if (opt == "adam") {
    o.optimizer.kind = tta::OptimizerOptions::Kind::kAdam;
    o.optimizer.lr = 1e-3;  // Tent's CIFAR config
  } else if (opt != "sgd") {
    throw InvalidArgument("options.optimizer: expected sgd or adam, received '" + opt + "'");
  }
  if (p.has_lr()) o.optimizer.lr = p.lr();
  if (p.has_momentum()) o.optimizer.momentum = p.momentum();
  if (p.has_nesterov()) o.optimizer.nesterov = p.nesterov();
  if (p.has_weight_decay()) o.optimizer.weight_decay = p.weight_decay();
  if (p.has_e_margin_factor()) o.eata.e_margin_factor = p.e_margin_factor();
  if (p.has_d_margin()) o.eata.d_margin = p.d_margin();
  if (p.has_fisher_alpha()) o.eata.fisher_alpha = p.fisher_alpha();
  if (!p.affinity().empty()) o.lame.affinity = tta::parse_affinity(p.affinity());
  if (p.has_knn()) o.lame.knn = p.knn();
  o.lame.force_symmetry = p.force_symmetry();
  tta::validate(o);
  return o;
}

void to_proto(const tta::Options& o, v1::AdaptationOptions* p) {
  p->set_method(std::string(tta::method_name(o.method)));
  p->set_episodic(o.episodic);
  p->set_steps(o.steps);
  p->set_optimizer(o.optimizer.kind == tta::OptimizerOptions::Kind::kAdam ? "adam" : "sgd");
  p->set_lr(o.optimizer.lr);
  p->set_momentum(o.optimizer.momentum);
  p->set_nesterov(o.optimizer.nesterov);
  p->set_weight_decay(o.optimizer.weight_decay);
  p->set_e_margin_factor(o.eata.e_margin_factor);
  p->set_d_margin(o.eata.d_margin);
  p->set_fisher_alpha(o.eata.fisher_alpha);
  p->set_affinity(std::string(tta::affinity_name(o.lame.affinity)));
  p->set_knn(o.lame.knn);
  p->set_force_symmetry(o.lame.force_symmetry);
}

void to_proto(const adapt::SessionInfo& s, v1::Session* p) {
  p->set_id(s.id);
  p->mutable_model()->set_name(s.model);
  p->mutable_model()->set_version(s.version);
  to_proto(s.options, p->mutable_options());
  auto* st = p->mutable_stats();
  st->set_batches(s.stats.batches);
  st->set_samples(s.stats.samples);
  st->set_updates(s.stats.updates);
  st->set_resets(s.stats.resets);
  st->set_reliable(s.stats.reliable);
  st->set_used(s.stats.used);
  st->set_filtered_entropy(s.stats.filtered_entropy);
  st->set_filtered_redundant(s.stats.filtered_redundant);
  st->set_param_distance(s.stats.param_distance);
  st->set_fisher_drift(s.stats.fisher_drift.value_or(0));
  st->set_moving_avg_entropy(s.stats.moving_avg_entropy.value_or(0));
  st->set_lame_inputs(s.stats.lame_inputs);
  p->set_has_fisher(s.has_fisher);
  p->set_fisher_samples(s.fisher_samples);
  p->set_created_unix_seconds(s.created_unix_seconds);
  p->set_idle_seconds(s.idle_seconds);
}

grpc::Status AdaptationServiceImpl::CreateSession(grpc::ServerContext* ctx, const v1::CreateSessionRequest* req,
                                                  v1::Session* resp) {
  return guard(ctx, Role::kAdapt, [&] {
    to_proto(sessions_.create(req->model().name(), req->model().version(), from_proto(req->options())), resp);
    return grpc::Status::OK;
  });
}

grpc::Status AdaptationServiceImpl::Adapt(grpc::ServerContext* ctx,
                                          grpc::ServerReaderWriter<v1::AdaptResponse, v1::AdaptRequest>* stream) {
  return guard(ctx, Role::kAdapt, [&] {
    v1::AdaptRequest req;
    std::string id;
    TensorSpec spec;
    int64_t index = 0;
    while (stream->Read(&req)) {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "adaptation cancelled");
      if (id.empty()) {
        if (req.session().empty())
          throw InvalidArgument("session: the first message must name the session (CreateSession returns it)");
        id = req.session();
        spec = sessions_.input_spec(id);
      } else if (!req.session().empty() && req.session() != id) {
        throw InvalidArgument("session: one stream adapts one session ('" + id + "'), received '" +
                              req.session() + "'");
      }
      const std::string field = "batch[" + std::to_string(index++) + "]";
      const auto batch = decode_batch(req.batch(), field, spec);
      const auto out = sessions_.adapt(id, batch);
      v1::AdaptResponse resp;
      resp.set_sequence(out.sequence);
      encode(out.result.probs.to(torch::kFloat32), resp.mutable_probabilities());
      const auto pred = out.result.probs.argmax(1).contiguous();
      resp.mutable_predictions()->Add(pred.data_ptr<int64_t>(), pred.data_ptr<int64_t>() + pred.numel());
      if (req.return_logits()) encode(out.result.logits, resp.mutable_logits());
      const auto& s = out.result.stats;
      auto* st = resp.mutable_stats();
      st->set_samples(s.samples);
      st->set_mean_entropy(s.mean_entropy);
      st->set_reliable(s.reliable);
      st->set_used(s.used);
      st->set_filtered_entropy(s.filtered_entropy);
      st->set_filtered_redundant(s.filtered_redundant);
      st->set_updated(s.updated);
      st->set_loss(s.loss.value_or(0));
      st->set_fisher_penalty(s.fisher_penalty.value_or(0));
      st->set_lame_iterations(s.lame_iterations);
      if (!stream->Write(resp)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    }
    // Reads end at the client's half-close and also when it cancels or its deadline passes.
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "adaptation cancelled");
    return grpc::Status::OK;
  });
}

grpc::Status AdaptationServiceImpl::ComputeFisher(grpc::ServerContext* ctx,
                                                  grpc::ServerReader<v1::ComputeFisherRequest>* reader,
                                                  v1::Session* resp) {
  return guard(ctx, Role::kAdapt, [&] {
    v1::ComputeFisherRequest msg;
    if (!reader->Read(&msg) || msg.part_case() != v1::ComputeFisherRequest::kHeader)
      throw InvalidArgument("first message: expected `header` (session, dataset or streamed samples)");
    const auto h = msg.header();
    const int64_t size = h.size() == 0 ? 2000 : h.size();
    const int64_t batch_size = h.batch_size() == 0 ? 64 : h.batch_size();
    if (size < 2) throw InvalidArgument("header.size: expected >= 2, received " + std::to_string(size));
    if (!h.dataset().empty()) {
      to_proto(sessions_.fisher_from_dataset(h.session(), h.dataset(), size, batch_size,
                                             static_cast<uint64_t>(h.seed()),
                                             [ctx] { return ctx->IsCancelled(); }),
               resp);
      return grpc::Status::OK;
    }
    const auto spec = sessions_.input_spec(h.session());
    std::vector<torch::Tensor> parts;
    int64_t n = 0, index = 0;
    while (n < size && reader->Read(&msg)) {
      if (ctx->IsCancelled()) break;
      if (msg.part_case() != v1::ComputeFisherRequest::kSamples)
        throw InvalidArgument("message after the header: expected `samples`");
      auto x = decode_batch(msg.samples(), "samples[" + std::to_string(index++) + "]", spec).clone();
      n += x.size(0);
      parts.push_back(std::move(x));
    }
    // Reads also end when the call is cancelled or expires: never estimate from a partial stream.
    if (ctx->IsCancelled())
      return grpc::Status(grpc::StatusCode::CANCELLED, "ComputeFisher cancelled; the session is unchanged");
    if (parts.empty())
      throw InvalidArgument("samples: none received; stream clean samples after the header or name a dataset");
    auto all = torch::cat(parts);
    if (all.size(0) > size) all = all.narrow(0, 0, size);
    to_proto(sessions_.fisher_from_samples(h.session(), all, batch_size), resp);
    return grpc::Status::OK;
  });
}

grpc::Status AdaptationServiceImpl::ResetSession(grpc::ServerContext* ctx, const v1::ResetSessionRequest* req,
                                                 v1::Session* resp) {
  return guard(ctx, Role::kAdapt, [&] {
    to_proto(sessions_.reset(req->session()), resp);
    return grpc::Status::OK;
  });
}

grpc::Status AdaptationServiceImpl::GetSession(grpc::ServerContext* ctx, const v1::GetSessionRequest* req,
                                               v1::Session* resp) {
  return guard(ctx, Role::kAdapt, [&] {
    to_proto(sessions_.get(req->session()), resp);
    return grpc::Status::OK;
  });
}

grpc::Status AdaptationServiceImpl::ListSessions(grpc::ServerContext* ctx, const v1::ListSessionsRequest*,
                                                 v1::ListSessionsResponse* resp) {
  return guard(ctx, Role::kAdapt, [&] {
    for (const auto& s : sessions_.list()) to_proto(s, resp->add_sessions());
    return grpc::Status::OK;
  });
}

grpc::Status AdaptationServiceImpl::CloseSession(grpc::ServerContext* ctx, const v1::CloseSessionRequest* req,
                                                 v1::CloseSessionResponse*) {
  return guard(ctx, Role::kAdapt, [&] {
    sessions_.close(req->session());
    return grpc::Status::OK;
  });
}

grpc::Status AdaptationServiceImpl::PublishSession(grpc::ServerContext* ctx, const v1::PublishSessionRequest* req,
                                                   v1::Model* resp) {
  return guard(ctx, Role::kAdapt, [&] {
    to_proto(sessions_.publish(req->session(), req->name()), resp);
    return grpc::Status::OK;
  });
}

}  // namespace attune::rpc

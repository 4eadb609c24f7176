#include "rpc/training_convert.h"

#include <cmath>

#include "core/error.h"
#include "rpc/status.h"

namespace attune::rpc {
namespace {

double finite_or_zero(double v) { return std::isfinite(v) ? v : 0.0; }

}  // namespace

ArchitectureSpec from_proto(const v1::ArchitectureSpec& p) {
  ArchitectureSpec a;
  switch (p.kind_case()) {
    case v1::ArchitectureSpec::kMlp:
      a.kind = "mlp";
      a.in_features = p.mlp().in_features();
      a.hidden.assign(p.mlp().hidden().begin(), p.mlp().hidden().end());
      a.out_features = p.mlp().out_features();
      break;
    case v1::ArchitectureSpec::kCnn:
      a.kind = "cnn";
      a.in_channels = p.cnn().in_channels();
      a.height = p.cnn().height();
      a.width = p.cnn().width();
      a.channels.assign(p.cnn().channels().begin(), p.cnn().channels().end());
      a.classes = p.cnn().classes();
      break;
    case v1::ArchitectureSpec::kLstm:
      a.kind = "lstm";
      a.in_features = p.lstm().in_features();
      a.hidden_size = p.lstm().hidden();
      a.layers = p.lstm().layers();
      a.out_features = p.lstm().out_features();
      a.time_steps = p.lstm().time_steps();
      break;
    case v1::ArchitectureSpec::kTransformer:
      a.kind = "transformer";
      a.in_features = p.transformer().in_features();
      a.d_model = p.transformer().d_model();
      a.heads = p.transformer().heads();
      a.layers = p.transformer().layers();
      a.feedforward = p.transformer().feedforward();
      a.out_features = p.transformer().out_features();
      a.time_steps = p.transformer().time_steps();
      break;
    default:
      throw InvalidArgument("architecture: set one of mlp, cnn, lstm, transformer");
  }
  return a;
}

void to_proto(const ArchitectureSpec& a, v1::ArchitectureSpec* p) {
  if (a.kind == "mlp") {
    auto* m = p->mutable_mlp();
    m->set_in_features(a.in_features);
    for (auto h : a.hidden) m->add_hidden(h);
    m->set_out_features(a.out_features);
  } else if (a.kind == "cnn") {
    auto* m = p->mutable_cnn();
    m->set_in_channels(a.in_channels);
    m->set_height(a.height);
    m->set_width(a.width);
    for (auto c : a.channels) m->add_channels(c);
    m->set_classes(a.classes);
  } else if (a.kind == "lstm") {
    auto* m = p->mutable_lstm();
    m->set_in_features(a.in_features);
    m->set_hidden(a.hidden_size);
    m->set_layers(a.layers);
    m->set_out_features(a.out_features);
    m->set_time_steps(a.time_steps);
  } else if (a.kind == "transformer") {
    auto* m = p->mutable_transformer();
    m->set_in_features(a.in_features);
    m->set_d_model(a.d_model);
    m->set_heads(a.heads);
    m->set_layers(a.layers);
    m->set_feedforward(a.feedforward);
    m->set_out_features(a.out_features);
    m->set_time_steps(a.time_steps);
  }
}

optim::OptimizerConfig from_proto(const v1::OptimizerSpec& p) {
  optim::OptimizerConfig c;
  c.name = p.name().empty() ? "adam" : p.name();
  if (p.has_lr()) c.lr = p.lr();
  if (p.has_weight_decay()) c.weight_decay = p.weight_decay();
  if (p.betas_size() > 0) c.betas = std::vector<double>(p.betas().begin(), p.betas().end());
  if (p.has_eps()) c.eps = p.eps();
  if (p.has_momentum()) c.momentum = p.momentum();
  if (p.has_nesterov()) c.nesterov = p.nesterov();
  for (const auto& [k, v] : p.options()) c.extras[k] = v;
  c.decay_exclusion.enabled = !p.has_exclude_bias_and_norm_from_decay() || p.exclude_bias_and_norm_from_decay();
  return c;
}

train::JobSpec from_proto(const v1::JobSpec& p) {
  train::JobSpec s;
  if (p.has_model()) {
    s.model_name = p.model().name();
    s.model_version = p.model().version();
  } else if (p.has_architecture()) {
    s.architecture = from_proto(p.architecture());
  }
  s.dataset = p.dataset();
  s.validation_split = p.validation_split();
  s.validation_dataset = p.validation_dataset();
  s.loss = static_cast<train::LossKind>(p.loss());
  s.optimizer = from_proto(p.optimizer());
  s.schedule = static_cast<train::ScheduleKind>(p.schedule().kind());
  s.warmup_steps = p.schedule().warmup_steps();
  s.min_lr_ratio = p.schedule().min_lr_ratio();
  s.step_size = p.schedule().step_size();
  s.gamma = p.schedule().gamma() == 0 ? 0.1 : p.schedule().gamma();
  const auto& b = p.batch();
  s.batch_size = b.size() == 0 ? 64 : b.size();
  s.adadagrad = b.policy() == v1::BatchSpec::ADADAGRAD;
  s.adadagrad_options.test = static_cast<optim::adadagrad::BatchTest>(b.test());
  if (b.eta() != 0) s.adadagrad_options.eta = b.eta();
  if (b.theta() != 0) s.adadagrad_options.theta = b.theta();
  if (b.nu() != 0) s.adadagrad_options.nu = b.nu();
  s.adadagrad_options.max_batch_size = b.max_batch_size();
  s.adadagrad_options.test_interval = b.test_interval() == 0 ? 1 : b.test_interval();
  s.microbatch_estimate = b.microbatch_estimate();
  s.micro_batch_size = b.micro_batch_size();
  s.scale_lr = b.scale_lr();
  s.scale_lr_max_batch_size = b.scale_lr_max_batch_size();
  s.max_steps = p.max_steps();
  s.epochs = p.epochs() != 0 ? p.epochs() : (p.max_steps() > 0 ? 0 : 1);
  s.clip_grad_norm = p.clip_grad_norm();
  s.patience = p.early_stopping().patience();
  s.min_delta = p.early_stopping().min_delta();
  s.eval_every_steps = p.eval_every_steps();
  s.checkpoint_every_steps = p.checkpoint_every_steps() == 0 ? 50 : p.checkpoint_every_steps();
  s.seed = p.seed();
  s.deterministic = p.deterministic();
  s.publish_name = p.publish_name();
  s.world_size = p.world_size() == 0 ? 1 : p.world_size();
  return s;
}

void to_proto(const train::JobSpec& s, v1::JobSpec* p) {
  if (s.architecture) {
    to_proto(*s.architecture, p->mutable_architecture());
  } else {
    p->mutable_model()->set_name(s.model_name);
    p->mutable_model()->set_version(s.model_version);
  }
  p->set_dataset(s.dataset);
  p->set_validation_split(s.validation_split);
  p->set_validation_dataset(s.validation_dataset);
  p->set_loss(static_cast<v1::Loss>(s.loss));
  auto* o = p->mutable_optimizer();
  o->set_name(s.optimizer.name);
  if (s.optimizer.lr) o->set_lr(*s.optimizer.lr);
  if (s.optimizer.weight_decay) o->set_weight_decay(*s.optimizer.weight_decay);
  if (s.optimizer.betas)
    for (auto b : *s.optimizer.betas) o->add_betas(b);
  if (s.optimizer.eps) o->set_eps(*s.optimizer.eps);
  if (s.optimizer.momentum) o->set_momentum(*s.optimizer.momentum);
  if (s.optimizer.nesterov) o->set_nesterov(*s.optimizer.nesterov);
  for (const auto& [k, v] : s.optimizer.extras) (*o->mutable_options())[k] = v;
  o->set_exclude_bias_and_norm_from_decay(s.optimizer.decay_exclusion.enabled);
  auto* sch = p->mutable_schedule();
  sch->set_kind(static_cast<v1::ScheduleSpec::Kind>(s.schedule));
  sch->set_warmup_steps(s.warmup_steps);
  sch->set_min_lr_ratio(s.min_lr_ratio);
  sch->set_step_size(s.step_size);
  sch->set_gamma(s.gamma);
  auto* b = p->mutable_batch();
  b->set_size(s.batch_size);
  b->set_policy(s.adadagrad ? v1::BatchSpec::ADADAGRAD : v1::BatchSpec::FIXED);
  b->set_test(static_cast<v1::BatchSpec::Test>(s.adadagrad_options.test));
  b->set_eta(s.adadagrad_options.eta);
  b->set_theta(s.adadagrad_options.theta);
  b->set_nu(s.adadagrad_options.nu);
  b->set_max_batch_size(s.adadagrad_options.max_batch_size);
  b->set_test_interval(s.adadagrad_options.test_interval);
  b->set_microbatch_estimate(s.microbatch_estimate);
  b->set_micro_batch_size(s.micro_batch_size);
  b->set_scale_lr(s.scale_lr);
  b->set_scale_lr_max_batch_size(s.scale_lr_max_batch_size);
  p->set_epochs(s.epochs);
  p->set_max_steps(s.max_steps);
  p->set_clip_grad_norm(s.clip_grad_norm);
  p->mutable_early_stopping()->set_patience(s.patience);
  p->mutable_early_stopping()->set_min_delta(s.min_delta);
  p->set_eval_every_steps(s.eval_every_steps);
  p->set_checkpoint_every_steps(s.checkpoint_every_steps);
  p->set_seed(s.seed);
  p->set_deterministic(s.deterministic);
  p->set_publish_name(s.publish_name);
  p->set_world_size(s.world_size);
}

void to_proto(const train::Progress& p, train::JobState state, v1::JobMetadata* m) {
  m->set_state(static_cast<v1::JobState>(state));
  m->set_step(p.step);
  m->set_total_steps(p.total_steps);
  m->set_epoch(p.epoch);
  m->set_samples(p.samples);
  m->set_loss(finite_or_zero(p.loss));
  m->set_validation_loss(finite_or_zero(p.validation_loss));
  m->set_validation_accuracy(finite_or_zero(p.validation_accuracy));
  m->set_learning_rate(p.learning_rate);
  m->set_batch_size(p.batch_size);
  m->set_samples_per_second(p.samples_per_second);
  m->set_eta_seconds(p.eta_seconds);
  m->set_checkpoint_step(p.checkpoint_step);
  m->set_world_size(p.world_size);
  m->set_allreduce_seconds(p.allreduce_seconds);
  m->set_step_seconds(p.step_seconds);
}

void to_proto(const train::JobRecord& r, v1::Job* p) {
  p->set_name("jobs/" + r.id);
  p->set_done(train::is_terminal(r.state));
  auto* m = p->mutable_metadata();
  to_proto(r.progress, r.state, m);
  m->set_created_unix_seconds(r.created);
  m->set_started_unix_seconds(r.started);
  m->set_finished_unix_seconds(r.finished);
  m->set_model(r.model);
  m->set_resumes(r.resumes);
  m->set_world_size(r.spec.world_size);
  if (r.error) {
    p->mutable_error()->set_code(static_cast<int>(to_grpc_code(r.error->first)));
    p->mutable_error()->set_message(r.error->second);
  } else if (r.result) {
    auto* res = p->mutable_response();
    res->set_model_name(r.result->model_name);
    res->set_model_version(r.result->model_version);
    res->set_final_loss(finite_or_zero(r.result->final_loss));
    res->set_validation_loss(finite_or_zero(r.result->validation_loss));
    res->set_validation_accuracy(finite_or_zero(r.result->validation_accuracy));
    res->set_steps(r.result->steps);
    res->set_stop_reason(r.result->stop_reason);
  }
  to_proto(r.spec, p->mutable_spec());
}

v1::JobEvent::Kind to_proto(train::EventKind k) { return static_cast<v1::JobEvent::Kind>(k); }

}  // namespace attune::rpc

#include "train/job_spec.h"

#include <cmath>

#include "core/error.h"

namespace attune::train {
namespace {

void require(bool ok, const std::string& field, const std::string& expected, const std::string& got) {
  if (!ok) throw InvalidArgument(field + ": expected " + expected + ", received " + got);
}

std::string num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

nlohmann::json arch_json(const ArchitectureSpec& a) {
  return {{"kind", a.kind},           {"in_features", a.in_features}, {"out_features", a.out_features},
          {"hidden", a.hidden},       {"in_channels", a.in_channels}, {"height", a.height},
          {"width", a.width},         {"channels", a.channels},       {"classes", a.classes},
          {"hidden_size", a.hidden_size}, {"layers", a.layers},       {"d_model", a.d_model},
          {"heads", a.heads},         {"feedforward", a.feedforward}, {"time_steps", a.time_steps}};
}

ArchitectureSpec arch_from(const nlohmann::json& j) {
  ArchitectureSpec a;
  a.kind = j.at("kind");
  a.in_features = j.value("in_features", int64_t{0});
  a.out_features = j.value("out_features", int64_t{0});
  a.hidden = j.value("hidden", std::vector<int64_t>{});
  a.in_channels = j.value("in_channels", int64_t{0});
  a.height = j.value("height", int64_t{0});
  a.width = j.value("width", int64_t{0});
  a.channels = j.value("channels", std::vector<int64_t>{});
  a.classes = j.value("classes", int64_t{0});
  a.hidden_size = j.value("hidden_size", int64_t{0});
  a.layers = j.value("layers", int64_t{0});
  a.d_model = j.value("d_model", int64_t{0});
  a.heads = j.value("heads", int64_t{0});
  a.feedforward = j.value("feedforward", int64_t{0});
  a.time_steps = j.value("time_steps", int64_t{0});
  return a;
}

template <class T>
void put_opt(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

template <class T>
void get_opt(const nlohmann::json& j, const char* key, std::optional<T>& v) {
  if (j.contains(key)) v = j[key].get<T>();
}

}  // namespace

std::string loss_name(LossKind k) {
  switch (k) {
    case LossKind::kCrossEntropy: return "cross_entropy";
    case LossKind::kMse: return "mse";
    case LossKind::kL1: return "l1";
    default: return "auto";
  }
}

void validate(const JobSpec& s) {
  require(!s.dataset.empty(), "dataset", "a dataset name", "''");
  require(s.architecture.has_value() || !s.model_name.empty(), "model_source",
          "a model name or an architecture", "neither");
  if (s.architecture)
    require(!s.publish_name.empty(), "publish_name", "a model name for the trained architecture", "''");
  require(s.validation_split >= 0 && s.validation_split < 1, "validation_split", "in [0, 1)",
          num(s.validation_split));
  require(s.validation_split == 0 || s.validation_dataset.empty(), "validation_dataset",
          "empty when validation_split is set", s.validation_dataset);
  require(s.batch_size >= 1, "batch.size", ">= 1", num(s.batch_size));
  require(s.epochs >= 1 || s.max_steps >= 1, "epochs", ">= 1 (or max_steps >= 1)", num(s.epochs));
  require(s.max_steps >= 0, "max_steps", ">= 0", num(s.max_steps));
  require(s.clip_grad_norm >= 0 && std::isfinite(s.clip_grad_norm), "clip_grad_norm", ">= 0",
          num(s.clip_grad_norm));
  require(s.patience >= 0, "early_stopping.patience", ">= 0", num(s.patience));
  require(s.eval_every_steps >= 0, "eval_every_steps", ">= 0", num(s.eval_every_steps));
  require(s.checkpoint_every_steps >= 1, "checkpoint_every_steps", ">= 1", num(s.checkpoint_every_steps));
  require(s.warmup_steps >= 0, "schedule.warmup_steps", ">= 0", num(s.warmup_steps));
  require(s.min_lr_ratio >= 0 && s.min_lr_ratio <= 1, "schedule.min_lr_ratio", "in [0, 1]", num(s.min_lr_ratio));
  if (s.schedule == ScheduleKind::kStep) {
    require(s.step_size >= 1, "schedule.step_size", ">= 1 for STEP", num(s.step_size));
    require(s.gamma > 0 && s.gamma <= 1, "schedule.gamma", "in (0, 1]", num(s.gamma));
  }
  require(s.world_size >= 1 && s.world_size <= 64, "world_size", "1..64", num(s.world_size));
  if (s.adadagrad) {
    try {
      optim::adadagrad::validate(s.adadagrad_options);
    } catch (const std::invalid_argument& e) {
      throw InvalidArgument(std::string("batch.") + e.what());
    }
    require(s.adadagrad_options.max_batch_size >= s.batch_size, "batch.max_batch_size",
            ">= batch.size " + num(s.batch_size), num(s.adadagrad_options.max_batch_size));
    if (s.microbatch_estimate)
      require(s.micro_batch_size >= 1, "batch.micro_batch_size", ">= 1 with microbatch_estimate",
              num(s.micro_batch_size));
  }
  try {
    optim::validate(s.optimizer);
  } catch (const std::invalid_argument& e) {
    throw InvalidArgument(std::string("optimizer.") + e.what());
  }
  if (s.architecture) normalized(*s.architecture);
}

nlohmann::json to_json(const JobSpec& s) {
  nlohmann::json o{{"name", s.optimizer.name}, {"extras", s.optimizer.extras},
                   {"decay_exclusion", s.optimizer.decay_exclusion.enabled}};
  put_opt(o, "lr", s.optimizer.lr);
  put_opt(o, "weight_decay", s.optimizer.weight_decay);
  put_opt(o, "betas", s.optimizer.betas);
  put_opt(o, "eps", s.optimizer.eps);
  put_opt(o, "momentum", s.optimizer.momentum);
  put_opt(o, "dampening", s.optimizer.dampening);
  put_opt(o, "nesterov", s.optimizer.nesterov);
  const auto& a = s.adadagrad_options;
  nlohmann::json j{{"model_name", s.model_name}, {"model_version", s.model_version},
                   {"dataset", s.dataset}, {"validation_split", s.validation_split},
                   {"validation_dataset", s.validation_dataset}, {"loss", static_cast<int>(s.loss)},
                   {"optimizer", o}, {"schedule", static_cast<int>(s.schedule)},
                   {"warmup_steps", s.warmup_steps}, {"min_lr_ratio", s.min_lr_ratio},
                   {"step_size", s.step_size}, {"gamma", s.gamma}, {"batch_size", s.batch_size},
                   {"adadagrad", s.adadagrad},
                   {"adadagrad_options", {{"test", static_cast<int>(a.test)}, {"eta", a.eta},
                                          {"theta", a.theta}, {"nu", a.nu},
                                          {"max_batch_size", a.max_batch_size},
                                          {"test_interval", a.test_interval}}},
                   {"microbatch_estimate", s.microbatch_estimate},
                   {"micro_batch_size", s.micro_batch_size}, {"scale_lr", s.scale_lr},
                   {"scale_lr_max_batch_size", s.scale_lr_max_batch_size}, {"epochs", s.epochs},
                   {"max_steps", s.max_steps}, {"clip_grad_norm", s.clip_grad_norm},
                   {"patience", s.patience}, {"min_delta", s.min_delta},
                   {"eval_every_steps", s.eval_every_steps},
                   {"checkpoint_every_steps", s.checkpoint_every_steps}, {"seed", s.seed},
                   {"deterministic", s.deterministic}, {"publish_name", s.publish_name},
                   {"world_size", s.world_size}};
  if (s.architecture) j["architecture"] = arch_json(*s.architecture);
  return j;
}

JobSpec spec_from_json(const nlohmann::json& j) {
  JobSpec s;
  s.model_name = j.value("model_name", std::string());
  s.model_version = j.value("model_version", int64_t{0});
  if (j.contains("architecture")) s.architecture = arch_from(j["architecture"]);
  s.dataset = j.at("dataset");
  s.validation_split = j.value("validation_split", 0.0);
  s.validation_dataset = j.value("validation_dataset", std::string());
  s.loss = static_cast<LossKind>(j.value("loss", 0));
  const auto& o = j.at("optimizer");
  s.optimizer.name = o.at("name");
  s.optimizer.extras = o.value("extras", std::map<std::string, double>{});
  s.optimizer.decay_exclusion.enabled = o.value("decay_exclusion", true);
  get_opt(o, "lr", s.optimizer.lr);
  get_opt(o, "weight_decay", s.optimizer.weight_decay);
  get_opt(o, "betas", s.optimizer.betas);
  get_opt(o, "eps", s.optimizer.eps);
  get_opt(o, "momentum", s.optimizer.momentum);
  get_opt(o, "dampening", s.optimizer.dampening);
  get_opt(o, "nesterov", s.optimizer.nesterov);
  s.schedule = static_cast<ScheduleKind>(j.value("schedule", 0));
  s.warmup_steps = j.value("warmup_steps", int64_t{0});
  s.min_lr_ratio = j.value("min_lr_ratio", 0.0);
  s.step_size = j.value("step_size", int64_t{0});
  s.gamma = j.value("gamma", 0.1);
  s.batch_size = j.value("batch_size", int64_t{64});
  s.adadagrad = j.value("adadagrad", false);
  if (j.contains("adadagrad_options")) {
    const auto& a = j["adadagrad_options"];
    s.adadagrad_options.test = static_cast<optim::adadagrad::BatchTest>(a.value("test", 0));
    s.adadagrad_options.eta = a.value("eta", 0.1);
    s.adadagrad_options.theta = a.value("theta", 0.1);
    s.adadagrad_options.nu = a.value("nu", 0.1);
    s.adadagrad_options.max_batch_size = a.value("max_batch_size", int64_t{0});
    s.adadagrad_options.test_interval = a.value("test_interval", int64_t{1});
  }
  s.microbatch_estimate = j.value("microbatch_estimate", false);
  s.micro_batch_size = j.value("micro_batch_size", int64_t{0});
  s.scale_lr = j.value("scale_lr", false);
  s.scale_lr_max_batch_size = j.value("scale_lr_max_batch_size", int64_t{0});
  s.epochs = j.value("epochs", int64_t{1});
  s.max_steps = j.value("max_steps", int64_t{0});
  s.clip_grad_norm = j.value("clip_grad_norm", 0.0);
  s.patience = j.value("patience", int64_t{0});
  s.min_delta = j.value("min_delta", 0.0);
  s.eval_every_steps = j.value("eval_every_steps", int64_t{0});
  s.checkpoint_every_steps = j.value("checkpoint_every_steps", int64_t{50});
  s.seed = j.value("seed", int64_t{0});
  s.deterministic = j.value("deterministic", false);
  s.publish_name = j.value("publish_name", std::string());
  s.world_size = j.value("world_size", int64_t{1});
  return s;
}

}  // namespace attune::train

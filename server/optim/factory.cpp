#include "optim/factory.h"

#include <algorithm>

#include "optim/adabelief.h"
#include "optim/adagrad_norm.h"
#include "optim/adan.h"
#include "optim/exadam.h"
#include "optim/options_check.h"

namespace attune::optim {
namespace {

enum class ExtraKind { kBool, kNonNegative };

struct ExtraSpec {
  std::string name;
  ExtraKind kind;
  double default_value;
  std::string description;
};

struct Spec {
  std::string name;
  std::string description;
  std::optional<double> lr;  // nullopt: required
  double weight_decay;
  std::string weight_decay_kind;
  std::optional<double> eps;    // nullopt: no eps
  std::vector<double> betas;    // empty: no betas
  bool sgd_fields = false;      // momentum, dampening, nesterov
  std::vector<ExtraSpec> extras;
};

const ExtraSpec kFused{"fused", ExtraKind::kBool, 1,
                       "single-pass kernel (0: tensor-op reference path, same results)"};
const ExtraSpec kAmsgrad{"amsgrad", ExtraKind::kBool, 0, "AMSGrad max of the second moment"};

const std::vector<Spec>& specs() {
  static const std::vector<Spec> table = {
      {"exadam", "EXAdam (Adly, arXiv:2412.20302), official HEAD behaviour", 1e-3, 0,
       "decoupled, before the moments", 1e-8, {0.9, 0.999}, false,
       {{"log_step_size", ExtraKind::kBool, 0, "arXiv v1 step size lr*ln(sqrt(2)*sqrt(t+1))"}, kFused}},
      {"adan", "Adan (Xie et al., TPAMI 2024), official sail-sg code", 1e-3, 0,
       "proximal theta/(1+lr*wd) unless no_prox", 1e-8, {0.98, 0.92, 0.99}, false,
       {{"max_grad_norm", ExtraKind::kNonNegative, 0, "global-norm clipping threshold (0: off)"},
        {"no_prox", ExtraKind::kBool, 0, "AdamW-style decay theta*(1-lr*wd)"},
        kFused}},
      {"adabelief", "AdaBelief (Zhuang et al., NeurIPS 2020), adabelief-pytorch 0.2.1", 1e-3, 0,
       "decoupled unless weight_decouple=0 (then L2)", 1e-16, {0.9, 0.999}, false,
       {kAmsgrad,
        {"weight_decouple", ExtraKind::kBool, 1, "AdamW-style decoupled decay"},
        {"fixed_decay", ExtraKind::kBool, 0, "decoupled decay theta*(1-wd), independent of lr"},
        {"rectify", ExtraKind::kBool, 1, "RAdam rectification"},
        {"degenerated_to_sgd", ExtraKind::kBool, 1, "SGD-momentum steps while rho_t < 5"},
        kFused}},
      {"adam", "Adam (torch::optim::Adam)", 1e-3, 0, "L2 (added to the gradient)", 1e-8,
       {0.9, 0.999}, false, {kAmsgrad}},
      {"adamw", "AdamW (torch::optim::AdamW)", 1e-3, 1e-2, "decoupled", 1e-8, {0.9, 0.999}, false,
       {kAmsgrad}},
      {"sgd", "SGD with optional (Nesterov) momentum (torch::optim::SGD)", std::nullopt, 0,
       "L2 (added to the gradient)", std::nullopt, {}, true, {}},
      {"adagrad", "AdaGrad (torch::optim::Adagrad)", 1e-2, 0, "L2 (added to the gradient)", 1e-10,
       {}, false,
       {{"lr_decay", ExtraKind::kNonNegative, 0, "lr/(1+(t-1)*lr_decay)"},
        {"initial_accumulator_value", ExtraKind::kNonNegative, 0, "initial sum of squares"}}},
      {"adagradnorm", "AdaGrad-Norm, the paper's scalar rule (Ward et al.; AdAdaGrad-Norm)", 1.0, 0,
       "L2 (added to the gradient)", 1e-10, {}, false,
       {{"initial_accumulator_value", ExtraKind::kNonNegative, 1e-2, "b0^2"}, kFused}},
  };
  return table;
}

std::string names_list() {
  std::string out;
  for (const auto& s : specs()) out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

const Spec& spec_for(const std::string& name) {
  for (const auto& s : specs()) {
    if (s.name == name) return s;
  }
  throw_invalid("name", "one of " + names_list(), "\"" + name + "\"");
}

std::string join(const std::vector<double>& values) {
  std::string out;
  for (double v : values) out += (out.empty() ? "" : ",") + format_value(v);
  return out;
}

void reject_if_set(bool is_set, const std::string& field, const Spec& spec, const std::string& why,
                   const std::string& received) {
  if (is_set) throw_invalid(field, "no value for " + spec.name + " (" + why + ")", received);
}

// The config with defaults filled in, after validation.
struct Resolved {
  const Spec* spec;
  double lr, weight_decay, eps = 0, momentum = 0, dampening = 0;
  bool nesterov = false;
  std::vector<double> betas;
  std::map<std::string, double> extras;

  bool flag(const std::string& name) const { return extras.at(name) != 0; }
};

Resolved resolve(const OptimizerConfig& config) {
  Resolved r;
  r.spec = &spec_for(config.name);
  const Spec& spec = *r.spec;

  if (config.lr) {
    require_positive("lr", *config.lr);
    r.lr = *config.lr;
  } else if (spec.lr) {
    r.lr = *spec.lr;
  } else {
    throw_invalid("lr", "a value for " + spec.name + " (it has no default)", "none");
  }

  r.weight_decay = config.weight_decay.value_or(spec.weight_decay);
  require_non_negative("weight_decay", r.weight_decay);

  if (spec.eps) {
    r.eps = config.eps.value_or(*spec.eps);
    require_non_negative("eps", r.eps);
  } else {
    reject_if_set(config.eps.has_value(), "eps", spec, "it has no eps",
                  config.eps ? format_value(*config.eps) : "");
  }

  if (!spec.betas.empty()) {
    r.betas = config.betas.value_or(spec.betas);
    if (r.betas.size() != spec.betas.size()) {
      throw_invalid("betas", std::to_string(spec.betas.size()) + " values for " + spec.name,
                    std::to_string(r.betas.size()));
    }
    for (size_t i = 0; i < r.betas.size(); ++i) {
      require_in_unit_interval("betas[" + std::to_string(i) + "]", r.betas[i]);
    }
  } else {
    reject_if_set(config.betas.has_value(), "betas", spec, "it has no betas",
                  config.betas ? join(*config.betas) : "");
  }

  if (spec.sgd_fields) {
    r.momentum = config.momentum.value_or(0.0);
    r.dampening = config.dampening.value_or(0.0);
    r.nesterov = config.nesterov.value_or(false);
    require_non_negative("momentum", r.momentum);
    require_non_negative("dampening", r.dampening);
    if (r.nesterov && (r.momentum <= 0 || r.dampening != 0)) {
      throw_invalid("nesterov", "momentum > 0 and dampening = 0",
                    "momentum " + format_value(r.momentum) + ", dampening " + format_value(r.dampening));
    }
  } else {
    const std::string why = "only sgd uses it";
    reject_if_set(config.momentum.has_value(), "momentum", spec, why,
                  config.momentum ? format_value(*config.momentum) : "");
    reject_if_set(config.dampening.has_value(), "dampening", spec, why,
                  config.dampening ? format_value(*config.dampening) : "");
    reject_if_set(config.nesterov.has_value(), "nesterov", spec, why,
                  config.nesterov ? (*config.nesterov ? "true" : "false") : "");
  }

  for (const auto& extra : spec.extras) r.extras[extra.name] = extra.default_value;
  for (const auto& entry : config.extras) {
    const std::string& key = entry.first;
    const double value = entry.second;
    auto it = std::find_if(spec.extras.begin(), spec.extras.end(),
                           [&](const ExtraSpec& e) { return e.name == key; });
    if (it == spec.extras.end()) {
      std::string known;
      for (const auto& e : spec.extras) known += (known.empty() ? "" : ", ") + e.name;
      throw_invalid("extras", "an option of " + spec.name + " (" + (known.empty() ? "none" : known) + ")",
                    "\"" + key + "\"");
    }
    const std::string field = "extras." + key;
    if (it->kind == ExtraKind::kBool) {
      if (value != 0 && value != 1) throw_invalid(field, "0 or 1 (boolean)", format_value(value));
    } else {
      require_non_negative(field, value);
    }
    r.extras[key] = value;
  }
  return r;
}

template <class Opt, class Options>
std::unique_ptr<torch::optim::Optimizer> build(const Options& defaults, const OptimizerConfig& config,
                                               const std::vector<NamedParameter>& params) {
  return std::make_unique<Opt>(decay_param_groups(params, defaults, config.decay_exclusion), defaults);
}

std::unique_ptr<torch::optim::Optimizer> create(const Resolved& r, const OptimizerConfig& config,
                                                const std::vector<NamedParameter>& params) {
  const std::string& name = r.spec->name;
  const auto& b = r.betas;
  if (name == "exadam") {
    auto o = EXAdamOptions(r.lr).betas({b[0], b[1]}).eps(r.eps).weight_decay(r.weight_decay);
    o.log_step_size(r.flag("log_step_size")).fused(r.flag("fused"));
    return build<EXAdam>(o, config, params);
  }
  if (name == "adan") {
    auto o = AdanOptions(r.lr).betas({b[0], b[1], b[2]}).eps(r.eps).weight_decay(r.weight_decay);
    o.max_grad_norm(r.extras.at("max_grad_norm")).no_prox(r.flag("no_prox")).fused(r.flag("fused"));
    return build<Adan>(o, config, params);
  }
  if (name == "adabelief") {
    auto o = AdaBeliefOptions(r.lr).betas({b[0], b[1]}).eps(r.eps).weight_decay(r.weight_decay);
    o.amsgrad(r.flag("amsgrad"))
        .weight_decouple(r.flag("weight_decouple"))
        .fixed_decay(r.flag("fixed_decay"))
        .rectify(r.flag("rectify"))
        .degenerated_to_sgd(r.flag("degenerated_to_sgd"))
        .fused(r.flag("fused"));
    return build<AdaBelief>(o, config, params);
  }
  if (name == "adam") {
    auto o = torch::optim::AdamOptions(r.lr).betas({b[0], b[1]}).eps(r.eps).weight_decay(r.weight_decay);
    o.amsgrad(r.flag("amsgrad"));
    return build<torch::optim::Adam>(o, config, params);
  }
  if (name == "adamw") {
    auto o = torch::optim::AdamWOptions(r.lr).betas({b[0], b[1]}).eps(r.eps).weight_decay(r.weight_decay);
    o.amsgrad(r.flag("amsgrad"));
    return build<torch::optim::AdamW>(o, config, params);
  }
  if (name == "sgd") {
    auto o = torch::optim::SGDOptions(r.lr).momentum(r.momentum).dampening(r.dampening);
    o.nesterov(r.nesterov).weight_decay(r.weight_decay);
    return build<torch::optim::SGD>(o, config, params);
  }
  if (name == "adagrad") {
    auto o = torch::optim::AdagradOptions(r.lr).eps(r.eps).weight_decay(r.weight_decay);
    o.lr_decay(r.extras.at("lr_decay")).initial_accumulator_value(r.extras.at("initial_accumulator_value"));
    return build<torch::optim::Adagrad>(o, config, params);
  }
  auto o = AdaGradNormOptions(r.lr).eps(r.eps).weight_decay(r.weight_decay);
  o.initial_accumulator_value(r.extras.at("initial_accumulator_value")).fused(r.flag("fused"));
  return build<AdaGradNorm>(o, config, params);
}

}  // namespace

std::vector<OptimizerInfo> supported_optimizers() {
  std::vector<OptimizerInfo> out;
  for (const auto& s : specs()) {
    OptimizerInfo info{s.name, s.description, {}};
    info.options.push_back({"lr", s.lr ? format_value(*s.lr) : "", "learning rate (> 0)"});
    info.options.push_back({"weight_decay", format_value(s.weight_decay), s.weight_decay_kind});
    if (!s.betas.empty()) info.options.push_back({"betas", join(s.betas), "EMA coefficients in [0, 1)"});
    if (s.eps) info.options.push_back({"eps", format_value(*s.eps), "numerical-stability term (>= 0)"});
    if (s.sgd_fields) {
      info.options.push_back({"momentum", "0", "momentum factor (>= 0)"});
      info.options.push_back({"dampening", "0", "momentum dampening (>= 0)"});
      info.options.push_back({"nesterov", "false", "Nesterov momentum (needs momentum > 0, dampening 0)"});
    }
    for (const auto& e : s.extras) {
      info.options.push_back({"extras." + e.name, format_value(e.default_value), e.description});
    }
    out.push_back(std::move(info));
  }
  return out;
}

void validate(const OptimizerConfig& config) { resolve(config); }

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        const std::vector<NamedParameter>& params) {
  const Resolved r = resolve(config);
  if (params.empty()) throw_invalid("params", "at least one trainable parameter", "0");
  return create(r, config, params);
}

}  // namespace attune::optim

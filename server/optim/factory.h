// Optimizers by name from a plain config, for the RPC layer.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "optim/param_groups.h"

namespace attune::optim {

struct OptimizerConfig {
  // "exadam" | "adan" | "adabelief" | "adam" | "adamw" | "sgd" | "adagrad" | "adagradnorm"
  std::string name;
  // Unset fields take the optimizer's default (supported_optimizers()).
  std::optional<double> lr;
  std::optional<double> weight_decay;
  std::optional<std::vector<double>> betas;  // 3 values for adan, 2 for the other Adam-likes
  std::optional<double> eps;
  std::optional<double> momentum;   // sgd only
  std::optional<double> dampening;  // sgd only
  std::optional<bool> nesterov;     // sgd only
  // Optimizer-specific options by name (booleans as 0/1), e.g. {"no_prox", 1}, {"max_grad_norm", 5}.
  std::map<std::string, double> extras;
  // Applied when weight_decay > 0: excluded parameters go to a second group with weight decay 0.
  DecayExclusion decay_exclusion;
};

struct OptionInfo {
  std::string name;
  std::string default_value;  // "" when required
  std::string description;
};

struct OptimizerInfo {
  std::string name;
  std::string description;
  std::vector<OptionInfo> options;  // the config fields and extras this optimizer accepts
};

// The supported names, in a fixed order, with their defaults (help text, ListOptimizers).
std::vector<OptimizerInfo> supported_optimizers();

// Throws std::invalid_argument("<field>: expected <what>, received <value>") on a bad config:
// unknown name or option, lr <= 0, weight_decay or eps < 0, betas outside [0, 1), wrong arity,
// fields that the optimizer does not use.
void validate(const OptimizerConfig& config);

// Validates, splits `params` into param groups (group 0 decayed, then group 1 with weight decay
// 0 when non-empty; a single group when weight decay is 0 or exclusion is off; order kept) and
// builds the optimizer. The param order must be the same when a checkpoint is loaded.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        const std::vector<NamedParameter>& params);

}  // namespace attune::optim

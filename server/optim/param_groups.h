// Building param groups from a model's named parameters, with weight-decay exclusion.
#pragma once
#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace attune::optim {

struct NamedParameter {
  std::string name;
  torch::Tensor value;
};

// Deterministic (registration-order) lists; parameters with requires_grad false are skipped,
// since optimizer checkpoints map state to parameters by position.
std::vector<NamedParameter> named_parameters(const torch::nn::Module& module);
std::vector<NamedParameter> named_parameters(const torch::jit::Module& module);

// Which parameters get weight decay 0 (timm/pytorch_optimizer convention: biases and
// normalisation scales/shifts are not decayed).
struct DecayExclusion {
  bool enabled = true;
  bool exclude_1d = true;                           // ndim ≤ 1: biases, norm weights, scalars
  std::vector<std::string> suffixes = {"bias"};     // name ends with
  std::vector<std::string> substrings = {"norm"};   // e.g. "layer_norm.weight", "norm1.weight"
  std::vector<std::string> module_prefixes;         // e.g. BatchNorm modules found by type name
};

bool excluded_from_decay(const NamedParameter& param, const DecayExclusion& rule);

struct DecaySplit {
  std::vector<NamedParameter> decay;
  std::vector<NamedParameter> no_decay;
};

// Keeps the input order inside each list.
DecaySplit split_by_weight_decay(const std::vector<NamedParameter>& params,
                                 const DecayExclusion& rule);

std::vector<torch::Tensor> tensors_of(const std::vector<NamedParameter>& params);

// Param groups for an optimizer whose options type is Options: when defaults.weight_decay() > 0
// and the rule excludes something, the decayed parameters (group 0, if any) and then the excluded
// ones with weight decay 0; otherwise one group. Order is kept within each group.
template <class Options>
std::vector<torch::optim::OptimizerParamGroup> decay_param_groups(const std::vector<NamedParameter>& params,
                                                                  const Options& defaults,
                                                                  const DecayExclusion& rule) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  const auto split = split_by_weight_decay(params, rule);
  if (defaults.weight_decay() > 0 && !split.no_decay.empty()) {
    if (!split.decay.empty()) groups.emplace_back(tensors_of(split.decay), std::make_unique<Options>(defaults));
    auto no_decay = std::make_unique<Options>(defaults);
    no_decay->weight_decay(0);
    groups.emplace_back(tensors_of(split.no_decay), std::move(no_decay));
  } else {
    groups.emplace_back(tensors_of(params), std::make_unique<Options>(defaults));
  }
  return groups;
}

// Module paths of BatchNorm/LayerNorm/GroupNorm/InstanceNorm submodules of a TorchScript module
// (found by type name), for DecayExclusion::module_prefixes.
std::vector<std::string> norm_module_prefixes(const torch::jit::Module& module);

}  // namespace attune::optim

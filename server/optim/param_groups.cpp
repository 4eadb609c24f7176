#include "optim/param_groups.h"

#include <algorithm>

namespace attune::optim {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::vector<NamedParameter> named_parameters(const torch::nn::Module& module) {
  std::vector<NamedParameter> out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    if (item.value().requires_grad()) out.push_back({item.key(), item.value()});
  }
  return out;
}

std::vector<NamedParameter> named_parameters(const torch::jit::Module& module) {
  std::vector<NamedParameter> out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    if (item.value.requires_grad()) out.push_back({item.name, item.value});
  }
  return out;
}

bool excluded_from_decay(const NamedParameter& param, const DecayExclusion& rule) {
  if (!rule.enabled) return false;
  if (rule.exclude_1d && param.value.dim() <= 1) return true;
  const std::string name = lower(param.name);
  for (const auto& suffix : rule.suffixes) {
    if (ends_with(name, lower(suffix))) return true;
  }
  for (const auto& part : rule.substrings) {
    if (name.find(lower(part)) != std::string::npos) return true;
  }
  for (const auto& prefix : rule.module_prefixes) {
    if (param.name.compare(0, prefix.size() + 1, prefix + ".") == 0) return true;
  }
  return false;
}

DecaySplit split_by_weight_decay(const std::vector<NamedParameter>& params,
                                 const DecayExclusion& rule) {
  DecaySplit split;
  for (const auto& p : params) {
    (excluded_from_decay(p, rule) ? split.no_decay : split.decay).push_back(p);
  }
  return split;
}

std::vector<torch::Tensor> tensors_of(const std::vector<NamedParameter>& params) {
  std::vector<torch::Tensor> out;
  out.reserve(params.size());
  for (const auto& p : params) out.push_back(p.value);
  return out;
}

std::vector<std::string> norm_module_prefixes(const torch::jit::Module& module) {
  std::vector<std::string> out;
  for (const auto& item : module.named_modules()) {
    const auto type = item.value.type()->name();
    if (!type || item.name.empty()) continue;
    const std::string qualified = type->qualifiedName();
    for (const char* kind : {"BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm"}) {
      if (qualified.find(kind) != std::string::npos) {
        out.push_back(item.name);
        break;
      }
    }
  }
  return out;
}

}  // namespace attune::optim

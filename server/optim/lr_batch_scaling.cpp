#include "optim/lr_batch_scaling.h"

#include <algorithm>
#include <cmath>

#include "optim/options_check.h"

namespace attune::optim {

double batch_scaling_exponent(const std::string& optimizer_name) {
  return optimizer_name == "sgd" ? 1.0 : 0.5;
}

void validate(const LrBatchScaling& rule) {
  if (!rule.enabled) return;
  require_non_negative("lr_batch_scaling.kappa", rule.kappa);
  if (rule.reference_batch_size <= 0) {
    throw_invalid("lr_batch_scaling.reference_batch_size", "an integer > 0",
                  std::to_string(rule.reference_batch_size));
  }
  if (rule.max_batch_size < 0) {
    throw_invalid("lr_batch_scaling.max_batch_size", "an integer >= 0 (0 = no clamp)",
                  std::to_string(rule.max_batch_size));
  }
}

double lr_batch_factor(const LrBatchScaling& rule, int64_t batch_size) {
  if (!rule.enabled) return 1.0;
  if (batch_size <= 0) throw_invalid("batch_size", "an integer > 0", std::to_string(batch_size));
  const int64_t b = rule.max_batch_size > 0 ? std::min(batch_size, rule.max_batch_size) : batch_size;
  return std::pow(static_cast<double>(b) / static_cast<double>(rule.reference_batch_size), rule.kappa);
}

LrBatchScaler::LrBatchScaler(LrBatchScaling rule, std::vector<double> reference_lrs)
    : rule_(rule), reference_lrs_(std::move(reference_lrs)) {
  validate(rule_);
}

std::vector<double> LrBatchScaler::scaled_lrs(int64_t batch_size) const {
  const double f = lr_batch_factor(rule_, batch_size);
  std::vector<double> out;
  for (double lr : reference_lrs_) out.push_back(lr * f);
  return out;
}

void LrBatchScaler::apply(int64_t batch_size, torch::optim::Optimizer& optimizer) const {
  const auto lrs = scaled_lrs(batch_size);
  auto& groups = optimizer.param_groups();
  if (lrs.size() != groups.size()) {
    throw_invalid("reference_lrs", std::to_string(groups.size()) + " values (one per param group)",
                  std::to_string(lrs.size()) + " values");
  }
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(lrs[i]);
}

void LrBatchScaler::apply(int64_t batch_size, ResumableLRScheduler& scheduler) const {
  scheduler.set_base_lrs(scaled_lrs(batch_size));
}

}  // namespace attune::optim

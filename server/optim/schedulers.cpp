#include "optim/schedulers.h"

#include <cmath>

#include "optim/options_check.h"

namespace attune::optim {
namespace {

void check_warmup_total(int64_t warmup_steps, int64_t total_steps, double min_lr_ratio) {
  require_non_negative("warmup_steps", static_cast<double>(warmup_steps));
  if (total_steps <= warmup_steps) {
    throw_invalid("total_steps", "a value > warmup_steps (" + std::to_string(warmup_steps) + ")",
                  std::to_string(total_steps));
  }
  if (!(min_lr_ratio >= 0.0 && min_lr_ratio <= 1.0)) {
    throw_invalid("min_lr_ratio", "a value in [0, 1]", format_value(min_lr_ratio));
  }
}

double warmup_factor(int64_t step, int64_t warmup_steps) {
  return static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
}

// Fraction of the decay phase done at `step`, clamped to [0, 1].
double decay_progress(int64_t step, int64_t warmup_steps, int64_t total_steps) {
  const double done = static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
  return std::min(1.0, std::max(0.0, done));
}

}  // namespace

ResumableLRScheduler::ResumableLRScheduler(torch::optim::Optimizer& optimizer,
                                           std::vector<double> base_lrs)
    : LRScheduler(optimizer), optimizer_(optimizer), base_lrs_(std::move(base_lrs)) {
  if (base_lrs_.empty()) {
    for (const auto& group : optimizer_.param_groups()) base_lrs_.push_back(group.options().get_lr());
  }
  if (base_lrs_.size() != optimizer_.param_groups().size()) {
    throw_invalid("base_lrs", std::to_string(optimizer_.param_groups().size()) + " values (one per param group)",
                  std::to_string(base_lrs_.size()) + " values");
  }
}

void ResumableLRScheduler::start(int64_t start_step) { set_step(start_step); }

void ResumableLRScheduler::set_step(int64_t step) {
  require_non_negative("start_step", static_cast<double>(step));
  step_count_ = static_cast<unsigned>(step);
  apply();
}

void ResumableLRScheduler::set_base_lrs(std::vector<double> base_lrs) {
  if (base_lrs.size() != base_lrs_.size()) {
    throw_invalid("base_lrs", std::to_string(base_lrs_.size()) + " values", std::to_string(base_lrs.size()) + " values");
  }
  base_lrs_ = std::move(base_lrs);
  apply();
}

// LRScheduler::step() sets these, then increments step_count_: they are for the next step.
std::vector<double> ResumableLRScheduler::get_lrs() {
  const double f = factor(static_cast<int64_t>(step_count_) + 1);
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * f);
  return lrs;
}

void ResumableLRScheduler::apply() {
  const double f = factor(current_step());
  auto& groups = optimizer_.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(base_lrs_[i] * f);
}

WarmupCosineLR::WarmupCosineLR(torch::optim::Optimizer& optimizer, int64_t warmup_steps,
                               int64_t total_steps, double min_lr_ratio, int64_t start_step,
                               std::vector<double> base_lrs)
    : ResumableLRScheduler(optimizer, std::move(base_lrs)),
      warmup_steps_(warmup_steps),
      total_steps_(total_steps),
      min_lr_ratio_(min_lr_ratio) {
  check_warmup_total(warmup_steps, total_steps, min_lr_ratio);
  start(start_step);
}

double WarmupCosineLR::factor(int64_t step) const {
  if (step < warmup_steps_) return warmup_factor(step, warmup_steps_);
  const double progress = decay_progress(step, warmup_steps_, total_steps_);
  return min_lr_ratio_ + (1.0 - min_lr_ratio_) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

WarmupLinearLR::WarmupLinearLR(torch::optim::Optimizer& optimizer, int64_t warmup_steps,
                               int64_t total_steps, double min_lr_ratio, int64_t start_step,
                               std::vector<double> base_lrs)
    : ResumableLRScheduler(optimizer, std::move(base_lrs)),
      warmup_steps_(warmup_steps),
      total_steps_(total_steps),
      min_lr_ratio_(min_lr_ratio) {
  check_warmup_total(warmup_steps, total_steps, min_lr_ratio);
  start(start_step);
}

double WarmupLinearLR::factor(int64_t step) const {
  if (step < warmup_steps_) return warmup_factor(step, warmup_steps_);
  const double progress = decay_progress(step, warmup_steps_, total_steps_);
  return 1.0 - (1.0 - min_lr_ratio_) * progress;
}

StepDecayLR::StepDecayLR(torch::optim::Optimizer& optimizer, int64_t step_size, double gamma,
                         int64_t start_step, std::vector<double> base_lrs)
    : ResumableLRScheduler(optimizer, std::move(base_lrs)), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) throw_invalid("step_size", "an integer > 0", std::to_string(step_size));
  require_positive("gamma", gamma);
  start(start_step);
}

double StepDecayLR::factor(int64_t step) const {
  return std::pow(gamma_, static_cast<double>(step / step_size_));
}

}  // namespace attune::optim

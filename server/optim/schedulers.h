// Learning-rate schedules as torch::optim::LRScheduler subclasses that can resume at any step.
// Usage per training step: optimizer.step(); scheduler.step(). The optimizer step with index t
// (0-based) runs at base_lr · factor(t); construction already applies factor(start_step).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace attune::optim {

class ResumableLRScheduler : public torch::optim::LRScheduler {
 public:
  // base_lrs: one per param group; empty reads the optimizer's current LRs. On resume, pass the
  // job's configured base LRs: a loaded checkpoint already holds scheduled (not base) LRs.
  ResumableLRScheduler(torch::optim::Optimizer& optimizer, std::vector<double> base_lrs);

  virtual double factor(int64_t step) const = 0;

  // Steps taken so far, i.e. the index of the next optimizer step.
  int64_t current_step() const { return static_cast<int64_t>(step_count_); }
  // Jumps to `step` and applies its LRs (resume from a checkpoint at step k).
  void set_step(int64_t step);

  const std::vector<double>& base_lrs() const { return base_lrs_; }
  // Replaces the base LRs (e.g. LR–batch scaling) and applies them at the current step.
  void set_base_lrs(std::vector<double> base_lrs);

 protected:
  std::vector<double> get_lrs() override;
  // Derived constructors call this last (factor() is virtual).
  void start(int64_t start_step);

 private:
  void apply();
  torch::optim::Optimizer& optimizer_;
  std::vector<double> base_lrs_;
};

// Linear warm-up over `warmup_steps` (step t < W runs at (t+1)/W), then half a cosine from 1 down
// to min_lr_ratio at `total_steps`, constant afterwards.
class WarmupCosineLR : public ResumableLRScheduler {
 public:
  WarmupCosineLR(torch::optim::Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps,
                 double min_lr_ratio = 0.0, int64_t start_step = 0, std::vector<double> base_lrs = {});
  double factor(int64_t step) const override;

 private:
  int64_t warmup_steps_, total_steps_;
  double min_lr_ratio_;
};

// Linear warm-up as above, then a straight line from 1 to min_lr_ratio at `total_steps`.
class WarmupLinearLR : public ResumableLRScheduler {
 public:
  WarmupLinearLR(torch::optim::Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps,
                 double min_lr_ratio = 0.0, int64_t start_step = 0, std::vector<double> base_lrs = {});
  double factor(int64_t step) const override;

 private:
  int64_t warmup_steps_, total_steps_;
  double min_lr_ratio_;
};

// gamma^⌊t / step_size⌋ (torch StepLR, but resumable).
class StepDecayLR : public ResumableLRScheduler {
 public:
  StepDecayLR(torch::optim::Optimizer& optimizer, int64_t step_size, double gamma = 0.1,
              int64_t start_step = 0, std::vector<double> base_lrs = {});
  double factor(int64_t step) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

}  // namespace attune::optim

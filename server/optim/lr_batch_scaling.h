// LR as a function of batch size (Granziol, Zohren, Roberts, JMLR 2022; spec §5):
// η(B) = η_ref·(min(B, B_clamp)/B_ref)^κ, κ = 1 for SGD, ½ for adaptive methods. Off by default:
// the official AdAdaGrad loop does not rescale, and its parity depends on that.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "optim/schedulers.h"

namespace attune::optim {

struct LrBatchScaling {
  bool enabled = false;
  double kappa = 0.5;
  int64_t reference_batch_size = 0;  // B_ref, the batch size the base LRs were tuned at
  // Batches beyond this scale as if they were this size (the rule only holds while batch noise
  // dominates). 0: no clamp.
  int64_t max_batch_size = 0;
};

// κ for an optimizer name from the factory: 1 for "sgd", ½ for the adaptive ones.
double batch_scaling_exponent(const std::string& optimizer_name);

// Throws std::invalid_argument naming the offending field.
void validate(const LrBatchScaling& rule);

// (min(B, clamp)/B_ref)^κ in double; 1 when disabled.
double lr_batch_factor(const LrBatchScaling& rule, int64_t batch_size);

// Keeps the reference LRs (one per param group) and rescales them when the batch size changes.
class LrBatchScaler {
 public:
  LrBatchScaler(LrBatchScaling rule, std::vector<double> reference_lrs);
  // Sets every group's LR to η_ref·factor (no scheduler).
  void apply(int64_t batch_size, torch::optim::Optimizer& optimizer) const;
  // Rescales the schedule's base LRs, so peak, floor and warm-up targets all follow.
  void apply(int64_t batch_size, ResumableLRScheduler& scheduler) const;
  std::vector<double> scaled_lrs(int64_t batch_size) const;

 private:
  LrBatchScaling rule_;
  std::vector<double> reference_lrs_;
};

}  // namespace attune::optim

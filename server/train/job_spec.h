// What a training job does, independent of the wire format (rpc/ translates the proto).
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "core/architectures.h"
#include "optim/adadagrad/batch_policy.h"
#include "optim/factory.h"

namespace attune::train {

enum class LossKind { kAuto = 0, kCrossEntropy = 1, kMse = 2, kL1 = 3 };
enum class ScheduleKind { kConstant = 0, kWarmupCosine = 1, kWarmupLinear = 2, kStep = 3 };

struct JobSpec {
  std::string model_name;  // source model (empty when `architecture` is set)
  int64_t model_version = 0;
  std::optional<ArchitectureSpec> architecture;
  std::string dataset;
  double validation_split = 0;
  std::string validation_dataset;
  LossKind loss = LossKind::kAuto;
  optim::OptimizerConfig optimizer;
  ScheduleKind schedule = ScheduleKind::kConstant;
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0;
  int64_t step_size = 0;
  double gamma = 0.1;
  int64_t batch_size = 64;
  bool adadagrad = false;
  optim::adadagrad::AdAdaGradOptions adadagrad_options;
  bool microbatch_estimate = false;
  int64_t micro_batch_size = 0;
  bool scale_lr = false;
  int64_t scale_lr_max_batch_size = 0;
  int64_t epochs = 1;
  int64_t max_steps = 0;
  double clip_grad_norm = 0;
  int64_t patience = 0;
  double min_delta = 0;
  int64_t eval_every_steps = 0;
  int64_t checkpoint_every_steps = 50;
  int64_t seed = 0;
  bool deterministic = false;
  std::string publish_name;
  int64_t world_size = 1;
};

// Field-level checks that need no server state; throws attune::Error(kInvalidArgument) with
// "<field>: expected ..., received ..." messages.
void validate(const JobSpec& spec);

nlohmann::json to_json(const JobSpec& spec);
JobSpec spec_from_json(const nlohmann::json& j);

std::string loss_name(LossKind k);

}  // namespace attune::train

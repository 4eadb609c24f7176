#include "train/trainer.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/model_inspect.h"
#include "dist/batch_statistics.h"
#include "dist/grad_reducer.h"
#include "dist/process_group.h"
#include "optim/clip.h"
#include "optim/factory.h"
#include "optim/lr_batch_scaling.h"
#include "optim/schedulers.h"
#include "train/checkpoint.h"
#include "train/loss.h"

namespace attune::train {
namespace {

using Clock = std::chrono::steady_clock;
namespace ada = optim::adadagrad;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Shuffled per epoch from (seed, epoch), so a resumed job replays the same order; the
// deterministic mode does not shuffle at all.
torch::Tensor epoch_order(const JobSpec& s, int64_t n, int64_t epoch) {
  if (s.deterministic) return torch::arange(n, torch::kInt64);
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(s.seed) * 1000003ull +
                                            static_cast<uint64_t>(epoch));
  return torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64));
}

// Steps the run is planned for at the initial batch size (the schedule's horizon); it does not
// change on resume or when AdAdaGrad grows the batch.
int64_t planned_steps(const JobSpec& s, int64_t n) {
  const int64_t per_epoch = (n + s.batch_size - 1) / s.batch_size;
  int64_t total = s.epochs > 0 ? s.epochs * per_epoch : s.max_steps;
  if (s.max_steps > 0) total = std::min(total, s.max_steps);
  return std::max<int64_t>(total, 1);
}

// The step at which the job will end at the current batch size (epochs end with a partial batch).
int64_t remaining_steps(const JobSpec& s, const CheckpointState& st, int64_t n) {
  int64_t est = st.step;
  if (s.epochs > 0 && st.epoch < s.epochs) {
    const int64_t b = st.batch_size;
    est += (n - st.position + b - 1) / b + (s.epochs - st.epoch - 1) * ((n + b - 1) / b);
  }
  if (s.max_steps > 0) est = s.epochs > 0 ? std::min(est, s.max_steps) : s.max_steps;
  return est;
}

std::unique_ptr<optim::ResumableLRScheduler> make_schedule(const JobSpec& s,
                                                           torch::optim::Optimizer& opt,
                                                           int64_t total, int64_t start,
                                                           std::vector<double> base) {
  switch (s.schedule) {
    case ScheduleKind::kWarmupCosine:
      return std::make_unique<optim::WarmupCosineLR>(opt, s.warmup_steps, total, s.min_lr_ratio, start, base);
    case ScheduleKind::kWarmupLinear:
      return std::make_unique<optim::WarmupLinearLR>(opt, s.warmup_steps, total, s.min_lr_ratio, start, base);
    case ScheduleKind::kStep:
      return std::make_unique<optim::StepDecayLR>(opt, s.step_size, s.gamma, start, base);
    case ScheduleKind::kConstant:
      break;
  }
  return nullptr;
}

// Rank r's rows of a global batch of `take`: a contiguous slice, sizes differing by at most one.
std::pair<int64_t, int64_t> shard(int64_t take, int rank, int world) {
  return {take * rank / world, take * (rank + 1) / world};
}

// Each rank's generator is seeded from (seed, step, rank) at every step of a distributed job:
// dropout masks differ across ranks, and a resumed job replays them exactly.
uint64_t rank_step_seed(int64_t seed, int64_t step, int rank) {
  uint64_t h = static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ull;
  h ^= static_cast<uint64_t>(step) + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
  h ^= static_cast<uint64_t>(rank) + 0x85EBCA77C2B2AE63ull + (h << 6) + (h >> 2);
  return h;
}

// Control values summed with the gradients each step of a distributed job.
enum Control : int64_t { kLossSum = 0, kCancel, kLeadInterrupt, kWorkerInterrupt, kControlSize };

}  // namespace

std::string stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::kCompleted: return "completed";
    case StopReason::kMaxSteps: return "max_steps";
    case StopReason::kEarlyStopping: return "early_stopping";
    case StopReason::kCancelled: return "cancelled";
    case StopReason::kInterrupted: return "interrupted";
    case StopReason::kRankShutdown: return "rank_shutdown";
  }
  return "unknown";
}

TrainOutcome run_training(TrainInputs& in) {
  const JobSpec& s = in.spec;
  const int64_t n = in.train_end;
  if (n <= 0) throw FailedPrecondition("dataset '" + s.dataset + "' has no training rows after the validation split");
  const bool distributed = in.distributed && in.distributed->world_size > 1;
  const int rank = distributed ? in.distributed->rank : 0;
  const int world = distributed ? in.distributed->world_size : 1;
  const bool lead = rank == 0;  // validates, checkpoints and reports

  TrainOutcome outcome;
  CheckpointState st;
  st.batch_size = s.batch_size;
  torch::jit::Module model;
  auto ckpt = read_checkpoint(in.job_dir);
  outcome.resumed = ckpt.has_value();
  if (ckpt) {
    model = ckpt->model;
    st = ckpt->state;
    restore_generator_state(st.rng_state);
  } else {
    if (!lead) throw Internal("rank " + std::to_string(rank) + " has no checkpoint to start from");
    model = in.initial_model;
    torch::manual_seed(static_cast<uint64_t>(s.seed));
  }
  model.train();

  const auto params = optim::named_parameters(model);
  if (params.empty()) throw FailedPrecondition("model has no trainable parameters (requires_grad is off everywhere)");
  auto optimizer = optim::make_optimizer(s.optimizer, params);
  std::vector<double> base_lrs;
  for (auto& g : optimizer->param_groups()) base_lrs.push_back(g.options().get_lr());
  if (ckpt) load_optimizer(*optimizer, ckpt->optimizer_file);

  auto scheduler = make_schedule(s, *optimizer, planned_steps(s, n), st.step, base_lrs);
  std::optional<optim::LrBatchScaler> scaler;
  if (s.scale_lr) {
    optim::LrBatchScaling rule;
    rule.enabled = true;
    rule.kappa = optim::batch_scaling_exponent(s.optimizer.name);
    rule.reference_batch_size = s.batch_size;
    rule.max_batch_size = s.scale_lr_max_batch_size;
    scaler.emplace(rule, base_lrs);
    if (scheduler) scaler->apply(st.batch_size, *scheduler);
    else scaler->apply(st.batch_size, *optimizer);
  }
  std::optional<ada::AdAdaGradPolicy> policy;
  if (s.adadagrad) {
    auto options = s.adadagrad_options;
    if (options.max_batch_size <= 0) options.max_batch_size = n;
    policy.emplace(options);
  }
  const auto param_tensors = optim::tensors_of(params);
  const bool has_validation = in.validation && in.val_end > in.val_begin;
  // Whether rank 0 validates: the other ranks take part in its early-stopping decision.
  const bool validates = distributed && !lead ? in.distributed->has_validation : has_validation;

  Progress progress;
  progress.world_size = world;
  const auto run_start = Clock::now();
  const double seconds_before = st.train_seconds;
  const int64_t samples_before = st.samples;
  auto fill = [&] {
    progress.step = st.step;
    progress.total_steps = remaining_steps(s, st, n);
    progress.epoch = st.epoch;
    progress.samples = st.samples;
    progress.loss = st.loss;
    progress.validation_loss = st.validation_loss;
    progress.validation_accuracy = st.validation_accuracy;
    progress.learning_rate = optimizer->param_groups()[0].options().get_lr();
    progress.batch_size = st.batch_size;
    const double run_seconds = seconds_since(run_start);
    progress.samples_per_second = run_seconds > 0 ? (st.samples - samples_before) / run_seconds : 0;
    const double samples_total = s.epochs > 0 ? static_cast<double>(s.epochs * n)
                                              : static_cast<double>(s.max_steps * st.batch_size);
    progress.eta_seconds = progress.samples_per_second > 0
                               ? std::max(0.0, samples_total - st.samples) / progress.samples_per_second
                               : 0;
  };
  int64_t checkpoint_step = ckpt ? st.step : -1;
  auto checkpoint = [&] {
    if (!lead) return;  // rank 0 owns the job's checkpoints
    const auto t0 = Clock::now();
    st.rng_state = generator_state_hex();
    st.train_seconds = seconds_before + seconds_since(run_start);
    write_checkpoint(in.job_dir, model, *optimizer, st);
    checkpoint_step = st.step;
    progress.checkpoint_step = st.step;
    progress.checkpoint_seconds = seconds_since(t0);
    fill();
    in.emit(EventKind::kCheckpoint, progress, "checkpoint at step " + std::to_string(st.step));
  };
  auto validate_now = [&] {
    const auto e = evaluate(model, *in.validation, in.val_begin, in.val_end, in.loss, in.input_dtype);
    st.validation_loss = e.loss;
    st.validation_accuracy = e.accuracy;
    if (e.loss < st.best_validation_loss - s.min_delta) {
      st.best_validation_loss = e.loss;
      st.evaluations_without_improvement = 0;
    } else {
      ++st.evaluations_without_improvement;
    }
    fill();
    in.emit(EventKind::kValidation, progress, "");
  };

  // A step-0 checkpoint means resuming never depends on the source model still being hosted.
  if (!ckpt) checkpoint();

  std::unique_ptr<dist::Group> group;
  std::optional<dist::GradientReducer> reducer;
  // A collective failed: a rank left or stopped answering. The job fails with what is known.
  auto collective_failed = [&](const dist::CollectiveError& e) -> Error {
    std::string what = "distributed training (rank " + std::to_string(rank) + " of " + std::to_string(world) +
                       ") failed at step " + std::to_string(st.step + 1) + ": " + e.what();
    if (in.distributed->explain) what = in.distributed->explain(what);
    if (checkpoint_step >= 0) what += "; the last checkpoint is at step " + std::to_string(checkpoint_step);
    return Error(Code::kUnavailable, what);
  };
  if (distributed) {
    try {
      group = in.distributed->connect(st.step);
    } catch (const dist::JoinAborted&) {
      fill();
      outcome.reason = in.cancel && in.cancel->load() ? StopReason::kCancelled : StopReason::kInterrupted;
      outcome.model = model;
      outcome.progress = progress;
      return outcome;
    } catch (const dist::CollectiveError& e) {
      std::string what = e.what();
      if (in.distributed->explain) what = in.distributed->explain(what);
      throw Error(Code::kUnavailable, "distributed training (world size " + std::to_string(world) +
                                          ") could not start: " + what);
    }
    reducer.emplace(param_tensors, in.distributed->bucket_bytes);
  }
  // Stop requests travel with the gradients, so every rank stops after the same step.
  bool stop_cancel = false, stop_lead = false, stop_worker = false;

  torch::Tensor order;
  int64_t order_epoch = -1;
  bool validated_at_last_step = false;
  StopReason reason = StopReason::kCompleted;
  for (;;) {
    if (s.max_steps > 0 && st.step >= s.max_steps) {
      reason = StopReason::kMaxSteps;
      break;
    }
    if (s.epochs > 0 && st.epoch >= s.epochs) break;
    if (distributed ? stop_cancel : in.cancel && in.cancel->load()) {
      checkpoint();
      reason = StopReason::kCancelled;
      break;
    }
    if (distributed ? stop_lead : in.interrupt && in.interrupt->load()) {
      checkpoint();
      reason = StopReason::kInterrupted;
      break;
    }
    if (stop_worker) {
      checkpoint();
      reason = StopReason::kRankShutdown;
      break;
    }
    if (order_epoch != st.epoch) {
      order = epoch_order(s, n, st.epoch);
      order_epoch = st.epoch;
    }
    const auto step_start = Clock::now();
    const int64_t take = std::min(st.batch_size, n - st.position);
    const auto index = order.narrow(0, st.position, take);
    // This rank's slice of the global batch (all of it in one process).
    const auto [lo, hi] = shard(take, rank, world);
    const int64_t local = hi - lo;
    const auto local_index = index.narrow(0, lo, local);
    torch::Tensor x, y;
    if (local > 0) {
      x = batch_features(*in.train, local_index, in.input_dtype);
      y = batch_labels(*in.train, local_index);
    }
    if (distributed) torch::manual_seed(rank_step_seed(s.seed, st.step, rank));

    // AdAdaGrad tests at the pre-step parameters on the batch about to be used (official
    // main.py order: test, forward/backward, step, then the new batch size).
    std::optional<ada::BatchDecision> decision;
    if (policy && take > 1 && policy->should_test(st.step, st.batch_size)) {
      const bool projections = ada::needs_projections(policy->options().test);
      try {
        if (s.microbatch_estimate) {
          if (take % s.micro_batch_size == 0 && take / s.micro_batch_size >= 2) {
            if (distributed) {
              // Micro-batches are split over ranks by index; every rank has every row.
              const auto xa = batch_features(*in.train, index, in.input_dtype);
              const auto ya = batch_labels(*in.train, index);
              decision = policy->decide(dist::microbatch_batch_statistics(
                  *group, param_tensors, take, s.micro_batch_size, [&](int64_t b, int64_t e) {
                    return compute_loss(in.loss, tensors_of(model.forward({xa.slice(0, b, e)}))[0], ya.slice(0, b, e));
                  }, projections));
            } else {
              decision = policy->evaluate_microbatch(
                  param_tensors, take, s.micro_batch_size, [&](int64_t b, int64_t e) {
                    return compute_loss(in.loss, tensors_of(model.forward({x.slice(0, b, e)}))[0], y.slice(0, b, e));
                  });
            }
          }
        } else {
          const ada::SampleLoss sample_loss = [&](int64_t i) {
            return compute_loss(in.loss, tensors_of(model.forward({x.narrow(0, i, 1)}))[0], y.narrow(0, i, 1));
          };
          if (distributed)
            decision = policy->decide(dist::exact_batch_statistics(*group, param_tensors, local, take, sample_loss, projections));
          else
            decision = policy->evaluate(param_tensors, take, sample_loss);
        }
      } catch (const Error&) {
        throw;
      } catch (const dist::CollectiveError& e) {
        throw collective_failed(e);
      } catch (const std::exception& e) {
        throw FailedPrecondition("AdAdaGrad per-sample gradients failed (" + torch_error_message(e) +
                                 "); models that cannot run on one sample need microbatch_estimate");
      }
    }

    optimizer->zero_grad();
    auto forward = [&] {
      try {
        return tensors_of(model.forward({x}))[0];
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {
        throw InvalidArgument("the model cannot run on dataset '" + s.dataset + "' (features " +
                              shape_str(x.sizes()) + "): " + torch_error_message(e));
      }
    };
    auto non_finite = [&](double v) {
      return FailedPrecondition("loss became " + std::string(std::isnan(v) ? "NaN" : "infinite") +
                                " at step " + std::to_string(st.step + 1) + " (learning rate " +
                                std::to_string(optimizer->param_groups()[0].options().get_lr()) +
                                "); lower the learning rate or set clip_grad_norm");
    };
    double loss_value = 0;
    if (!distributed) {
      const auto loss = compute_loss(in.loss, forward(), y);
      loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) throw non_finite(loss_value);
      loss.backward();
    } else {
      auto control = torch::zeros({kControlSize}, torch::kFloat64);
      auto* c = control.data_ptr<double>();
      if (local > 0) {
        const auto loss = compute_loss(in.loss, forward(), y);
        c[kLossSum] = loss.item<double>() * static_cast<double>(local);
        // Seeded with this rank's share of the global batch: the sum over ranks of these
        // gradients is the gradient of the global-batch mean loss.
        loss.backward(torch::full({}, static_cast<double>(local) / static_cast<double>(take), loss.options()));
      }
      if (lead) {
        c[kCancel] = in.cancel && in.cancel->load() ? 1 : 0;
        c[kLeadInterrupt] = in.interrupt && in.interrupt->load() ? 1 : 0;
      } else {
        c[kWorkerInterrupt] = in.interrupt && in.interrupt->load() ? 1 : 0;
      }
      const auto t0 = Clock::now();
      try {
        reducer->reduce(*group, control);
      } catch (const dist::CollectiveError& e) {
        throw collective_failed(e);
      }
      progress.allreduce_seconds = seconds_since(t0);
      loss_value = c[kLossSum] / static_cast<double>(take);
      stop_cancel = c[kCancel] > 0;
      stop_lead = c[kLeadInterrupt] > 0;
      stop_worker = c[kWorkerInterrupt] > 0;
      if (!std::isfinite(loss_value)) throw non_finite(loss_value);
    }
    if (s.clip_grad_norm > 0) optim::clip_grad_norm(*optimizer, s.clip_grad_norm);
    optimizer->step();
    if (scheduler) scheduler->step();

    ++st.step;
    st.position += take;
    st.samples += take;
    st.loss = loss_value;
    bool epoch_ended = false;
    if (st.position >= n) {
      ++st.epoch;
      st.position = 0;
      epoch_ended = true;
    }
    progress.step_seconds = seconds_since(step_start);

    if (decision) {
      const int64_t next = std::max(decision->next_batch_size, st.batch_size);
      if (next != st.batch_size) {
        st.batch_size = next;
        if (scaler) {
          if (scheduler) scaler->apply(next, *scheduler);
          else scaler->apply(next, *optimizer);
        }
        fill();
        in.emit(EventKind::kBatchSize, progress, "batch size -> " + std::to_string(next));
      }
    }
    validated_at_last_step = false;
    const bool eval_due = validates && (s.eval_every_steps > 0 ? st.step % s.eval_every_steps == 0 : epoch_ended);
    if (eval_due) {
      bool stop = false;
      if (lead) {
        validate_now();
        stop = s.patience > 0 && st.evaluations_without_improvement >= s.patience;
      }
      if (distributed) {
        auto flag = torch::full({1}, stop ? 1.0 : 0.0, torch::kFloat64);
        try {
          group->broadcast(flag, 0, "early-stopping broadcast");
        } catch (const dist::CollectiveError& e) {
          throw collective_failed(e);
        }
        stop = flag.item<double>() > 0;
      }
      validated_at_last_step = true;
      if (stop) {
        checkpoint();
        reason = StopReason::kEarlyStopping;
        break;
      }
    }
    fill();
    in.emit(EventKind::kProgress, progress, "");
    if (st.step % s.checkpoint_every_steps == 0) checkpoint();
  }
  const bool finished = reason == StopReason::kCompleted || reason == StopReason::kMaxSteps;
  if (finished && distributed) {
    // The replicas must end bit-identical; a difference means nondeterminism somewhere.
    std::vector<int64_t> prints;
    try {
      prints = group->allgather(dist::fingerprint(param_tensors), "parameter fingerprint all-gather");
    } catch (const dist::CollectiveError& e) {
      throw collective_failed(e);
    }
    for (int r = 1; r < world; ++r)
      if (prints[r] != prints[0])
        throw Internal("distributed training: rank " + std::to_string(r) + "'s parameters differ from rank 0's after step " +
                       std::to_string(st.step) + " (replicas diverged)");
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(prints[0]));
    fill();
    in.emit(EventKind::kState, progress,
            "all " + std::to_string(world) + " ranks hold identical parameters (fingerprint " + hex + ")");
  }
  if (finished && lead && has_validation && !validated_at_last_step) validate_now();
  fill();
  outcome.reason = reason;
  outcome.model = model;
  outcome.progress = progress;
  return outcome;
}

}  // namespace attune::train

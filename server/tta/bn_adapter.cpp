// BatchNorm-based methods: BN-adapt ("norm"), Tent, ETA and EATA (tta spec §2-§3).
#include <cmath>
#include <optional>

#include "tta/adapter_internal.h"
#include "tta/bn_model.h"
#include "tta/entropy_min.h"
#include "tta/errors.h"

namespace attune::tta::detail {
namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params,
                                                        const OptimizerOptions& o) {
  if (o.kind == OptimizerOptions::Kind::kAdam) {
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(o.lr)
                                                            .betas({o.beta1, o.beta2})
                                                            .eps(o.eps)
                                                            .weight_decay(o.weight_decay)
                                                            .amsgrad(o.amsgrad));
  }
  return std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(o.lr)
                                                         .momentum(o.momentum)
                                                         .dampening(o.dampening)
                                                         .weight_decay(o.weight_decay)
                                                         .nesterov(o.nesterov));
}

class BnAdapter final : public Adapter {
 public:
  BnAdapter(const torch::jit::Module& source, const Options& options)
      : Adapter(options),
        model_(source, method_name(options.method), adapts_parameters(options.method)),
        dtype_(model_dtype(source)),
        theta0_(model_.source_params()) {
    if (adapts_parameters(options.method)) {
      optimizer_ = make_optimizer(model_.params(), options.optimizer);
    }
  }

  AdaptResult adapt(const torch::Tensor& x) override {
    check_batch(x, dtype_, 2, options_.method);
    if (options_.method == Method::kEata && options_.eata.fisher_alpha != 0 && fisher_.empty()) {
      throw FailedPrecondition(
          "eata: the Fisher regulariser needs Fisher information from clean in-distribution "
          "samples; compute it first (or use method 'eta', or fisher_alpha 0)");
    }
    // Official episodic mode reloads model and optimiser only; m carries over.
    if (options_.episodic) restore_source();
    AdaptResult r;
    r.stats.samples = x.size(0);
    if (options_.method == Method::kNorm) {
      torch::NoGradGuard no_grad;
      r.logits = model_.forward(x);
      r.stats.mean_entropy = softmax_entropy(r.logits, &r.probs).mean().item<double>();
    } else {
      for (int64_t s = 0; s < options_.steps; ++s) accumulate(step(x), r);
    }
    record(r.stats);
    return r;
  }

  void reset() override {
    restore_source();
    moving_avg_ = torch::Tensor();
    ++stats_.resets;
  }

  const FisherInfo& compute_fisher(const std::vector<torch::Tensor>& batches) override {
    require_gradient_method("compute_fisher");
    if (batches.empty()) {
      throw InvalidBatch("fisher batches: expected at least one batch, received none");
    }
    for (size_t b = 0; b < batches.size(); ++b) {
      check_batch(batches[b], dtype_, 2, options_.method, "fisher batch " + std::to_string(b));
    }
    // Evaluated at θ0 on the source BatchNorm buffers; the session's state is put back even if
    // the model throws.
    struct Restore {
      BnModel& model;
      std::vector<torch::Tensor> state;
      ~Restore() {
        model.load_state(state);
        model.zero_grad();
      }
    } restore{model_, model_.save_state()};
    model_.restore_source();
    fisher_ = estimate_fisher(model_, batches);
    penalty_.emplace(fisher_);
    return fisher_;
  }

  void set_fisher(FisherInfo fisher) override {
    require_gradient_method("set_fisher");
    check_fisher_matches(fisher, model_);
    fisher_ = std::move(fisher);
    penalty_.emplace(fisher_);
  }

  const FisherInfo* fisher() const override { return fisher_.empty() ? nullptr : &fisher_; }

  SessionStats stats() const override {
    torch::NoGradGuard no_grad;
    SessionStats s = stats_;
    const auto& params = model_.params();
    double sq = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      sq += (params[i] - theta0_[i]).pow(2).sum().item<double>();
    }
    s.param_distance = std::sqrt(sq);
    if (penalty_) s.fisher_drift = penalty_->value(params, 1.0);
    if (moving_avg_.defined()) {
      s.moving_avg = moving_avg_.clone();
      s.moving_avg_entropy = -(moving_avg_ * moving_avg_.log()).nansum().item<double>();
    }
    return s;
  }

  std::vector<std::pair<std::string, torch::Tensor>> adapted_parameters() const override {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (size_t i = 0; i < model_.params().size(); ++i) {
      out.emplace_back(model_.param_names()[i], model_.params()[i].detach().clone());
    }
    return out;
  }

  torch::jit::Module export_module() const override { return model_.export_eval_copy(); }

 private:
  StepOutcome step(const torch::Tensor& x) {
    if (options_.method == Method::kTent) return tent_step(model_, *optimizer_, x);
    const bool eata = options_.method == Method::kEata && penalty_;
    const EataStepConfig config{options_.eata.e_margin_factor, options_.eata.d_margin,
                                eata ? &*penalty_ : nullptr, options_.eata.fisher_alpha};
    return eata_step(model_, *optimizer_, x, config, moving_avg_);
  }

  void accumulate(const StepOutcome& o, AdaptResult& r) {
    auto& s = r.stats;
    r.logits = o.logits;
    r.probs = o.probs;
    s.mean_entropy = o.entropy.mean().item<double>();
    s.reliable += o.reliable;
    s.used += o.used;
    s.filtered_entropy += o.entropy.size(0) - o.reliable;
    s.filtered_redundant += o.reliable - o.used;
    s.updated = s.updated || o.updated;
    s.loss = o.loss;
    s.fisher_penalty = o.fisher_penalty;
    s.mean_weight = o.mean_weight;
    if (o.updated) ++stats_.updates;
  }

  void record(const BatchStats& b) {
    ++stats_.batches;
    stats_.samples += b.samples;
    stats_.reliable += b.reliable;
    stats_.used += b.used;
    stats_.filtered_entropy += b.filtered_entropy;
    stats_.filtered_redundant += b.filtered_redundant;
  }

  void restore_source() {
    model_.restore_source();
    model_.zero_grad();
    if (optimizer_) optimizer_ = make_optimizer(model_.params(), options_.optimizer);
  }

  void require_gradient_method(const char* what) const {
    if (!adapts_parameters(options_.method)) {
      throw FailedPrecondition(std::string(what) + ": method '" +
                               std::string(method_name(options_.method)) +
                               "' has no Fisher information (only tent, eta and eata do)");
    }
  }

  BnModel model_;
  torch::ScalarType dtype_;
  std::vector<torch::Tensor> theta0_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  FisherInfo fisher_;
  std::optional<FisherPenalty> penalty_;  // built from fisher_
  torch::Tensor moving_avg_;
  SessionStats stats_;
};

}  // namespace

std::unique_ptr<Adapter> make_bn_adapter(const torch::jit::Module& source, const Options& options) {
  return std::make_unique<BnAdapter>(source, options);
}

}  // namespace attune::tta::detail

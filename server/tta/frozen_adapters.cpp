// Methods that never change the model: the source baseline and LAME (tta spec §1: eval mode,
// source BatchNorm statistics, no gradients).
#include <optional>

#include "tta/adapter_internal.h"
#include "tta/bn_model.h"
#include "tta/entropy_min.h"
#include "tta/errors.h"
#include "tta/lame.h"

namespace attune::tta::detail {
namespace {

class FrozenAdapter : public Adapter {
 public:
  FrozenAdapter(const torch::jit::Module& source, const Options& options)
      : Adapter(options), dtype_(model_dtype(source)) {
    torch::NoGradGuard no_grad;
    model_ = source.deepcopy();
    model_.eval();
  }

  void reset() override { ++stats_.resets; }

  SessionStats stats() const override { return stats_; }

  torch::jit::Module export_module() const override {
    throw FailedPrecondition("export: method '" + std::string(method_name(options_.method)) +
                             "' does not change the model; publish the source version instead");
  }

 protected:
  void count(const AdaptResult& r) {
    ++stats_.batches;
    stats_.samples += r.stats.samples;
  }

  torch::jit::Module model_;
  torch::ScalarType dtype_;
  SessionStats stats_;
};

class SourceAdapter final : public FrozenAdapter {
 public:
  using FrozenAdapter::FrozenAdapter;

  AdaptResult adapt(const torch::Tensor& x) override {
    check_batch(x, dtype_, 1, options_.method);
    torch::NoGradGuard no_grad;
    AdaptResult r;
    r.logits = call_logits(model_, x);
    r.probs = r.logits.softmax(1);
    r.stats.samples = x.size(0);
    r.stats.mean_entropy = softmax_entropy(r.logits).mean().item<double>();
    count(r);
    return r;
  }
};

// LAME needs the features f (input of the classifier) and the logits of the same batch. When
// the model exports `features`, its last direct child is tried as the classifier head on the
// first batch: if head(features(x)) reproduces forward(x), later batches take one backbone pass
// (features, then head); otherwise every batch runs features(x) and forward(x). Models without
// `features` use their logits as features (DESIGN.md).
class LameAdapter final : public FrozenAdapter {
 public:
  LameAdapter(const torch::jit::Module& source, const Options& options)
      : FrozenAdapter(source, options), features_(model_.find_method("features")) {
    if (features_) {
      const auto children = model_.named_children();
      for (const auto& child : children) head_ = child.value;
    }
    stats_.lame_inputs = features_ ? "features+forward" : "logits";
  }

  AdaptResult adapt(const torch::Tensor& x) override {
    check_batch(x, dtype_, 1, options_.method);
    torch::NoGradGuard no_grad;
    AdaptResult r;
    torch::Tensor feats;
    if (!features_) {
      r.logits = call_logits(model_, x);
      feats = r.logits;
    } else {
      feats = features(x);
      if (head_verified_) {
        r.logits = head_->forward({feats}).toTensor();
      } else {
        r.logits = call_logits(model_, x);
        if (!head_checked_) verify_head(feats, r.logits);
      }
    }
    auto solution = lame(r.logits.softmax(1), feats.flatten(1), options_.lame);
    r.probs = solution.Z.to(r.logits.scalar_type());
    r.stats.samples = x.size(0);
    r.stats.mean_entropy = softmax_entropy(r.logits).mean().item<double>();
    r.stats.lame_iterations = solution.iterations;
    r.stats.lame_converged = solution.converged;
    count(r);
    return r;
  }

 private:
  torch::Tensor features(const torch::Tensor& x) {
    const auto out = (*features_)({x});
    if (!out.isTensor() || out.toTensor().dim() < 2 || out.toTensor().size(0) != x.size(0)) {
      throw FailedPrecondition(
          "model: LAME needs features(x) to return a tensor [N, d, ...] for "
          "a batch of " +
          std::to_string(x.size(0)));
    }
    return out.toTensor();
  }

  void verify_head(const torch::Tensor& feats, const torch::Tensor& logits) {
    head_checked_ = true;
    if (!head_ || !head_->find_method("forward")) return;
    // Probing: a last child that is not the classifier may reject the features' shape, which
    // just means there is no single-pass path.
    try {
      const auto out = head_->forward({feats});
      head_verified_ = out.isTensor() && out.toTensor().sizes() == logits.sizes() &&
                       torch::allclose(out.toTensor(), logits, 1e-5, 1e-6);
    } catch (const c10::Error&) {
      head_verified_ = false;
    }
    if (head_verified_) stats_.lame_inputs = "features+head";
  }

  c10::optional<torch::jit::Method> features_;
  std::optional<torch::jit::Module> head_;
  bool head_checked_ = false;
  bool head_verified_ = false;
};

}  // namespace

std::unique_ptr<Adapter> make_frozen_adapter(const torch::jit::Module& source,
                                             const Options& options) {
  if (options.method == Method::kLame) return std::make_unique<LameAdapter>(source, options);
  return std::make_unique<SourceAdapter>(source, options);
}

}  // namespace attune::tta::detail

#include "dist/grad_reducer.h"

namespace attune::dist {

GradientReducer::GradientReducer(std::vector<torch::Tensor> params, int64_t bucket_bytes)
    : params_(std::move(params)) {
  // Reverse order: backward produces the last layers' gradients first (DDP's heuristic; here it
  // keeps a layer's weight and bias in one bucket).
  for (size_t k = params_.size(); k-- > 0;) {
    const auto& p = params_[k];
    Bucket* b = buckets_.empty() ? nullptr : &buckets_.back();
    const bool fits = b && b->flat.scalar_type() == p.scalar_type() &&
                      (b->flat.numel() + p.numel()) * static_cast<int64_t>(p.element_size()) <= bucket_bytes;
    if (!fits) {
      buckets_.push_back({{}, {}, torch::empty({0}, p.options().requires_grad(false))});
      b = &buckets_.back();
    }
    b->params.push_back(k);
    b->offsets.push_back(b->flat.numel());
    b->flat = torch::empty({b->flat.numel() + p.numel()}, b->flat.options());
    numel_ += p.numel();
  }
}

void GradientReducer::reduce(Group& group, torch::Tensor extra) {
  torch::NoGradGuard no_grad;
  auto defined = torch::zeros({static_cast<int64_t>(params_.size())}, torch::kFloat64);
  auto* d = defined.data_ptr<double>();
  std::vector<torch::Tensor> all;
  for (auto& b : buckets_) {
    for (size_t i = 0; i < b.params.size(); ++i) {
      const auto& p = params_[b.params[i]];
      auto slot = b.flat.narrow(0, b.offsets[i], p.numel());
      const auto& g = p.grad();
      if (g.defined()) {
        slot.copy_(g.reshape({-1}));
        d[b.params[i]] = 1;
      } else {
        slot.zero_();
      }
    }
    all.push_back(b.flat);
  }
  all.push_back(defined);
  if (extra.defined()) all.push_back(extra);
  group.allreduce_sum(all, "gradient all-reduce");
  for (auto& b : buckets_) {
    for (size_t i = 0; i < b.params.size(); ++i) {
      auto p = params_[b.params[i]];
      if (d[b.params[i]] == 0) continue;
      auto sum = b.flat.narrow(0, b.offsets[i], p.numel()).view(p.sizes());
      if (p.grad().defined()) p.mutable_grad().copy_(sum);
      else p.mutable_grad() = sum.clone();
    }
  }
}

}  // namespace attune::dist

// Bucketed gradient all-reduce for data-parallel training (the scheme of PyTorch's DDP Reducer,
// without autograd hooks): parameters are grouped, in reverse registration order, into
// contiguous buckets of one dtype of at most `bucket_bytes`; each step copies the gradients into
// the flat buckets, sums every bucket across ranks with one Gloo all-reduce (all in flight
// together) and copies the sums back. Gradients are pre-scaled by the caller (each rank's loss is
// seeded with its share of the global batch), so the sum is the global-batch mean.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "dist/process_group.h"

namespace attune::dist {

class GradientReducer {
 public:
  GradientReducer(std::vector<torch::Tensor> params, int64_t bucket_bytes);

  size_t buckets() const { return buckets_.size(); }
  int64_t numel() const { return numel_; }

  // Sums p.grad across ranks. A gradient undefined on this rank counts as zeros; it stays
  // undefined only if it is undefined on every rank (optimizers skip such parameters, as they
  // would in one process). `extra` (float64, may be undefined) is summed in the same round.
  void reduce(Group& group, torch::Tensor extra = {});

 private:
  struct Bucket {
    std::vector<size_t> params;
    std::vector<int64_t> offsets;
    torch::Tensor flat;
  };
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  int64_t numel_ = 0;
};

}  // namespace attune::dist

// Mergeable sufficient statistics of per-sample gradients for AdAdaGrad's batch-size tests
// (Lau, Liu, Kolar, arXiv:2402.11215; spec §4). Everything is per parameter tensor, as in the
// official tests.py, and in double.
//
// Two phases, so that workers can be combined exactly:
//  1. GradientMoments: count, mean ḡˡ and M2ˡ = Σᵢ‖gᵢˡ − ḡˡ‖² per tensor. Enough for the norm test.
//  2. ProjectionMoments: along fixed directions uˡ (the *merged* ḡˡ), count, mean and M2 of
//     aᵢˡ = ⟨gᵢˡ, uˡ⟩. They give the inner-product variance Var(aˡ) and, since
//     ‖(gᵢ − ḡ) − (aᵢ − ā)u/‖u‖²‖² = ‖gᵢ − ḡ‖² − (aᵢ − ā)²/‖u‖², the orthogonality variance
//     (M2ˡ − M2_aˡ/‖uˡ‖²)/(n − 1) without storing the orthogonal components.
// merge() combines partial statistics by the law of total variance (Chan et al.'s pairwise
// update). to_tensor() is the sum form [n, Σg, Σ‖g‖²] resp. [n, Σa, Σa²], so an elementwise
// all-reduce(SUM) over ranks equals merging them; from_tensor() converts back.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace attune::optim::adadagrad {

class GradientMoments {
 public:
  explicit GradientMoments(std::vector<int64_t> numels);

  // Adds k samples of tensor l: rows of `samples` [k, numelˡ] (any float dtype).
  void add(size_t tensor, const torch::Tensor& samples);
  // Adds k samples of tensor l given their mean [numelˡ] and Σᵢ‖gᵢ − mean‖² (closed forms).
  void add_block(size_t tensor, int64_t k, const torch::Tensor& block_mean, double block_m2);
  // One sample of every tensor.
  void add_sample(const std::vector<torch::Tensor>& grads);
  void merge(const GradientMoments& other);

  // Samples seen (equal for every tensor; throws otherwise).
  int64_t count() const;
  size_t num_tensors() const { return numels_.size(); }
  const std::vector<int64_t>& numels() const { return numels_; }
  const torch::Tensor& mean(size_t tensor) const { return mean_[tensor]; }
  std::vector<torch::Tensor> means() const { return mean_; }
  double m2(size_t tensor) const { return m2_[tensor]; }

  // S² = Σ_l Σ_coords unbiased sample variance (trace of the sample covariance).
  double sum_variance() const;
  // ‖ḡ‖² summed over tensors.
  double mean_norm_sq() const;

  torch::Tensor to_tensor() const;
  static GradientMoments from_tensor(const torch::Tensor& flat, std::vector<int64_t> numels);

 private:
  std::vector<int64_t> numels_;
  std::vector<int64_t> count_;
  std::vector<torch::Tensor> mean_;  // double [numelˡ]
  std::vector<double> m2_;
};

class ProjectionMoments {
 public:
  // directions[l] = uˡ, usually GradientMoments::means() after merging phase 1 everywhere.
  explicit ProjectionMoments(std::vector<torch::Tensor> directions);

  // Adds k projections aᵢˡ of tensor l.
  void add_projections(size_t tensor, const torch::Tensor& projections);
  // Projects k samples [k, numelˡ] of tensor l on uˡ and adds them.
  void add(size_t tensor, const torch::Tensor& samples);
  void add_sample(const std::vector<torch::Tensor>& grads);
  void merge(const ProjectionMoments& other);

  int64_t count() const;
  const torch::Tensor& direction(size_t tensor) const { return direction_[tensor]; }
  // Var_i⟨gᵢˡ, uˡ⟩ (unbiased).
  double variance(size_t tensor) const;
  double m2(size_t tensor) const { return m2_[tensor]; }

  torch::Tensor to_tensor() const;
  // Directions are not part of the flat form: every rank already holds the same ones.
  static ProjectionMoments from_tensor(const torch::Tensor& flat, std::vector<torch::Tensor> directions);

 private:
  std::vector<torch::Tensor> direction_;  // double, flattened
  std::vector<int64_t> count_;
  std::vector<double> mean_, m2_;
};

// The quantities the tests need (spec §4): S², ‖ḡ‖², and with projections Σ_l Var(aˡ) and
// Σ_l V_orthˡ. variance_scale multiplies every variance (m for the micro-batch estimator).
struct BatchStatistics {
  int64_t batch_size = 0;
  double sum_variance = 0;   // S²
  double grad_norm_sq = 0;   // ‖ḡ‖²
  bool has_projection = false;
  double ip_variance = 0;    // Σ_l Var_i⟨gᵢˡ, ḡˡ⟩
  double orth_variance = 0;  // Σ_l Σ_coords Var_i of gᵢˡ − (⟨gᵢˡ, ḡˡ⟩/‖ḡˡ‖²)ḡˡ
  bool approximate = false;  // micro-batch estimate, not per-sample
};

BatchStatistics summarize(const GradientMoments& moments, const ProjectionMoments* projections,
                          int64_t batch_size, double variance_scale = 1.0);

}  // namespace attune::optim::adadagrad

#include "optim/adadagrad/gradient_moments.h"

#include <cmath>
#include <numeric>

namespace attune::optim::adadagrad {
namespace {

// Chan et al.: merges (n_b, mean_b, m2_b) into (n_a, mean_a, m2_a).
void merge_vector(int64_t& n_a, torch::Tensor& mean_a, double& m2_a, int64_t n_b,
                  const torch::Tensor& mean_b, double m2_b) {
  if (n_b == 0) return;
  if (n_a == 0) {
    n_a = n_b;
    mean_a = mean_b.clone();
    m2_a = m2_b;
    return;
  }
  const double n = static_cast<double>(n_a + n_b);
  auto delta = mean_b - mean_a;
  const double between = delta.dot(delta).item<double>() * static_cast<double>(n_a) *
                         static_cast<double>(n_b) / n;
  mean_a = mean_a + delta * (static_cast<double>(n_b) / n);
  m2_a = m2_a + m2_b + between;
  n_a += n_b;
}

void merge_scalar(int64_t& n_a, double& mean_a, double& m2_a, int64_t n_b, double mean_b, double m2_b) {
  if (n_b == 0) return;
  const double n = static_cast<double>(n_a + n_b);
  const double delta = mean_b - mean_a;
  mean_a += delta * static_cast<double>(n_b) / n;
  m2_a += m2_b + delta * delta * static_cast<double>(n_a) * static_cast<double>(n_b) / n;
  n_a += n_b;
}

int64_t common_count(const std::vector<int64_t>& counts) {
  for (int64_t c : counts) {
    TORCH_CHECK(c == counts.front(), "AdAdaGrad statistics: tensors hold different sample counts (",
                c, " vs ", counts.front(), ")");
  }
  return counts.empty() ? 0 : counts.front();
}

torch::Tensor as_rows(const torch::Tensor& samples, int64_t numel) {
  auto rows = samples.to(torch::kDouble).reshape({-1, numel});
  return rows;
}

}  // namespace

GradientMoments::GradientMoments(std::vector<int64_t> numels)
    : numels_(std::move(numels)), count_(numels_.size(), 0), m2_(numels_.size(), 0.0) {
  for (int64_t n : numels_) mean_.push_back(torch::zeros({n}, torch::kDouble));
}

void GradientMoments::add(size_t tensor, const torch::Tensor& samples) {
  torch::NoGradGuard no_grad;
  auto rows = as_rows(samples, numels_.at(tensor));
  auto block_mean = rows.mean(0);
  const double block_m2 = (rows - block_mean).pow(2).sum().item<double>();
  add_block(tensor, rows.size(0), block_mean, block_m2);
}

void GradientMoments::add_block(size_t tensor, int64_t k, const torch::Tensor& block_mean,
                                double block_m2) {
  torch::NoGradGuard no_grad;
  merge_vector(count_.at(tensor), mean_[tensor], m2_[tensor], k,
               block_mean.to(torch::kDouble).reshape({-1}), block_m2);
}

void GradientMoments::add_sample(const std::vector<torch::Tensor>& grads) {
  TORCH_CHECK(grads.size() == numels_.size(), "AdAdaGrad: expected ", numels_.size(),
              " gradients, got ", grads.size());
  for (size_t l = 0; l < grads.size(); ++l) add(l, grads[l].reshape({1, -1}));
}

void GradientMoments::merge(const GradientMoments& other) {
  TORCH_CHECK(other.numels_ == numels_, "AdAdaGrad: merging statistics of different parameter shapes");
  for (size_t l = 0; l < numels_.size(); ++l) {
    merge_vector(count_[l], mean_[l], m2_[l], other.count_[l], other.mean_[l], other.m2_[l]);
  }
}

int64_t GradientMoments::count() const { return common_count(count_); }

double GradientMoments::sum_variance() const {
  const int64_t n = count();
  TORCH_CHECK(n >= 2, "AdAdaGrad: the sample variance needs at least 2 samples, got ", n);
  double total = 0;
  for (double m2 : m2_) total += m2;
  return total / static_cast<double>(n - 1);
}

double GradientMoments::mean_norm_sq() const {
  double total = 0;
  for (const auto& mean : mean_) total += mean.dot(mean).item<double>();
  return total;
}

torch::Tensor GradientMoments::to_tensor() const {
  const double n = static_cast<double>(count());
  std::vector<torch::Tensor> parts{torch::full({1}, n, torch::kDouble)};
  std::vector<double> sum_sq;
  for (size_t l = 0; l < numels_.size(); ++l) {
    parts.push_back(mean_[l] * n);
    sum_sq.push_back(m2_[l] + n * mean_[l].dot(mean_[l]).item<double>());
  }
  parts.push_back(torch::tensor(sum_sq, torch::kDouble));
  return torch::cat(parts);
}

GradientMoments GradientMoments::from_tensor(const torch::Tensor& flat, std::vector<int64_t> numels) {
  GradientMoments out(std::move(numels));
  auto values = flat.to(torch::kDouble).contiguous();
  const double n = values[0].item<double>();
  int64_t offset = 1;
  const int64_t tail = offset + std::accumulate(out.numels_.begin(), out.numels_.end(), int64_t{0});
  TORCH_CHECK(values.numel() == tail + static_cast<int64_t>(out.numels_.size()),
              "AdAdaGrad: flat moments of size ", values.numel(), " do not match the parameters");
  for (size_t l = 0; l < out.numels_.size(); ++l) {
    out.count_[l] = static_cast<int64_t>(std::llround(n));
    if (n > 0) out.mean_[l] = values.narrow(0, offset, out.numels_[l]) / n;
    offset += out.numels_[l];
    out.m2_[l] = values[tail + static_cast<int64_t>(l)].item<double>() - n * out.mean_[l].dot(out.mean_[l]).item<double>();
  }
  return out;
}

ProjectionMoments::ProjectionMoments(std::vector<torch::Tensor> directions)
    : count_(directions.size(), 0), mean_(directions.size(), 0.0), m2_(directions.size(), 0.0) {
  for (auto& d : directions) direction_.push_back(d.detach().to(torch::kDouble).reshape({-1}));
}

void ProjectionMoments::add_projections(size_t tensor, const torch::Tensor& projections) {
  torch::NoGradGuard no_grad;
  auto a = projections.to(torch::kDouble).reshape({-1});
  const int64_t k = a.numel();
  if (k == 0) return;
  const double block_mean = a.mean().item<double>();
  const double block_m2 = (a - block_mean).pow(2).sum().item<double>();
  merge_scalar(count_.at(tensor), mean_[tensor], m2_[tensor], k, block_mean, block_m2);
}

void ProjectionMoments::add(size_t tensor, const torch::Tensor& samples) {
  torch::NoGradGuard no_grad;
  const auto& u = direction_.at(tensor);
  add_projections(tensor, as_rows(samples, u.numel()).mv(u));
}

void ProjectionMoments::add_sample(const std::vector<torch::Tensor>& grads) {
  TORCH_CHECK(grads.size() == direction_.size(), "AdAdaGrad: expected ", direction_.size(),
              " gradients, got ", grads.size());
  for (size_t l = 0; l < grads.size(); ++l) add(l, grads[l].reshape({1, -1}));
}

void ProjectionMoments::merge(const ProjectionMoments& other) {
  TORCH_CHECK(other.direction_.size() == direction_.size(),
              "AdAdaGrad: merging projections of different parameter lists");
  for (size_t l = 0; l < direction_.size(); ++l) {
    merge_scalar(count_[l], mean_[l], m2_[l], other.count_[l], other.mean_[l], other.m2_[l]);
  }
}

int64_t ProjectionMoments::count() const { return common_count(count_); }

double ProjectionMoments::variance(size_t tensor) const {
  const int64_t n = count();
  TORCH_CHECK(n >= 2, "AdAdaGrad: the sample variance needs at least 2 samples, got ", n);
  return m2_.at(tensor) / static_cast<double>(n - 1);
}

torch::Tensor ProjectionMoments::to_tensor() const {
  const double n = static_cast<double>(count());
  std::vector<double> flat{n};
  for (size_t l = 0; l < direction_.size(); ++l) flat.push_back(n * mean_[l]);
  for (size_t l = 0; l < direction_.size(); ++l) flat.push_back(m2_[l] + n * mean_[l] * mean_[l]);
  return torch::tensor(flat, torch::kDouble);
}

ProjectionMoments ProjectionMoments::from_tensor(const torch::Tensor& flat,
                                                 std::vector<torch::Tensor> directions) {
  ProjectionMoments out(std::move(directions));
  const size_t L = out.direction_.size();
  auto values = flat.to(torch::kDouble).contiguous();
  TORCH_CHECK(values.numel() == static_cast<int64_t>(1 + 2 * L), "AdAdaGrad: flat projections of size ",
              values.numel(), " do not match ", L, " tensors");
  const double n = values[0].item<double>();
  for (size_t l = 0; l < L; ++l) {
    out.count_[l] = static_cast<int64_t>(std::llround(n));
    out.mean_[l] = n > 0 ? values[1 + l].item<double>() / n : 0.0;
    out.m2_[l] = values[1 + L + l].item<double>() - n * out.mean_[l] * out.mean_[l];
  }
  return out;
}

BatchStatistics summarize(const GradientMoments& moments, const ProjectionMoments* projections,
                          int64_t batch_size, double variance_scale) {
  BatchStatistics s;
  s.batch_size = batch_size;
  s.sum_variance = moments.sum_variance() * variance_scale;
  s.grad_norm_sq = moments.mean_norm_sq();
  if (!projections) return s;
  TORCH_CHECK(projections->count() == moments.count(), "AdAdaGrad: projections cover ",
              projections->count(), " samples, moments ", moments.count());
  s.has_projection = true;
  const double n_minus_1 = static_cast<double>(moments.count() - 1);
  for (size_t l = 0; l < moments.num_tensors(); ++l) {
    const double ip = projections->variance(l);
    const auto& u = projections->direction(l);
    const double u_sq = u.dot(u).item<double>();
    s.ip_variance += ip * variance_scale;
    // A zero mean leaves nothing to project out: the whole variance is orthogonal.
    const double orth_m2 = u_sq > 0 ? moments.m2(l) - projections->m2(l) / u_sq : moments.m2(l);
    s.orth_variance += orth_m2 / n_minus_1 * variance_scale;
  }
  return s;
}

}  // namespace attune::optim::adadagrad

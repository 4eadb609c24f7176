#include "tta/corruptions.h"

#include <ATen/CPUGeneratorImpl.h>

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace attune::tta {
namespace {

constexpr std::array<std::pair<std::string_view, Corruption>, 5> kNames{{
    {"gaussian_noise", Corruption::kGaussianNoise},
    {"shot_noise", Corruption::kShotNoise},
    {"impulse_noise", Corruption::kImpulseNoise},
    {"gaussian_blur", Corruption::kGaussianBlur},
    {"contrast", Corruption::kContrast},
}};

torch::Tensor gaussian_blur(const torch::Tensor& x, double sigma) {
  namespace F = torch::nn::functional;
  const int64_t r = static_cast<int64_t>(std::ceil(3 * sigma));
  const auto t = torch::arange(-r, r + 1, x.options());
  auto k = torch::exp(-(t * t) / (2 * sigma * sigma));
  k = k / k.sum();
  const auto sizes = x.sizes().vec();
  auto y = x.reshape({-1, 1, sizes[2], sizes[3]});
  y = F::pad(y, F::PadFuncOptions({r, r, r, r}).mode(torch::kReflect));
  y = F::conv2d(y, k.view({1, 1, 1, -1}));
  y = F::conv2d(y, k.view({1, 1, -1, 1}));
  return y.reshape(sizes);
}

}  // namespace

Corruption parse_corruption(std::string_view name) {
  for (const auto& [n, c] : kNames) {
    if (n == name) return c;
  }
  std::string accepted;
  for (const auto& entry : kNames)
    accepted += (accepted.empty() ? "" : " | ") + std::string(entry.first);
  throw std::invalid_argument("corruption: expected one of " + accepted + ", received \"" +
                              std::string(name) + "\"");
}

std::string_view corruption_name(Corruption c) {
  for (const auto& [n, v] : kNames) {
    if (v == c) return n;
  }
  throw std::invalid_argument("corruption: unknown enumerator " +
                              std::to_string(static_cast<int>(c)));
}

const std::vector<Corruption>& all_corruptions() {
  static const std::vector<Corruption> all = [] {
    std::vector<Corruption> v;
    for (const auto& entry : kNames) v.push_back(entry.second);
    return v;
  }();
  return all;
}

double corruption_level(Corruption c, int severity) {
  if (severity < 1 || severity > 5) {
    throw std::invalid_argument("severity: expected an integer in [1, 5], received " +
                                std::to_string(severity));
  }
  static const std::array<std::array<double, 5>, 5> levels{{
      {0.04, 0.08, 0.12, 0.16, 0.20},  // gaussian noise σ
      {500, 250, 100, 75, 50},         // shot noise λ
      {0.01, 0.02, 0.03, 0.05, 0.07},  // impulse fraction
      {0.5, 0.7, 0.9, 1.1, 1.3},       // blur σ
      {0.75, 0.5, 0.4, 0.3, 0.2},      // contrast c
  }};
  return levels[static_cast<size_t>(c)][static_cast<size_t>(severity - 1)];
}

torch::Tensor corrupt(const torch::Tensor& images, Corruption c, int severity, uint64_t seed) {
  TORCH_CHECK(images.dim() == 4 && images.is_floating_point(),
              "corrupt expects float images [N, C, H, W], got ", images.sizes());
  torch::NoGradGuard no_grad;
  const double level = corruption_level(c, severity);
  auto gen = at::detail::createCPUGenerator(seed);
  torch::Tensor y;
  switch (c) {
    case Corruption::kGaussianNoise:
      y = images + level * torch::randn(images.sizes(), gen, images.options());
      break;
    case Corruption::kShotNoise:
      y = torch::poisson(images * level, gen) / level;
      break;
    case Corruption::kImpulseNoise: {
      const auto hit = torch::rand(images.sizes(), gen, images.options()) < level;
      const auto salt =
          (torch::rand(images.sizes(), gen, images.options()) < 0.5).to(images.dtype());
      y = torch::where(hit, salt, images);
      break;
    }
    case Corruption::kGaussianBlur:
      y = gaussian_blur(images, level);
      break;
    case Corruption::kContrast: {
      const auto mean = images.mean({2, 3}, /*keepdim=*/true);
      y = (images - mean) * level + mean;
      break;
    }
  }
  return y.clamp(0.0, 1.0);
}

}  // namespace attune::tta

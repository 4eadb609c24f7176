// Image corruptions in the style of CIFAR-10-C (Hendrycks & Dietterich, ICLR 2019), with the
// levels of tta spec §5 for 28×28 images. Inputs are float [N, C, H, W] in [0, 1]; outputs are
// clipped to [0, 1]. Deterministic for a given seed.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace attune::tta {

enum class Corruption { kGaussianNoise, kShotNoise, kImpulseNoise, kGaussianBlur, kContrast };

Corruption parse_corruption(std::string_view name);  // e.g. "gaussian_noise"
std::string_view corruption_name(Corruption c);
const std::vector<Corruption>& all_corruptions();

// The level at severity 1..5: gaussian noise σ (.04 .08 .12 .16 .20), shot noise photons λ
// (500 250 100 75 50), impulse salt-and-pepper fraction (.01 .02 .03 .05 .07), gaussian blur σ
// in pixels (.5 .7 .9 1.1 1.3), contrast factor c (.75 .5 .4 .3 .2).
double corruption_level(Corruption c, int severity);

// x + N(0, σ²) | Poisson(xλ)/λ | salt-and-pepper | separable gaussian blur (radius ⌈3σ⌉,
// reflect padding) | (x − mean)·c + mean with the mean per image and channel.
torch::Tensor corrupt(const torch::Tensor& images, Corruption c, int severity, uint64_t seed);

}  // namespace attune::tta

// Corruptions used by the real-data evaluation (tta spec §5 levels).
#include "tta/corruptions.h"

#include <gtest/gtest.h>

namespace attune::tta {
namespace {

torch::Tensor images() {
  torch::manual_seed(0);
  // Smooth blobs plus texture, in [0, 1], like 28×28 clothing images.
  auto x = torch::rand({32, 1, 28, 28});
  return torch::nn::functional::avg_pool2d(
      x, torch::nn::functional::AvgPool2dFuncOptions(3).stride(1).padding(1));
}

TEST(Corruptions, NamesAndLevels) {
  ASSERT_EQ(all_corruptions().size(), 5u);
  for (const auto c : all_corruptions()) EXPECT_EQ(parse_corruption(corruption_name(c)), c);
  EXPECT_THROW(parse_corruption("fog"), std::invalid_argument);
  EXPECT_THROW(corruption_level(Corruption::kContrast, 0), std::invalid_argument);
  EXPECT_THROW(corruption_level(Corruption::kContrast, 6), std::invalid_argument);
  EXPECT_EQ(corruption_level(Corruption::kGaussianNoise, 5), 0.20);
  EXPECT_EQ(corruption_level(Corruption::kShotNoise, 1), 500);
  EXPECT_EQ(corruption_level(Corruption::kImpulseNoise, 4), 0.05);
  EXPECT_EQ(corruption_level(Corruption::kGaussianBlur, 3), 0.9);
  EXPECT_EQ(corruption_level(Corruption::kContrast, 2), 0.5);
}

TEST(Corruptions, ClippedDeterministicAndStrongerWithSeverity) {
  const auto x = images();
  for (const auto c : all_corruptions()) {
    SCOPED_TRACE(std::string(corruption_name(c)));
    double previous = 0;
    for (int s = 1; s <= 5; ++s) {
      const auto y = corrupt(x, c, s, 7);
      ASSERT_EQ(y.sizes(), x.sizes());
      EXPECT_GE(y.min().item<float>(), 0.0f);
      EXPECT_LE(y.max().item<float>(), 1.0f);
      EXPECT_TRUE(y.equal(corrupt(x, c, s, 7)));
      const double distance = (y - x).abs().mean().item<double>();
      EXPECT_GT(distance, previous) << "severity " << s;
      previous = distance;
    }
  }
  EXPECT_FALSE(corrupt(x, Corruption::kGaussianNoise, 3, 1)
                   .equal(corrupt(x, Corruption::kGaussianNoise, 3, 2)));
}

TEST(Corruptions, EachDoesWhatItsNameSays) {
  const auto x = images();
  // Gaussian noise: residual std ≈ σ (before clipping; images sit away from 0 and 1).
  const auto mid = torch::full({64, 1, 28, 28}, 0.5f);
  EXPECT_NEAR((corrupt(mid, Corruption::kGaussianNoise, 2, 1) - mid).std().item<double>(), 0.08,
              0.005);
  // Shot noise: Poisson(xλ)/λ has variance x/λ.
  EXPECT_NEAR((corrupt(mid, Corruption::kShotNoise, 5, 1) - mid).var().item<double>(), 0.5 / 50,
              0.001);
  // Impulse: the changed pixels are 0 or 1, about the configured fraction of them.
  const auto imp = corrupt(x, Corruption::kImpulseNoise, 5, 1);
  const auto changed = imp != x;
  EXPECT_NEAR(changed.to(torch::kFloat).mean().item<double>(), 0.07, 0.01);
  EXPECT_TRUE(
      ((imp.masked_select(changed) == 0) | (imp.masked_select(changed) == 1)).all().item<bool>());
  // Blur: a normalised kernel with reflect padding keeps a constant image, and it lowers
  // pixel-to-pixel variation.
  const auto grey = torch::full({2, 1, 28, 28}, 0.3f);
  EXPECT_LE((corrupt(grey, Corruption::kGaussianBlur, 5, 1) - grey).abs().max().item<double>(),
            1e-6);
  const auto blur = corrupt(x, Corruption::kGaussianBlur, 5, 1);
  auto tv = [](const torch::Tensor& t) {
    return (t.slice(3, 1) - t.slice(3, 0, -1)).abs().mean().item<double>();
  };
  EXPECT_LT(tv(blur), 0.6 * tv(x));
  // Contrast: per-image mean kept, deviations scaled by c.
  const auto con = corrupt(x, Corruption::kContrast, 5, 1);
  EXPECT_LE((con.mean({2, 3}) - x.mean({2, 3})).abs().max().item<double>(), 1e-5);
  const auto m = x.mean({2, 3}, true);
  EXPECT_LE(((con - m) - 0.2 * (x - m)).abs().max().item<double>(), 1e-6);
}

}  // namespace
}  // namespace attune::tta

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/idx.h"

namespace {

TEST(Idx, ReadsRealFashionMnistTestSplit) {
  auto set = attune::data::load_mnist_style(attune::data::fashion_mnist_dir(), /*train=*/false);
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  ASSERT_EQ(set.labels.sizes(), (std::vector<int64_t>{10000}));
  EXPECT_GE(set.images.min().item<float>(), 0.0f);
  EXPECT_LE(set.images.max().item<float>(), 1.0f);
  // Fashion-MNIST's test split is balanced: 1,000 images per class.
  auto counts = torch::bincount(set.labels);
  EXPECT_TRUE(torch::all(counts == 1000).item<bool>());
  // Upstream's first test label is 9 (ankle boot), the second 2 (pullover).
  EXPECT_EQ(set.labels[0].item<int64_t>(), 9);
  EXPECT_EQ(set.labels[1].item<int64_t>(), 2);
}

TEST(Idx, LimitReadsAPrefix) {
  auto full = attune::data::load_mnist_style(attune::data::fashion_mnist_dir(), false, 50);
  EXPECT_EQ(full.images.size(0), 50);
}

TEST(Idx, BigEndianMultiByteValuesAndErrors) {
  const auto path = std::filesystem::temp_directory_path() / "attune_idx_test.idx";
  {
    std::ofstream o(path, std::ios::binary);
    const unsigned char hdr[] = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE};
    o.write(reinterpret_cast<const char*>(hdr), sizeof hdr);
  }
  auto t = attune::data::read_idx(path.string());
  ASSERT_EQ(t.scalar_type(), torch::kInt32);
  EXPECT_EQ(t[0].item<int32_t>(), 258);
  EXPECT_EQ(t[1].item<int32_t>(), -2);
  {
    std::ofstream o(path, std::ios::binary);
    o.write("\0\0\x0C\x01\0\0\0\x09", 8);  // claims 9 values, has none
  }
  EXPECT_THROW(attune::data::read_idx(path.string()), std::runtime_error);
  EXPECT_THROW(attune::data::read_idx("/nonexistent/file.idx"), std::runtime_error);
  std::filesystem::remove(path);
}

}  // namespace

// MNIST/IDX files (plain or .gz) for the demo, without LibTorch: uint8 images and labels.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attune::cli {

struct IdxImages {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols
};

// "<dir>/{train,t10k}-images-idx3-ubyte[.gz]" and the matching labels; at most `limit` samples.
IdxImages read_idx_images(const std::string& dir, bool train, int64_t limit);
std::vector<int64_t> read_idx_labels(const std::string& dir, bool train, int64_t limit);

}  // namespace attune::cli

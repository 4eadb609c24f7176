// Reader for the IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/),
// plain or gzip-compressed. LibTorch only.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace attune::data {

// Reads one IDX file. The tensor has the stored shape and dtype (uint8, int8, int16, int32,
// float32, float64; multi-byte values are big-endian on disk). Throws std::runtime_error
// naming the file and the problem (missing, bad magic, truncated).
torch::Tensor read_idx(const std::string& path, int64_t limit = -1);

struct ImageSet {
  torch::Tensor images;  // float32 [N, 1, H, W] in [0, 1]
  torch::Tensor labels;  // int64 [N]
};

// Loads "<dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]"; limit < 0 reads all.
ImageSet load_mnist_style(const std::string& dir, bool train, int64_t limit = -1);

// $ATTUNE_FASHION_MNIST if set, else Debian's dataset-fashion-mnist location.
std::string fashion_mnist_dir();

}  // namespace attune::data

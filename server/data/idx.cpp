#include "data/idx.h"

#include <zlib.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

namespace attune::data {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

void read_exact(gzFile f, void* dst, size_t n, const std::string& path) {
  auto* out = static_cast<char*>(dst);
  while (n > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
    const int got = gzread(f, out, chunk);
    if (got <= 0) throw std::runtime_error(path + ": truncated IDX file");
    out += got;
    n -= static_cast<size_t>(got);
  }
}

torch::ScalarType idx_dtype(uint8_t code, size_t* width, const std::string& path) {
  switch (code) {
    case 0x08: *width = 1; return torch::kUInt8;
    case 0x09: *width = 1; return torch::kInt8;
    case 0x0B: *width = 2; return torch::kInt16;
    case 0x0C: *width = 4; return torch::kInt32;
    case 0x0D: *width = 4; return torch::kFloat32;
    case 0x0E: *width = 8; return torch::kFloat64;
    default: throw std::runtime_error(path + ": unknown IDX type code " + std::to_string(code));
  }
}

std::string existing(const std::string& base) {
  if (std::filesystem::exists(base)) return base;
  if (std::filesystem::exists(base + ".gz")) return base + ".gz";
  throw std::runtime_error(base + "[.gz]: no such file (install dataset-fashion-mnist or set "
                           "ATTUNE_FASHION_MNIST)");
}

}  // namespace

torch::Tensor read_idx(const std::string& path, int64_t limit) {
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) throw std::runtime_error(path + ": cannot open");
  std::array<uint8_t, 4> magic{};
  read_exact(f.get(), magic.data(), 4, path);
  if (magic[0] != 0 || magic[1] != 0) throw std::runtime_error(path + ": not an IDX file");
  size_t width = 0;
  const auto dtype = idx_dtype(magic[2], &width, path);
  const int ndim = magic[3];
  if (ndim < 1 || ndim > 8) throw std::runtime_error(path + ": bad IDX rank");
  std::vector<int64_t> shape(ndim);
  for (int i = 0; i < ndim; ++i) {
    std::array<uint8_t, 4> b{};
    read_exact(f.get(), b.data(), 4, path);
    shape[i] = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | b[3];
  }
  if (limit >= 0 && limit < shape[0]) shape[0] = limit;
  auto t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
  read_exact(f.get(), t.data_ptr(), static_cast<size_t>(t.numel()) * width, path);
  if (width > 1) {  // IDX stores big-endian; swap in place.
    auto* p = static_cast<uint8_t*>(t.data_ptr());
    for (int64_t i = 0; i < t.numel(); ++i) std::reverse(p + i * width, p + (i + 1) * width);
  }
  return t;
}

ImageSet load_mnist_style(const std::string& dir, bool train, int64_t limit) {
  const std::string prefix = dir + "/" + (train ? "train" : "t10k");
  auto images = read_idx(existing(prefix + "-images-idx3-ubyte"), limit);
  auto labels = read_idx(existing(prefix + "-labels-idx1-ubyte"), limit);
  if (images.dim() != 3 || labels.dim() != 1 || images.size(0) != labels.size(0))
    throw std::runtime_error(prefix + ": images and labels do not match");
  return {images.to(torch::kFloat32).div_(255.0).unsqueeze(1).contiguous(),
          labels.to(torch::kInt64)};
}

std::string fashion_mnist_dir() {
  if (const char* env = std::getenv("ATTUNE_FASHION_MNIST"); env && *env) return env;
  return "/usr/share/datasets/fashion-mnist";
}

}  // namespace attune::data

#include "idx_file.h"

#include <zlib.h>

#include <filesystem>
#include <stdexcept>

namespace attune::cli {
namespace {

std::string find(const std::string& base) {
  if (std::filesystem::exists(base)) return base;
  if (std::filesystem::exists(base + ".gz")) return base + ".gz";
  throw std::runtime_error(base + "[.gz] not found (install Debian's dataset-fashion-mnist or pass --fashion-dir)");
}

struct Reader {
  explicit Reader(const std::string& path) : path(path), f(gzopen(path.c_str(), "rb")) {
    if (!f) throw std::runtime_error("cannot open " + path);
  }
  ~Reader() { gzclose(f); }
  void read(void* dst, unsigned n) {
    if (gzread(f, dst, n) != static_cast<int>(n)) throw std::runtime_error(path + ": truncated");
  }
  uint32_t u32() {
    unsigned char b[4];
    read(b, 4);
    return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
  }
  std::string path;
  gzFile f;
};

}  // namespace

IdxImages read_idx_images(const std::string& dir, bool train, int64_t limit) {
  Reader r(find(dir + (train ? "/train" : "/t10k") + "-images-idx3-ubyte"));
  if (r.u32() != 0x00000803) throw std::runtime_error(r.path + ": not an IDX image file");
  IdxImages im;
  im.count = std::min<int64_t>(r.u32(), limit);
  im.rows = r.u32();
  im.cols = r.u32();
  im.pixels.resize(static_cast<size_t>(im.count * im.rows * im.cols));
  r.read(im.pixels.data(), static_cast<unsigned>(im.pixels.size()));
  return im;
}

std::vector<int64_t> read_idx_labels(const std::string& dir, bool train, int64_t limit) {
  Reader r(find(dir + (train ? "/train" : "/t10k") + "-labels-idx1-ubyte"));
  if (r.u32() != 0x00000801) throw std::runtime_error(r.path + ": not an IDX label file");
  const int64_t n = std::min<int64_t>(r.u32(), limit);
  std::vector<uint8_t> raw(static_cast<size_t>(n));
  r.read(raw.data(), static_cast<unsigned>(n));
  return std::vector<int64_t>(raw.begin(), raw.end());
}

}  // namespace attune::cli

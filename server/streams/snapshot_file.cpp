#include "streams/snapshot_file.h"

#include <zlib.h>

#include <cstring>

#include "core/storage.h"
#include "streams/data_loss.h"

namespace attune::streams {
namespace {

constexpr char kMagic[8] = {'A', 'T', 'N', 'C', 'S', 'N', 'P', '1'};
constexpr size_t kHeaderBytes = 32;

uint32_t crc(const std::string& s) {
  return static_cast<uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

}  // namespace

void write_snapshot_file(const std::filesystem::path& path, const Snapshot& s) {
  std::string bytes(kHeaderBytes, '\0');
  const uint32_t c = crc(s.body);
  std::memcpy(bytes.data(), kMagic, sizeof kMagic);
  std::memcpy(bytes.data() + 8, &s.log_offset, 8);
  std::memcpy(bytes.data() + 16, &s.observations, 8);
  std::memcpy(bytes.data() + 24, &c, 4);
  bytes += s.body;
  atomic_write(path, bytes);
}

std::optional<Snapshot> read_snapshot(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  const std::string bytes = read_file(path);
  if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw StreamDataLoss(path.string() + ": not an attune stream snapshot");
  Snapshot s;
  uint32_t c = 0;
  std::memcpy(&s.log_offset, bytes.data() + 8, 8);
  std::memcpy(&s.observations, bytes.data() + 16, 8);
  std::memcpy(&c, bytes.data() + 24, 4);
  s.body = bytes.substr(kHeaderBytes);
  if (crc(s.body) != c) throw StreamDataLoss(path.string() + ": snapshot checksum mismatch");
  return s;
}

}  // namespace attune::streams

// <stream>/snapshot.bin: the engine state at one point of the observation log, written
// atomically (temp file + fsync + rename + fsync of the directory).
//   "ATNCSNP1" | u64 log offset | i64 observations | u32 CRC-32 of the body | u32 0 | body
// The body is Nowcaster::snapshot(); the log offset is the end of the last record it covers, so
// recovery restores the body and replays the log from there.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace attune::streams {

struct Snapshot {
  uint64_t log_offset = 0;
  int64_t observations = 0;
  std::string body;
};

void write_snapshot_file(const std::filesystem::path& path, const Snapshot& s);
// nullopt when there is no snapshot yet; throws StreamDataLoss when the file is damaged.
std::optional<Snapshot> read_snapshot(const std::filesystem::path& path);

}  // namespace attune::streams

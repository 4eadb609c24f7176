// The append-only observation log of one stream (<stream>/observations.log).
//
// File layout, little-endian:
//   header   "ATNCLOG1" | u32 format (1) | u32 variable count
//   record*  u32 payload length | u32 CRC-32 (zlib) of the payload | payload
//   payload  u8 kind, then
//            kind 1, observation: i64 time | f64 value × variables (config order)
//            kind 2, swap:        i64 step — a background fit went live while that step was
//                                 ingested (replay needs it to reproduce the swap exactly)
//
// Recovery reads records from a known-good offset (the snapshot's, or the header's end). As in
// SQLite's write-ahead log, the first record that is incomplete or fails its CRC ends the log:
// it and everything after it are truncated away. That tail can only hold records whose
// fdatasync never returned, i.e. observations that were never acknowledged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace attune::streams {

struct LogRecord {
  enum class Kind : uint8_t { observation = 1, swap = 2 };
  Kind kind = Kind::observation;
  int64_t time = 0;            // observation
  std::vector<double> values;  // observation, config order
  int64_t step = 0;            // swap
};

class ObservationLog {
 public:
  static constexpr uint64_t kHeaderBytes = 16;

  // Writes a new log holding only the header, fsynced. The file must not exist.
  static void create(const std::filesystem::path& path, int64_t n_vars);

  // Opens an existing log; call recover() before appending.
  ObservationLog(std::filesystem::path path, int64_t n_vars);
  ~ObservationLog();
  ObservationLog(const ObservationLog&) = delete;
  ObservationLog& operator=(const ObservationLog&) = delete;

  // Checks the header, returns the records from `offset` (a record boundary, >= kHeaderBytes)
  // and truncates a torn tail. Throws StreamDataLoss if the header is wrong or the file is
  // shorter than `offset`.
  std::vector<LogRecord> recover(uint64_t offset);

  // Buffered appends: nothing is durable before sync(). On a failed write the file is cut back
  // to where it was and attune::Error is thrown (RESOURCE_EXHAUSTED for a full disk).
  void append_observations(const std::vector<int64_t>& times,
                           const std::vector<std::vector<double>>& rows);
  void append_swaps(const std::vector<int64_t>& steps);
  void sync();                 // fdatasync
  void truncate(uint64_t end);  // drops everything after `end`, durably

  uint64_t end() const { return end_; }  // byte offset after the last record
  const std::filesystem::path& path() const { return path_; }

 private:
  void write(const std::string& bytes);

  std::filesystem::path path_;
  int64_t n_vars_;
  int fd_ = -1;
  uint64_t end_ = 0;
};

}  // namespace attune::streams

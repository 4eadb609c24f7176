#include "streams/observation_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/log.h"
#include "core/storage.h"
#include "streams/data_loss.h"

namespace attune::streams {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the log format is little-endian");

constexpr char kMagic[8] = {'A', 'T', 'N', 'C', 'L', 'O', 'G', '1'};
constexpr uint32_t kFormat = 1;
constexpr uint32_t kMaxPayload = 1u << 20;

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
T get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint32_t crc(const char* p, size_t n) {
  return static_cast<uint32_t>(::crc32(0L, reinterpret_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

void put_record(std::string& out, const std::string& payload) {
  put<uint32_t>(out, static_cast<uint32_t>(payload.size()));
  put<uint32_t>(out, crc(payload.data(), payload.size()));
  out += payload;
}

[[noreturn]] void io_error(const std::string& what, const std::filesystem::path& p) {
  const int err = errno;
  const std::string msg = what + " " + p.string() + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) throw ResourceExhausted(msg + " (free disk space in the data dir)");
  throw Internal(msg);
}

void pread_all(int fd, char* buf, size_t n, uint64_t offset, const std::filesystem::path& p) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) io_error("read", p);
    done += static_cast<size_t>(r);
  }
}

}  // namespace

void ObservationLog::create(const std::filesystem::path& path, int64_t n_vars) {
  std::string header(kMagic, sizeof kMagic);
  put<uint32_t>(header, kFormat);
  put<uint32_t>(header, static_cast<uint32_t>(n_vars));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) io_error("create", path);
  const bool ok = ::write(fd, header.data(), header.size()) == static_cast<ssize_t>(header.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) io_error("write", path);
  fsync_path(path.parent_path());
}

ObservationLog::ObservationLog(std::filesystem::path path, int64_t n_vars)
    : path_(std::move(path)), n_vars_(n_vars) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) {
    if (errno == ENOENT) throw StreamDataLoss("observation log " + path_.string() + " is missing");
    io_error("open", path_);
  }
}

ObservationLog::~ObservationLog() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<LogRecord> ObservationLog::recover(uint64_t offset) {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) io_error("stat", path_);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < kHeaderBytes) throw StreamDataLoss(path_.string() + ": no log header");
  char header[kHeaderBytes];
  pread_all(fd_, header, kHeaderBytes, 0, path_);
  if (std::memcmp(header, kMagic, sizeof kMagic) != 0 || get<uint32_t>(header + 8) != kFormat)
    throw StreamDataLoss(path_.string() + ": not an attune observation log (format 1)");
  if (get<uint32_t>(header + 12) != static_cast<uint32_t>(n_vars_))
    throw StreamDataLoss(path_.string() + ": log records " + std::to_string(get<uint32_t>(header + 12)) +
                         " variables, the stream's config " + std::to_string(n_vars_));
  offset = std::max(offset, kHeaderBytes);
  if (size < offset)
    throw StreamDataLoss(path_.string() + " is " + std::to_string(size) +
                         " bytes, shorter than the " + std::to_string(offset) +
                         " bytes its snapshot covers");

  std::string buf(size - offset, '\0');
  pread_all(fd_, buf.data(), buf.size(), offset, path_);
  const size_t obs_payload = 1 + 8 + 8 * static_cast<size_t>(n_vars_);
  std::vector<LogRecord> out;
  size_t pos = 0;
  while (pos + 8 <= buf.size()) {
    const uint32_t len = get<uint32_t>(buf.data() + pos);
    if (len == 0 || len > kMaxPayload || pos + 8 + len > buf.size()) break;
    const char* p = buf.data() + pos + 8;
    if (crc(p, len) != get<uint32_t>(buf.data() + pos + 4)) break;
    LogRecord r;
    r.kind = static_cast<LogRecord::Kind>(p[0]);
    if (r.kind == LogRecord::Kind::observation && len == obs_payload) {
      r.time = get<int64_t>(p + 1);
      r.values.resize(static_cast<size_t>(n_vars_));
      std::memcpy(r.values.data(), p + 9, 8 * r.values.size());
    } else if (r.kind == LogRecord::Kind::swap && len == 9) {
      r.step = get<int64_t>(p + 1);
    } else {
      break;
    }
    out.push_back(std::move(r));
    pos += 8 + len;
  }
  end_ = offset + pos;
  if (end_ < size) {
    LOG_WARN(path_.string() << ": discarding a torn tail of " << (size - end_)
                            << " bytes (never acknowledged) after " << out.size() << " records");
    truncate(end_);
  }
  return out;
}

void ObservationLog::write(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done,
                               static_cast<off_t>(end_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      (void)::ftruncate(fd_, static_cast<off_t>(end_));
      errno = err;
      io_error("append to", path_);
    }
    done += static_cast<size_t>(n);
  }
  end_ += bytes.size();
}

void ObservationLog::append_observations(const std::vector<int64_t>& times,
                                         const std::vector<std::vector<double>>& rows) {
  std::string out, payload;
  for (size_t i = 0; i < times.size(); ++i) {
    payload.clear();
    put<uint8_t>(payload, static_cast<uint8_t>(LogRecord::Kind::observation));
    put<int64_t>(payload, times[i]);
    payload.append(reinterpret_cast<const char*>(rows[i].data()), 8 * rows[i].size());
    put_record(out, payload);
  }
  write(out);
}

void ObservationLog::append_swaps(const std::vector<int64_t>& steps) {
  std::string out, payload;
  for (int64_t s : steps) {
    payload.clear();
    put<uint8_t>(payload, static_cast<uint8_t>(LogRecord::Kind::swap));
    put<int64_t>(payload, s);
    put_record(out, payload);
  }
  write(out);
}

void ObservationLog::sync() {
  if (::fdatasync(fd_) != 0) io_error("fdatasync", path_);
}

void ObservationLog::truncate(uint64_t end) {
  if (::ftruncate(fd_, static_cast<off_t>(end)) != 0) io_error("truncate", path_);
  end_ = end;
  sync();
}

}  // namespace attune::streams

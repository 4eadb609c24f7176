#include "core/storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace attune {
namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& p) {
  throw Internal(what + " " + p.string() + ": " + std::strerror(errno));
}

std::string temp_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream o;
  o << ".tmp." << ::getpid() << "." << std::hex << rng();
  return o.str();
}

}  // namespace

void fsync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) fail("fsync", path);
}

void atomic_write(const fs::path& path, std::string_view bytes) {
  const fs::path tmp = path.string() + temp_suffix();
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  // O_TMPFILE: the bytes go to an unnamed inode that disappears with the process, and it gets
  // its temporary name only right before the rename, so a kill while writing or syncing leaves
  // nothing behind. Filesystems without O_TMPFILE get a named temporary file from the start
  // (remove_stale_temp_files() clears what a kill leaves of those).
  bool unnamed = true;
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    unnamed = false;
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("create", tmp);
  }
  auto abandon = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    if (!unnamed) ::unlink(tmp.c_str());
    errno = err;
    fail(what, tmp);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      abandon("write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) abandon("fsync");
  if (unnamed) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) != 0) abandon("link");
  }
  ::close(fd);
  durable_rename(tmp, path);
}

void durable_rename(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) fail("rename to " + to.string() + " from", from);
  fsync_path(to.has_parent_path() ? to.parent_path() : fs::path("."));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw NotFound("cannot read " + path.string());
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

void make_dirs(const fs::path& dir) {
  fs::path cur;
  for (const auto& part : dir) {
    cur /= part;
    if (cur.empty() || fs::exists(cur)) continue;
    fs::create_directory(cur);
    if (cur.has_parent_path()) fsync_path(cur.parent_path());
  }
}

bool is_temp_file_name(const std::string& f) {
  // <name>.tmp.<decimal pid>.<hex>, exactly as temp_suffix() makes it.
  const size_t at = f.rfind(".tmp.");
  if (at == std::string::npos || at == 0) return false;
  const size_t pid_begin = at + 5;
  const size_t dot = f.find('.', pid_begin);
  if (dot == std::string::npos || dot == pid_begin || dot + 1 == f.size()) return false;
  for (size_t i = pid_begin; i < dot; ++i)
    if (!std::isdigit(static_cast<unsigned char>(f[i]))) return false;
  for (size_t i = dot + 1; i < f.size(); ++i)
    if (!std::isxdigit(static_cast<unsigned char>(f[i]))) return false;
  return true;
}

int remove_stale_temp_files(const fs::path& dir, bool recursive) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  std::vector<fs::path> doomed;
  auto consider = [&](const fs::directory_entry& e) {
    if (e.is_regular_file(ec) && is_temp_file_name(e.path().filename().string()))
      doomed.push_back(e.path());
  };
  if (recursive) {
    for (const auto& e : fs::recursive_directory_iterator(dir, ec)) consider(e);
  } else {
    for (const auto& e : fs::directory_iterator(dir, ec)) consider(e);
  }
  int removed = 0;
  for (const auto& p : doomed)
    if (fs::remove(p, ec)) ++removed;
  return removed;
}

fs::path resolve_under(const fs::path& root, const std::string& relative, std::string_view field) {
  const fs::path rel(relative);
  if (relative.empty())
    throw InvalidArgument(std::string(field) + ": must be a non-empty path relative to the "
                          "configured root");
  if (rel.is_absolute())
    throw PermissionDenied(std::string(field) + ": absolute paths are not allowed ('" + relative +
                           "'); give a path relative to the configured root");
  for (const auto& part : rel)
    if (part == "..")
      throw PermissionDenied(std::string(field) + ": '..' is not allowed in '" + relative + "'");
  std::error_code ec;
  const fs::path canon_root = fs::weakly_canonical(root, ec);
  const fs::path target = fs::weakly_canonical(root / rel, ec);
  const auto [r_end, t_it] = std::mismatch(canon_root.begin(), canon_root.end(), target.begin(),
                                           target.end());
  if (r_end != canon_root.end())
    throw PermissionDenied(std::string(field) + ": '" + relative +
                           "' resolves outside the configured root (symlink?)");
  return target;
}

void check_name(std::string_view field, const std::string& name) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  };
  bool ok = !name.empty() && name.size() <= 128 && ok_char(name[0]) && name[0] != '.' &&
            name[0] != '_' && name[0] != '-';
  for (char c : name) ok = ok && ok_char(c);
  if (!ok)
    throw InvalidArgument(std::string(field) + ": expected 1-128 characters of [A-Za-z0-9_.-] "
                          "starting with a letter or digit, received '" + name + "'");
}

}  // namespace attune

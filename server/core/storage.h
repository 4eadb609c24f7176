// Durable files: every write is temp file + fsync + rename + fsync(dir), so a crash leaves either
// the old or the new content, never a torn file. Paths from requests are resolved under a root.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace attune {

namespace fs = std::filesystem;

void atomic_write(const fs::path& path, std::string_view bytes);
std::string read_file(const fs::path& path);
void fsync_path(const fs::path& path);  // file or directory
// Renames `from` onto `to` (same filesystem) and fsyncs the parent of `to`.
void durable_rename(const fs::path& from, const fs::path& to);
// Creates the directory chain and fsyncs each new entry's parent.
void make_dirs(const fs::path& dir);

// atomic_write() names its temporary file <path>.tmp.<pid>.<hex>; a process killed between
// creating and renaming it leaves that file behind. Removes such files from `dir` (and every
// directory below it when `recursive`). Call at start-up, before anything writes into `dir`.
// Returns the number of files removed.
int remove_stale_temp_files(const fs::path& dir, bool recursive);
bool is_temp_file_name(const std::string& filename);

// Resolves `relative` (as sent by a client) under `root`: absolute paths, '..' components and
// symlinks leading outside `root` are rejected with PERMISSION_DENIED naming `field`.
fs::path resolve_under(const fs::path& root, const std::string& relative, std::string_view field);

// Names used as directory names (models, datasets, streams): 1-128 chars of [A-Za-z0-9_.-],
// starting with a letter or digit.
void check_name(std::string_view field, const std::string& name);

}  // namespace attune

// Inspection of a server's data dir from outside the server: is every file complete and
// readable, and which leftovers of interrupted writes (temporary files, hidden staging folders)
// are there.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace attune::test {

struct DataDirReport {
  int files_checked = 0;              // files parsed or loaded successfully
  std::vector<std::string> corrupt;   // "<path>: <why>"
  std::vector<std::string> leftovers; // temporary files and staging folders
};

// Loads every model.pt (TorchScript), parses every meta.json, job.json, state.json, config.json
// and CURRENT, loads datasets' data.pt and optimizer checkpoints, verifies stream snapshots'
// checksums and observation log headers. Hidden entries (staging folders of interrupted
// writes) are reported as leftovers, not checked. With `allow_job_staging`, folders
// jobs/<id>/.ckpt-<step>.tmp are not reported (a resumed job removes its own when it writes that
// step again). With `include_jobs` false, jobs/ is skipped altogether: while a server runs
// jobs it writes and prunes checkpoints there, so only a stopped server's jobs/ can be judged.
DataDirReport inspect_data_dir(const std::filesystem::path& data_dir, bool allow_job_staging,
                               bool include_jobs = true);

std::string join(const std::vector<std::string>& lines, size_t max_lines = 20);

}  // namespace attune::test

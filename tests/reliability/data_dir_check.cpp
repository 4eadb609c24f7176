#include "data_dir_check.h"

#include <nlohmann/json.hpp>
#include <torch/script.h>
#include <torch/serialize.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/storage.h"
#include "streams/config_json.h"
#include "streams/snapshot_file.h"

namespace attune::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open");
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

bool hidden(const fs::path& p) {
  const std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

class Inspector {
 public:
  Inspector(fs::path root, bool allow_job_staging, bool include_jobs)
      : root_(std::move(root)), allow_job_staging_(allow_job_staging), include_jobs_(include_jobs) {}

  DataDirReport run() {
    leftovers();
    models();
    datasets();
    if (include_jobs_) jobs();
    streams();
    return std::move(report_);
  }

 private:
  template <class F>
  void check(const fs::path& p, F&& f) {
    try {
      f();
      ++report_.files_checked;
    } catch (const std::exception& e) {
      report_.corrupt.push_back(fs::relative(p, root_).string() + ": " + e.what());
    }
  }
  void json_file(const fs::path& p) {
    check(p, [&] { (void)nlohmann::json::parse(slurp(p)); });
  }
  void torchscript(const fs::path& p) {
    check(p, [&] { (void)torch::jit::load(p.string()); });
  }
  void archive(const fs::path& p) {
    check(p, [&] {
      torch::serialize::InputArchive a;
      a.load_from(p.string());
    });
  }

  void leftovers() {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root_, ec); it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      const fs::path& p = it->path();
      const std::string n = p.filename().string();
      const std::string rel = fs::relative(p, root_).string();
      if (!include_jobs_ && rel == "jobs") {
        it.disable_recursion_pending();
        continue;
      }
      if (is_temp_file_name(n)) {
        report_.leftovers.push_back(rel);
      } else if (hidden(p) && n != ".versions.json") {
        const bool job_staging = n.rfind(".ckpt-", 0) == 0 && rel.rfind("jobs/", 0) == 0;
        if (!(job_staging && allow_job_staging_)) report_.leftovers.push_back(rel);
        if (it->is_directory()) it.disable_recursion_pending();
      }
    }
  }

  void models() {
    const fs::path dir = root_ / "models";
    if (!fs::exists(dir)) return;
    if (fs::exists(dir / ".versions.json")) json_file(dir / ".versions.json");
    for (const auto& m : fs::directory_iterator(dir)) {
      if (!m.is_directory() || hidden(m.path())) continue;
      for (const auto& v : fs::directory_iterator(m.path())) {
        if (!v.is_directory() || hidden(v.path())) continue;
        check(v.path() / "meta.json", [&] {
          const auto j = nlohmann::json::parse(slurp(v.path() / "meta.json"));
          if (std::to_string(j.at("version").get<int64_t>()) != v.path().filename().string())
            throw std::runtime_error("version does not match its folder");
        });
        torchscript(v.path() / "model.pt");
      }
    }
  }

  void datasets() {
    const fs::path dir = root_ / "datasets";
    if (!fs::exists(dir)) return;
    for (const auto& d : fs::directory_iterator(dir)) {
      if (!d.is_directory() || hidden(d.path())) continue;
      json_file(d.path() / "meta.json");
      archive(d.path() / "data.pt");
    }
  }

  void jobs() {
    const fs::path dir = root_ / "jobs";
    if (!fs::exists(dir)) return;
    for (const auto& j : fs::directory_iterator(dir)) {
      if (!j.is_directory() || hidden(j.path())) continue;
      // A job folder without job.json: killed between creating it and the first write, before
      // StartTraining answered (nothing was acknowledged).
      if (fs::exists(j.path() / "job.json")) json_file(j.path() / "job.json");
      if (!fs::exists(j.path() / "CURRENT")) continue;
      fs::path ckpt;
      check(j.path() / "CURRENT", [&] {
        ckpt = j.path() / slurp(j.path() / "CURRENT");
        if (!fs::is_directory(ckpt)) throw std::runtime_error("names a missing checkpoint " + ckpt.string());
      });
      if (ckpt.empty() || !fs::is_directory(ckpt)) continue;
      torchscript(ckpt / "model.pt");
      archive(ckpt / "optimizer.pt");
      json_file(ckpt / "state.json");
    }
  }

  void streams() {
    const fs::path dir = root_ / "streams";
    if (!fs::exists(dir)) return;
    for (const auto& s : fs::directory_iterator(dir)) {
      if (!s.is_directory() || hidden(s.path())) continue;
      check(s.path() / "config.json", [&] { (void)streams::from_json(slurp(s.path() / "config.json")); });
      if (fs::exists(s.path() / "snapshot.bin"))
        check(s.path() / "snapshot.bin", [&] { (void)streams::read_snapshot(s.path() / "snapshot.bin"); });
      check(s.path() / "observations.log", [&] {
        const std::string head = slurp(s.path() / "observations.log").substr(0, 8);
        if (head != "ATNCLOG1") throw std::runtime_error("no log header");
      });
    }
  }

  fs::path root_;
  bool allow_job_staging_;
  bool include_jobs_;
  DataDirReport report_;
};

}  // namespace

DataDirReport inspect_data_dir(const fs::path& data_dir, bool allow_job_staging, bool include_jobs) {
  return Inspector(data_dir, allow_job_staging, include_jobs).run();
}

std::string join(const std::vector<std::string>& lines, size_t max_lines) {
  std::string out;
  for (size_t i = 0; i < lines.size() && i < max_lines; ++i) out += "  " + lines[i] + "\n";
  if (lines.size() > max_lines) out += "  ... and " + std::to_string(lines.size() - max_lines) + " more\n";
  return out;
}

}  // namespace attune::test

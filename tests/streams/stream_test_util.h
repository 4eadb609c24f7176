// Shared pieces of the streams tests: the NOAA splice, a canonical rendering of everything
// observable about a stream except CPU time, and a scheduler that decides exactly when each
// background fit finishes (by keeping the single fit worker busy until then).
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "nowcast/nowcaster.h"
#include "nowcast/weather_csv.h"
#include "streams/fit_pool.h"
#include "streams/hosted_stream.h"

namespace attune::streams::testing {

inline const std::vector<nowcast::Observation>& splice() {
  static const auto obs = nowcast::seattle_new_york_splice(
      nowcast::read_weather_csv(std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/noaa/weather.csv"));
  return obs;
}

inline nowcast::StreamConfig splice_config(const std::string& name,
                                           nowcast::ModelKind kind = nowcast::ModelKind::ridge) {
  auto c = nowcast::make_stream_config(name, nowcast::weather_variables(), {"temp_max", "wind"}, 86400);
  c.model.kind = kind;
  return c;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "attune-streams-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A new stream directory `root/name` holding a fresh stream's files.
inline std::filesystem::path make_stream_dir(const std::filesystem::path& root, const nowcast::StreamConfig& c,
                                             nowcast::RetrainMode mode) {
  const auto dir = root / c.name;
  std::filesystem::create_directories(dir);
  HostedStream::create_files(dir, StoredConfig{c, mode, 1.0});
  return dir;
}

inline std::string fit_line(const nowcast::FitRecord& f) {
  std::ostringstream o;
  o.precision(17);
  o << "fit v" << f.version << " fire " << f.fire_step << "@" << f.fire_time << " " << f.trigger
    << " ratio " << f.ratio << " age " << f.model_age << " window " << f.window << " rows "
    << f.train_rows << "/" << f.holdout_rows << " epochs " << f.epochs << " flops " << f.flops
    << " swap " << f.swap_step << " e_ref";
  for (double e : f.e_ref) o << " " << e;
  return o.str();
}

// Everything observable about a stream except CPU time, one fact per line.
inline std::string state_of(const HostedStream& s) {
  const auto st = s.status();
  std::ostringstream o;
  o.precision(17);
  o << "observations " << st.observations << " last_time " << st.last_time.value_or(-1) << "\n"
    << "model ready " << st.model_ready << " version " << st.model_version << " age " << st.model_age
    << " pending " << st.retrain_pending << "\n"
    << "fits " << st.fits << " mean_window " << st.mean_window << " rows_epochs "
    << st.train_rows_epochs << " flops " << st.train_flops << " drift_events " << st.drift_events
    << " ratio " << st.ratio << "\n";
  for (const auto& [t, n] : st.fits_by_trigger) o << "fits_by_trigger " << t << " " << n << "\n";
  for (const auto& h : st.horizons)
    o << "horizon " << h.target << " h" << h.horizon << " n " << h.count << " mae " << h.mae << " rmse "
      << h.rmse << " persistence " << h.persistence_mae << " climatology " << h.climatology_mae << "\n";
  for (const auto& f : s.fit_log()) o << fit_line(f) << "\n";
  if (const auto f = s.latest_forecast()) {
    o << "forecast step " << f->step << " v" << f->model_version << " from_model " << f->from_model;
    for (const auto& h : f->horizons)
      for (double v : h.values) o << " " << v;
    o << "\n";
  }
  return o.str();
}

// Keeps the pool's only worker busy until opened.
class Blocker {
 public:
  void wait() {
    std::unique_lock<std::mutex> l(m_);
    cv_.wait(l, [&] { return open_; });
  }
  void open() {
    {
      std::lock_guard<std::mutex> l(m_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Feeds observations one per message. The k-th background fit is held back until `delays[k]`
// further observations have been ingested after its fire, then run to completion, so the new
// model goes live at the next observation: fire step + delay + 1, whatever the machine's speed.
class Schedule {
 public:
  Schedule(FitPool& pool, std::vector<int64_t> delays) : pool_(pool), delays_(std::move(delays)) { block(); }
  ~Schedule() { blocker_->open(); }

  void run(HostedStream& s, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      const auto out = s.ingest({splice()[i]});
      const auto& ev = out.events.front();
      if (!ev.retrain_started.empty()) fire_ = static_cast<int64_t>(i);
      if (fire_ && static_cast<int64_t>(i) >= *fire_ + delays_[fits_ % delays_.size()]) finish_fit();
    }
  }
  // Lets the held fit (if any) finish now; the pool is idle afterwards and not blocked.
  void drain() {
    blocker_->open();
    pool_.run_and_wait([] {});
  }
  // Blocks the worker again (after drain()).
  void block() {
    blocker_ = std::make_shared<Blocker>();
    pool_.submit([b = blocker_] { b->wait(); });
  }
  bool fit_held() const { return fire_.has_value(); }

 private:
  void finish_fit() {
    drain();
    block();
    fire_.reset();
    ++fits_;
  }
  FitPool& pool_;
  std::vector<int64_t> delays_;
  std::shared_ptr<Blocker> blocker_;
  std::optional<int64_t> fire_;
  size_t fits_ = 0;
};

}  // namespace attune::streams::testing

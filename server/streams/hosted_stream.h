// One hosted stream: the nowcasting engine plus its files in <dir>:
//   config.json       the effective configuration (config_json.h)
//   observations.log  every accepted observation, appended and fdatasynced before the engine
//                     sees it and before the client gets an acknowledgement (observation_log.h)
//   snapshot.bin      the engine state every `snapshot_every` observations and at shutdown,
//                     with the log offset it covers (snapshot_file.h)
// Opening a directory restores the snapshot and replays the log after it, so a restarted server
// resumes the stream where it was. A damaged snapshot is ignored in favour of replaying the
// whole log (which is never compacted).
//
// Background fits and replay: in background mode a finished fit goes live at the first
// observation ingested after it finished, which depends on timing. Each such swap is logged
// as a swap record naming its step. During replay the stream's fits are held back, and a held
// fit is run to completion on the fit pool just before the step its swap record names, so the
// replayed stream passes through the same states as the original (the refitted models are the
// same because a fit's seed is fixed by its version; only their measured CPU-seconds differ).
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "nowcast/nowcaster.h"
#include "streams/config_json.h"
#include "streams/observation_log.h"
#include "streams/stream_metrics.h"

namespace attune::streams {

class FitPool;
class FitGate;

class HostedStream {
 public:
  struct Options {
    FitPool* pool = nullptr;
    int64_t snapshot_every = 1000;  // observations between periodic snapshots
  };

  // Writes the files of a new stream into `dir`, an existing empty directory.
  static void create_files(const std::filesystem::path& dir, const StoredConfig& config);

  // Loads the stream in `dir`. Throws StreamDataLoss if its files are damaged beyond a torn
  // log tail.
  HostedStream(std::filesystem::path dir, Options options);
  ~HostedStream();
  HostedStream(const HostedStream&) = delete;
  HostedStream& operator=(const HostedStream&) = delete;

  const nowcast::StreamConfig& config() const { return stored_.config; }
  nowcast::RetrainMode mode() const { return stored_.mode; }
  double created_unix_seconds() const { return stored_.created_unix_seconds; }
  const std::filesystem::path& dir() const { return dir_; }

  struct Ingested {
    std::vector<nowcast::Events> events;  // one per observation
    int64_t observations = 0;             // durable count afterwards
  };
  // Validates the whole batch (fields observations[i]...), makes it durable, then applies it.
  // Bad input throws std::invalid_argument and changes nothing.
  Ingested ingest(const std::vector<nowcast::Observation>& batch);

  nowcast::StreamStatus status() const { return engine_->status(); }
  std::optional<nowcast::Forecast> latest_forecast() const { return engine_->latest_forecast(); }
  std::vector<nowcast::FitRecord> fit_log() const { return engine_->fit_log(); }
  // The engine state (Nowcaster::snapshot()), as ExportStreamModel returns it.
  std::string export_state() const { return engine_->snapshot(); }

  struct PersistenceInfo {
    int64_t durable_observations = 0;
    int64_t snapshot_observations = 0;
    uint64_t log_bytes = 0;
  };
  PersistenceInfo persistence() const;

  // Shutdown: snapshots the stream if the log has moved on since the last snapshot; later
  // ingests fail with UNAVAILABLE.
  void checkpoint_and_close();
  // DeleteStream: later ingests fail with NOT_FOUND; the stream's metric series are removed.
  void retire();

 private:
  void replay(const std::vector<LogRecord>& records, int64_t first_step);
  void write_snapshot();
  void fail(const std::string& why);

  std::filesystem::path dir_;
  Options options_;
  StoredConfig stored_;
  std::shared_ptr<FitGate> gate_;
  std::unique_ptr<nowcast::Nowcaster> engine_;
  std::unique_ptr<ObservationLog> log_;
  std::unique_ptr<StreamMetrics> metrics_;

  std::mutex ingest_mutex_;  // orders log appends with engine updates
  std::optional<int64_t> last_time_;
  bool closed_ = false, retired_ = false;
  std::string broken_;  // set when disk and memory may disagree; the stream then refuses ingest
  std::atomic<int64_t> durable_{0}, snapshot_observations_{0};
  std::atomic<uint64_t> log_bytes_{0};
};

}  // namespace attune::streams

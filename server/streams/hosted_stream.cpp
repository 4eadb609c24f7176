#include "streams/hosted_stream.h"

#include <set>

#include "core/error.h"
#include "core/log.h"
#include "core/storage.h"
#include "streams/data_loss.h"
#include "streams/fit_gate.h"
#include "streams/fit_pool.h"
#include "streams/snapshot_file.h"

namespace attune::streams {
namespace {

namespace fs = std::filesystem;

const char* kConfigFile = "config.json";
const char* kLogFile = "observations.log";
const char* kSnapshotFile = "snapshot.bin";

StoredConfig load_config(const fs::path& dir) {
  if (!fs::exists(dir / kConfigFile)) throw StreamDataLoss((dir / kConfigFile).string() + " is missing");
  return from_json(read_file(dir / kConfigFile));
}

}  // namespace

void HostedStream::create_files(const fs::path& dir, const StoredConfig& config) {
  atomic_write(dir / kConfigFile, to_json(config));
  ObservationLog::create(dir / kLogFile, static_cast<int64_t>(config.config.variables.size()));
}

HostedStream::HostedStream(fs::path dir, Options options)
    : dir_(std::move(dir)), options_(options), stored_(load_config(dir_)) {
  auto fresh_engine = [this] {
    gate_ = std::make_shared<FitGate>(*options_.pool);
    nowcast::NowcasterOptions o;
    o.mode = stored_.mode;
    o.executor = [gate = gate_](std::function<void()> job) { gate->submit(std::move(job)); };
    engine_ = std::make_unique<nowcast::Nowcaster>(stored_.config, std::move(o));
  };
  fresh_engine();
  uint64_t offset = 0;
  int64_t first_step = 0;
  try {
    if (auto snap = read_snapshot(dir_ / kSnapshotFile)) {
      engine_->restore(snap->body);
      if (engine_->status().observations != snap->observations)
        throw StreamDataLoss("snapshot body holds " + std::to_string(engine_->status().observations) +
                             " observations, its header " + std::to_string(snap->observations));
      offset = snap->log_offset;
      first_step = snap->observations;
    }
  } catch (const std::exception& e) {
    LOG_WARN("stream " << config().name << ": unusable snapshot (" << e.what()
                       << "); replaying the whole observation log instead");
    fresh_engine();
    offset = 0;
    first_step = 0;
  }
  snapshot_observations_ = first_step;
  log_ = std::make_unique<ObservationLog>(dir_ / kLogFile,
                                          static_cast<int64_t>(config().variables.size()));
  const auto records = log_->recover(offset);
  replay(records, first_step);
  gate_->release();

  const auto status = engine_->status();
  durable_ = status.observations;
  last_time_ = status.last_time;
  log_bytes_ = log_->end();
  metrics_ = std::make_unique<StreamMetrics>(config());
  metrics_->restored(status, engine_->fit_log());
  if (durable_ > snapshot_observations_) {
    std::lock_guard<std::mutex> lock(ingest_mutex_);
    try {
      write_snapshot();  // so that the next start does not replay the same tail again
    } catch (const std::exception& e) {
      LOG_WARN("stream " << config().name << ": snapshot after replay failed: " << e.what());
    }
  }
}

HostedStream::~HostedStream() = default;

void HostedStream::replay(const std::vector<LogRecord>& records, int64_t first_step) {
  std::set<int64_t> swaps;
  for (const auto& r : records)
    if (r.kind == LogRecord::Kind::swap) swaps.insert(r.step);
  int64_t step = first_step;
  for (const auto& r : records) {
    if (r.kind != LogRecord::Kind::observation) continue;
    const bool swap = swaps.count(step) > 0;
    if (swap && !gate_->run_held())
      LOG_WARN("stream " << config().name << ": the log swaps a model in at step " << step
                         << " but no fit is pending; replay continues without it");
    nowcast::Events ev;
    try {
      ev = engine_->ingest(r.time, r.values);
    } catch (const std::invalid_argument& e) {
      throw StreamDataLoss("observation log record for step " + std::to_string(step) +
                           " is rejected by the stream: " + e.what());
    }
    if (swap && ev.retrain_finished.empty() && ev.retrain_failed.empty())
      LOG_WARN("stream " << config().name << ": replay did not swap a model in at step " << step
                         << " as the original run did");
    ++step;
  }
  if (step > first_step)
    LOG_INFO("stream " << config().name << ": replayed " << (step - first_step)
                       << " observations after the snapshot at " << first_step);
}

HostedStream::Ingested HostedStream::ingest(const std::vector<nowcast::Observation>& batch) {
  std::lock_guard<std::mutex> lock(ingest_mutex_);
  const std::string& name = config().name;
  if (retired_) throw NotFound("stream '" + name + "' not found");
  if (closed_) throw Unavailable("the server is shutting down; retry once it has restarted");
  if (!broken_.empty()) throw Internal(broken_);
  if (batch.empty())
    throw std::invalid_argument("observations: expected at least one observation, received 0");

  // Validate everything first: the log only ever holds observations the engine accepts.
  std::vector<int64_t> times;
  std::vector<std::vector<double>> rows;
  times.reserve(batch.size());
  rows.reserve(batch.size());
  auto last = last_time_;
  for (size_t i = 0; i < batch.size(); ++i) {
    rows.push_back(nowcast::check_observation(config(), last, batch[i],
                                              "observations[" + std::to_string(i) + "]"));
    times.push_back(batch[i].time);
    last = batch[i].time;
  }

  const uint64_t before = log_->end();
  try {
    log_->append_observations(times, rows);
    log_->sync();
  } catch (...) {
    try {
      log_->truncate(before);
    } catch (const std::exception& e) {
      fail(std::string("cannot roll back a failed log append: ") + e.what());
    }
    throw;
  }

  Ingested out;
  try {
    out.events = engine_->ingest_batch(batch);
  } catch (const std::exception& e) {
    // Validated input is never rejected, so this is ours; the engine may be half-way through
    // the batch. The log forgets the batch, and the stream waits for a restart to reload it.
    try {
      log_->truncate(before);
    } catch (...) {
    }
    fail(std::string("internal error while applying observations: ") + e.what());
    throw Internal(broken_);
  }
  last_time_ = times.back();

  if (mode() == nowcast::RetrainMode::background) {
    std::vector<int64_t> swaps;
    for (const auto& ev : out.events)
      if (!ev.retrain_finished.empty() || !ev.retrain_failed.empty()) swaps.push_back(ev.step);
    if (!swaps.empty()) {
      try {
        log_->append_swaps(swaps);
        log_->sync();
      } catch (const std::exception& e) {
        fail(std::string("cannot log a model swap: ") + e.what());
        throw Internal(broken_);
      }
    }
  }
  out.observations = durable_ + static_cast<int64_t>(batch.size());
  durable_ = out.observations;
  log_bytes_ = log_->end();
  metrics_->record(out.events);
  if (durable_ - snapshot_observations_ >= options_.snapshot_every) {
    try {
      write_snapshot();
    } catch (const std::exception& e) {
      // The log still holds everything; the next message tries again.
      LOG_WARN("stream " << name << ": snapshot failed: " << e.what());
    }
  }
  return out;
}

void HostedStream::write_snapshot() {
  Snapshot s;
  s.log_offset = log_->end();
  s.body = engine_->snapshot();
  s.observations = durable_;
  write_snapshot_file(dir_ / kSnapshotFile, s);
  snapshot_observations_ = s.observations;
}

void HostedStream::fail(const std::string& why) {
  broken_ = "stream '" + config().name + "': " + why +
            "; restart the server to reload it from its files";
  LOG_ERROR(broken_);
}

HostedStream::PersistenceInfo HostedStream::persistence() const {
  return {durable_.load(), snapshot_observations_.load(), log_bytes_.load()};
}

void HostedStream::checkpoint_and_close() {
  std::lock_guard<std::mutex> lock(ingest_mutex_);
  if (closed_ || retired_) return;
  closed_ = true;
  if (!broken_.empty() || durable_ == snapshot_observations_) return;
  try {
    write_snapshot();
  } catch (const std::exception& e) {
    LOG_ERROR("stream " << config().name << ": shutdown snapshot failed (" << e.what()
                        << "); the restart replays the observation log instead");
  }
}

void HostedStream::retire() {
  std::lock_guard<std::mutex> lock(ingest_mutex_);
  retired_ = true;
  metrics_->remove();
  log_.reset();
}

}  // namespace attune::streams

#include "streams/stream_store.h"

#include <chrono>

#include "core/error.h"
#include "core/log.h"
#include "core/storage.h"
#include "streams/data_loss.h"

namespace attune::streams {
namespace {

namespace fs = std::filesystem;

// Hidden names cannot clash with streams: stream names start with a letter or digit.
const std::string kCreating = ".creating-";
const std::string kDeleting = ".deleting-";

double now_unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

StreamStore::StreamStore(StoreOptions options)
    : options_(std::move(options)), pool_(options_.fit_workers) {}

StreamStore::~StreamStore() { shutdown(); }

fs::path StreamStore::unique_hidden(const std::string& prefix, const std::string& name) const {
  for (int i = 0;; ++i) {
    const fs::path p = options_.dir / (prefix + name + (i ? "." + std::to_string(i) : ""));
    if (!fs::exists(p)) return p;
  }
}

void StreamStore::restore() {
  make_dirs(options_.dir);
  // Snapshots are written with atomic_write(); a kill mid-write leaves its temporary file.
  if (const int n = remove_stale_temp_files(options_.dir, /*recursive=*/true))
    LOG_INFO("removed " << n << " temporary file(s) left in " << options_.dir.string()
                        << " by an interrupted snapshot");
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(options_.dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kCreating, 0) == 0 || name.rfind(kDeleting, 0) == 0) {
      LOG_INFO("removing " << entry.path().string() << " left by an interrupted create/delete");
      fs::remove_all(entry.path());
      continue;
    }
    if (entry.is_directory()) dirs.push_back(entry.path());
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& dir : dirs) {
    const std::string name = dir.filename().string();
    try {
      HostedStream::Options o{&pool_, options_.snapshot_every};
      auto s = std::make_shared<HostedStream>(dir, o);
      LOG_INFO("stream " << name << " restored at " << s->persistence().durable_observations
                         << " observations");
      streams_[name] = std::move(s);
    } catch (const std::exception& e) {
      LOG_ERROR("stream " << name << " cannot be loaded: " << e.what()
                          << " (its files are kept; DeleteStream removes them)");
      damaged_[name] = std::string("stream '") + name + "' cannot be loaded: " + e.what();
    }
  }
}

std::shared_ptr<HostedStream> StreamStore::create(const nowcast::StreamConfig& config,
                                                  nowcast::RetrainMode mode) {
  check_name("config.name", config.name);
  nowcast::validate(config);
  std::lock_guard<std::mutex> lock(mutex_);
  if (shut_down_) throw Unavailable("the server is shutting down");
  if (streams_.count(config.name) || damaged_.count(config.name) ||
      fs::exists(options_.dir / config.name))
    throw AlreadyExists("stream '" + config.name + "' already exists");
  const size_t hosted = streams_.size() + damaged_.size();
  if (hosted >= static_cast<size_t>(options_.max_streams))
    throw ResourceExhausted("cannot create stream '" + config.name + "': " + std::to_string(hosted) +
                            " streams hosted, the limit is " + std::to_string(options_.max_streams) +
                            " (--max-streams); delete one first");

  const fs::path tmp = unique_hidden(kCreating, config.name);
  const fs::path dir = options_.dir / config.name;
  try {
    make_dirs(tmp);
    HostedStream::create_files(tmp, StoredConfig{config, mode, now_unix_seconds()});
    durable_rename(tmp, dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  auto s = std::make_shared<HostedStream>(dir, HostedStream::Options{&pool_, options_.snapshot_every});
  streams_[config.name] = s;
  LOG_INFO("stream " << config.name << " created (" << nowcast::to_string(config.model.kind) << ", "
                     << nowcast::to_string(config.retrain.trigger) << ", " << to_string(mode) << ")");
  return s;
}

std::shared_ptr<HostedStream> StreamStore::get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = streams_.find(name);
  if (it != streams_.end()) return it->second;
  const auto d = damaged_.find(name);
  if (d != damaged_.end()) throw StreamDataLoss(d->second);
  throw NotFound("stream '" + name + "' not found");
}

std::vector<StreamStore::Entry> StreamStore::list() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, Entry> all;
  for (const auto& [name, s] : streams_) all[name] = Entry{name, s, ""};
  for (const auto& [name, why] : damaged_) all[name] = Entry{name, nullptr, why};
  std::vector<Entry> out;
  for (auto& [_, e] : all) out.push_back(std::move(e));
  return out;
}

void StreamStore::remove(const std::string& name) {
  std::shared_ptr<HostedStream> stream;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = streams_.find(name);
    if (it == streams_.end() && !damaged_.count(name))
      throw NotFound("stream '" + name + "' not found");
    if (it != streams_.end()) {
      stream = it->second;
      streams_.erase(it);
    }
    damaged_.erase(name);
  }
  // Outside the store lock: retiring waits for an ingest in flight. Until the rename below, the
  // directory keeps the name taken (create() answers ALREADY_EXISTS).
  if (stream) stream->retire();
  const fs::path doomed = unique_hidden(kDeleting, name);
  durable_rename(options_.dir / name, doomed);
  std::error_code ec;
  fs::remove_all(doomed, ec);
  if (ec) LOG_WARN("stream " << name << " deleted, but " << doomed.string() << " remains: " << ec.message());
  LOG_INFO("stream " << name << " deleted");
}

void StreamStore::shutdown() {
  std::vector<std::shared_ptr<HostedStream>> streams;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    for (const auto& [_, s] : streams_) streams.push_back(s);
  }
  for (const auto& s : streams) s->checkpoint_and_close();
  pool_.shutdown();
}

}  // namespace attune::streams

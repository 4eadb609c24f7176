// The streams hosted by the server, persisted under <data dir>/streams/<name>/ (hosted_stream.h).
// Creating a stream writes its files into a hidden temporary directory and renames it into place;
// deleting renames the directory away and then removes it, so a crash never leaves a half-made
// or half-deleted stream (leftovers of either are removed at the next start).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "streams/fit_pool.h"
#include "streams/hosted_stream.h"

namespace attune::streams {

struct StoreOptions {
  std::filesystem::path dir;  // <data dir>/streams
  int max_streams = 64;
  int fit_workers = 1;
  int64_t snapshot_every = 1000;
};

class StreamStore {
 public:
  explicit StreamStore(StoreOptions options);
  ~StreamStore();

  // Loads every stream directory. A stream whose files are damaged is kept as an entry with an
  // error: it counts against max_streams and can only be deleted.
  void restore();

  // ALREADY_EXISTS, RESOURCE_EXHAUSTED (max_streams) or INVALID_ARGUMENT (name, config).
  std::shared_ptr<HostedStream> create(const nowcast::StreamConfig& config, nowcast::RetrainMode mode);
  // NOT_FOUND, or StreamDataLoss for a damaged stream.
  std::shared_ptr<HostedStream> get(const std::string& name) const;

  struct Entry {
    std::string name;
    std::shared_ptr<HostedStream> stream;  // null when damaged
    std::string error;
  };
  std::vector<Entry> list() const;  // by name
  void remove(const std::string& name);

  // Snapshots every stream, refuses further ingest (UNAVAILABLE) and stops the fit pool.
  void shutdown();

  FitPool& pool() { return pool_; }

 private:
  std::filesystem::path unique_hidden(const std::string& prefix, const std::string& name) const;

  StoreOptions options_;
  FitPool pool_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<HostedStream>> streams_;
  std::map<std::string, std::string> damaged_;  // name -> why
  bool shut_down_ = false;
};

}  // namespace attune::streams

// Test-time adaptation sessions: one tta::Adapter (a private model copy) per session, calls on a
// session serialised, sessions on different clients independent, a cap on open sessions and
// expiry after an idle timeout so abandoned sessions free their memory.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/dataset_store.h"
#include "core/model_registry.h"
#include "tta/adapter.h"

namespace attune::adapt {

struct SessionInfo {
  std::string id;
  std::string model;
  int64_t version = 0;
  tta::Options options;
  tta::SessionStats stats;
  bool has_fisher = false;
  int64_t fisher_samples = 0;
  double created_unix_seconds = 0;
  double idle_seconds = 0;
};

struct AdaptOutcome {
  tta::AdaptResult result;
  double seconds = 0;
  int64_t sequence = 0;  // batches adapted by the session so far
};

class SessionManager {
 public:
  SessionManager(ModelRegistry& models, DatasetStore& datasets, int max_sessions, double idle_seconds);
  ~SessionManager();

  // NOT_FOUND / FAILED_PRECONDITION for the model, INVALID_ARGUMENT for options,
  // FAILED_PRECONDITION when the method needs BatchNorm and the model has none,
  // RESOURCE_EXHAUSTED beyond max_sessions.
  SessionInfo create(const std::string& model, int64_t version, const tta::Options& options);
  // The batch must already be decoded; it is checked against the model's declared input.
  AdaptOutcome adapt(const std::string& id, const torch::Tensor& batch);
  SessionInfo fisher_from_samples(const std::string& id, const torch::Tensor& samples, int64_t batch_size);
  // `cancelled` is looked at before the estimate starts (loading and sampling the dataset can
  // take a while); the estimate itself runs to its end (tta::estimate_fisher has no hook).
  SessionInfo fisher_from_dataset(const std::string& id, const std::string& dataset, int64_t size,
                                  int64_t batch_size, uint64_t seed,
                                  const std::function<bool()>& cancelled = {});
  SessionInfo reset(const std::string& id);
  SessionInfo get(const std::string& id) const;
  std::vector<SessionInfo> list() const;
  void close(const std::string& id);
  ModelInfo publish(const std::string& id, const std::string& name);
  // The declared input of the session's model (for validating batches before adapting).
  TensorSpec input_spec(const std::string& id) const;
  void shutdown();

 private:
  struct Session;
  std::shared_ptr<Session> find(const std::string& id) const;
  SessionInfo info_of(Session& s) const;
  void janitor();
  void update_gauge_locked() const;

  ModelRegistry& models_;
  DatasetStore& datasets_;
  int max_sessions_;
  double idle_seconds_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
  std::map<std::string, double> expired_;  // id -> when, to say "expired" rather than "unknown"
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread janitor_;
};

}  // namespace attune::adapt

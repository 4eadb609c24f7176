// Hosted TorchScript models: names with monotonically increasing versions, persisted under
// <data>/models/<name>/<version>/{model.pt,meta.json}. A version is written completely in a
// hidden folder and renamed into place, so a crash never leaves a half-written version; a load
// that fails (bad bytes, probe forward throws) leaves the serving version untouched.
#pragma once
#include <torch/script.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/tensor_codec.h"

namespace prometheus {
class Counter;
class Histogram;
}  // namespace prometheus

namespace attune {

enum class ModelState { kLoading = 1, kReady = 2, kFailed = 3 };

struct ModelVersionInfo {
  int64_t version = 0;
  ModelState state = ModelState::kLoading;
  int64_t parameter_count = 0;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  bool has_features = false;
  std::string origin;
  int64_t size_bytes = 0;
  double created_unix_seconds = 0;
  std::string error;
  int64_t batchnorm_layers = 0;
};

struct ModelInfo {
  std::string name;
  std::vector<ModelVersionInfo> versions;  // ascending
  int64_t serving_version = 0;             // 0 = none READY
};

// One READY version. Immutable: training and adaptation work on copies (clone_module()).
class HostedModel {
 public:
  HostedModel(std::string name, torch::jit::Module module, ModelVersionInfo info,
              std::filesystem::path file);
  ~HostedModel();
  HostedModel(const HostedModel&) = delete;
  HostedModel& operator=(const HostedModel&) = delete;

  const std::string& name() const { return name_; }
  const ModelVersionInfo& info() const { return info_; }
  const std::filesystem::path& file() const { return file_; }

  // Forward pass in eval mode without autograd. Safe to call from many threads at once.
  // Throws attune::Error(kInvalidArgument) when LibTorch rejects the inputs.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const;
  // The module itself, for code that makes its own private copy (it must not be mutated).
  const torch::jit::Module& module() const { return module_; }
  // A deep copy (parameters and buffers cloned) that can be trained or adapted freely.
  torch::jit::Module clone_module() const;

 private:
  std::string name_;
  torch::jit::Module module_;
  ModelVersionInfo info_;
  std::filesystem::path file_;
  prometheus::Counter* samples_;
  prometheus::Histogram* seconds_;
};

class ModelRegistry {
 public:
  ModelRegistry(std::filesystem::path data_dir, std::filesystem::path repository_root,
                int max_versions);

  // Loads every version persisted in the data dir (leftovers of interrupted writes are removed).
  void restore();

  // Each returns the model's info after the load; a failed load throws (INVALID_ARGUMENT with
  // LibTorch's reason) and records the version as FAILED without touching the serving version.
  ModelInfo load_bytes(const std::string& name, std::string_view torchscript,
                       std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs,
                       int64_t version, const std::string& origin = "upload");
  ModelInfo load_repository(const std::string& name, const std::string& repository_path,
                            int64_t version);
  // For uploads that arrive in chunks: a fresh file path to write, then load_staged() moves it
  // into place (or discards it on failure).
  std::filesystem::path new_staging_file(const std::string& name);
  ModelInfo load_staged(const std::string& name, const std::filesystem::path& staged,
                        std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs,
                        int64_t version, const std::string& origin = "upload");
  // Publishes a module produced by training or adaptation as a new version of `name`.
  ModelInfo publish(const std::string& name, const torch::jit::Module& module,
                    std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs,
                    const std::string& origin);

  std::vector<int64_t> unload(const std::string& name, int64_t version);
  std::vector<ModelInfo> list() const;
  ModelInfo get(const std::string& name) const;
  // version 0 = serving version. NOT_FOUND for unknown name/version, FAILED_PRECONDITION when
  // the version exists but is not READY.
  std::shared_ptr<const HostedModel> resolve(const std::string& name, int64_t version) const;

  const std::filesystem::path& repository_root() const { return repository_root_; }

 private:
  struct Entry {
    std::map<int64_t, ModelVersionInfo> versions;
    std::map<int64_t, std::shared_ptr<const HostedModel>> ready;
  };

  // Installs `source` as a new version: moved when `move_source` (a staged upload), else copied.
  ModelInfo load_file(const std::string& name, const std::filesystem::path& source,
                      bool move_source, std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs,
                      int64_t version, const std::string& origin);
  int64_t reserve_version(const std::string& name, int64_t requested);
  void persist_version_counters();
  ModelInfo info_locked(const std::string& name) const;
  void update_state_gauges_locked();

  std::filesystem::path models_dir_;
  std::filesystem::path repository_root_;
  int max_versions_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Entry> models_;
  std::map<std::string, int64_t> last_version_;  // never decreases, even after unload
};

}  // namespace attune

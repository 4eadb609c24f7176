// Labelled datasets persisted under <data>/datasets/<name>/{data.pt,meta.json}; each is written
// in a hidden folder and renamed into place. Tensors load lazily on first use.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/tensor_codec.h"

namespace attune {

struct DatasetInfo {
  std::string name;
  int64_t samples = 0;
  TensorSpec features;  // per-sample shape
  TensorSpec labels;    // per-sample shape ({} for class ids)
  double feature_scale = 1.0;
  int64_t size_bytes = 0;
  std::string origin;
  double created_unix_seconds = 0;
  int64_t classes = 0;  // integer labels: max + 1
};

struct Dataset {
  DatasetInfo info;
  torch::Tensor features;  // [N, ...] stored dtype
  torch::Tensor labels;    // [N, ...]
};

class DatasetStore {
 public:
  DatasetStore(std::filesystem::path data_dir, std::filesystem::path imports_root);

  void restore();
  // Validates (matching sample counts, finite floats, non-negative integer labels) and persists.
  // ALREADY_EXISTS when the name is taken.
  DatasetInfo put(const std::string& name, torch::Tensor features, torch::Tensor labels,
                  double feature_scale, const std::string& origin);
  std::shared_ptr<const Dataset> get(const std::string& name) const;  // NOT_FOUND
  DatasetInfo info(const std::string& name) const;
  std::vector<DatasetInfo> list() const;
  // FAILED_PRECONDITION while `in_use` says a job needs it.
  void remove(const std::string& name);
  void set_in_use_check(std::function<bool(const std::string&)> in_use) { in_use_ = std::move(in_use); }

  // Server-side imports from files under the imports root (paths cannot escape it). When
  // `cancelled` turns true (the caller went away or its deadline passed) the import stops
  // within one block of rows and stores nothing (attune::Error kCancelled).
  using CancelCheck = std::function<bool()>;
  DatasetInfo import_idx(const std::string& name, const std::string& path, const std::string& split,
                         const std::string& labels_path, int64_t limit,
                         const CancelCheck& cancelled = {});
  DatasetInfo import_csv(const std::string& name, const std::string& path,
                         const std::string& label_column, bool regression, int64_t limit,
                         const CancelCheck& cancelled = {});
  const std::filesystem::path& imports_root() const { return imports_root_; }

 private:
  std::filesystem::path dir_, imports_root_;
  mutable std::mutex mu_;
  std::map<std::string, DatasetInfo> infos_;
  mutable std::map<std::string, std::shared_ptr<const Dataset>> loaded_;
  std::function<bool(const std::string&)> in_use_;
};

}  // namespace attune

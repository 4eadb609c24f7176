#include "core/dataset_store.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "core/storage.h"
#include "data/idx.h"

namespace attune {
namespace {

double now_unix() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

nlohmann::json to_json(const DatasetInfo& d) {
  return {{"name", d.name},
          {"samples", d.samples},
          {"features", {{"dtype", dtype_name(d.features.dtype)}, {"shape", d.features.shape}}},
          {"labels", {{"dtype", dtype_name(d.labels.dtype)}, {"shape", d.labels.shape}}},
          {"feature_scale", d.feature_scale},
          {"size_bytes", d.size_bytes},
          {"origin", d.origin},
          {"created_unix_seconds", d.created_unix_seconds},
          {"classes", d.classes}};
}

DatasetInfo from_json(const nlohmann::json& j) {
  DatasetInfo d;
  d.name = j.at("name");
  d.samples = j.at("samples");
  d.features = {"features", *from_dtype_name(j["features"]["dtype"]), j["features"]["shape"].get<Shape>()};
  d.labels = {"labels", *from_dtype_name(j["labels"]["dtype"]), j["labels"]["shape"].get<Shape>()};
  d.feature_scale = j.value("feature_scale", 1.0);
  d.size_bytes = j.value("size_bytes", int64_t{0});
  d.origin = j.value("origin", std::string());
  d.created_unix_seconds = j.value("created_unix_seconds", 0.0);
  d.classes = j.value("classes", int64_t{0});
  return d;
}

// Rows parsed between two looks at the caller's cancellation.
constexpr int64_t kRowsPerCancelCheck = 4096;

void throw_if_cancelled(const DatasetStore::CancelCheck& cancelled, const std::string& name,
                        int64_t rows) {
  if (cancelled && cancelled())
    throw Error(Code::kCancelled, "import of dataset '" + name + "' cancelled by the caller after " +
                                      std::to_string(rows) + " rows; nothing was stored");
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) {
      out.push_back(cell);
      cell.clear();
    } else if (c != '\r') {
      cell += c;
    }
  }
  out.push_back(cell);
  return out;
}

}  // namespace

DatasetStore::DatasetStore(std::filesystem::path data_dir, std::filesystem::path imports_root)
    : dir_(data_dir / "datasets"), imports_root_(std::move(imports_root)) {
  make_dirs(dir_);
}

void DatasetStore::restore() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& e : fs::directory_iterator(dir_)) {
    const std::string name = e.path().filename();
    if (name[0] == '.') {
      fs::remove_all(e.path());  // an interrupted write
      continue;
    }
    try {
      infos_[name] = from_json(nlohmann::json::parse(read_file(e.path() / "meta.json")));
    } catch (const std::exception& ex) {
      LOG_ERROR("dataset " << name << " is unreadable, skipping: " << ex.what());
    }
  }
  LOG_INFO("restored " << infos_.size() << " dataset(s)");
}

DatasetInfo DatasetStore::put(const std::string& name, torch::Tensor features, torch::Tensor labels,
                              double feature_scale, const std::string& origin) {
  check_name("name", name);
  if (!features.defined() || !labels.defined() || features.dim() < 1 || labels.dim() < 1)
    throw InvalidArgument("dataset '" + name + "': no samples");
  if (features.size(0) != labels.size(0))
    throw InvalidArgument("labels: expected " + std::to_string(features.size(0)) +
                          " samples (one per feature row), received " + std::to_string(labels.size(0)));
  if (features.size(0) == 0) throw InvalidArgument("dataset '" + name + "': no samples");
  check_finite("features", features);
  check_finite("labels", labels);
  if (!(feature_scale > 0) || !std::isfinite(feature_scale))
    throw InvalidArgument("feature_scale: expected > 0, received " + std::to_string(feature_scale));
  DatasetInfo info;
  info.name = name;
  info.samples = features.size(0);
  info.features = {"features", dtype_of(features), features.sizes().slice(1).vec()};
  info.labels = {"labels", dtype_of(labels), labels.sizes().slice(1).vec()};
  info.feature_scale = feature_scale;
  info.origin = origin;
  info.created_unix_seconds = now_unix();
  if (!labels.is_floating_point()) {
    if (labels.min().item<int64_t>() < 0)
      throw InvalidArgument("labels: class ids must be >= 0, received " +
                            std::to_string(labels.min().item<int64_t>()));
    info.classes = labels.max().item<int64_t>() + 1;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (infos_.count(name))
      throw AlreadyExists("dataset '" + name + "' already exists; delete it first or pick another name");
    infos_[name] = info;  // reserve the name while writing
  }
  const fs::path stage = dir_ / (".incoming-" + name + "-" + std::to_string(std::random_device{}()));
  try {
    make_dirs(stage);
    torch::serialize::OutputArchive archive;
    archive.write("features", features.contiguous());
    archive.write("labels", labels.contiguous());
    archive.save_to((stage / "data.pt").string());
    fsync_path(stage / "data.pt");
    info.size_bytes = static_cast<int64_t>(fs::file_size(stage / "data.pt"));
    atomic_write(stage / "meta.json", to_json(info).dump(2));
    durable_rename(stage, dir_ / name);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(stage, ec);
    std::lock_guard<std::mutex> lock(mu_);
    infos_.erase(name);
    throw;
  }
  std::lock_guard<std::mutex> lock(mu_);
  infos_[name] = info;
  loaded_[name] = std::make_shared<const Dataset>(Dataset{info, features, labels});
  LOG_INFO("dataset " << name << ": " << info.samples << " samples, features "
                      << shape_str(info.features.shape) << " " << dtype_name(info.features.dtype));
  return info;
}

std::shared_ptr<const Dataset> DatasetStore::get(const std::string& name) const {
  DatasetInfo info;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = loaded_.find(name); it != loaded_.end()) return it->second;
    auto it = infos_.find(name);
    if (it == infos_.end())
      throw NotFound("dataset '" + name + "' not found (ListDatasets shows what exists)");
    info = it->second;
  }
  torch::serialize::InputArchive archive;
  archive.load_from((dir_ / name / "data.pt").string());
  auto ds = std::make_shared<Dataset>();
  ds->info = info;
  archive.read("features", ds->features);
  archive.read("labels", ds->labels);
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_.emplace(name, ds).first->second;
}

DatasetInfo DatasetStore::info(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = infos_.find(name);
  if (it == infos_.end())
    throw NotFound("dataset '" + name + "' not found (ListDatasets shows what exists)");
  return it->second;
}

std::vector<DatasetInfo> DatasetStore::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<DatasetInfo> out;
  for (const auto& [_, i] : infos_) out.push_back(i);
  return out;
}

void DatasetStore::remove(const std::string& name) {
  info(name);  // NOT_FOUND first
  if (in_use_ && in_use_(name))
    throw FailedPrecondition("dataset '" + name + "' is used by a queued or running training job; "
                             "cancel the job first");
  {
    std::lock_guard<std::mutex> lock(mu_);
    infos_.erase(name);
    loaded_.erase(name);
  }
  const fs::path trash = dir_ / (".trash-" + name);
  durable_rename(dir_ / name, trash);
  fs::remove_all(trash);
}

DatasetInfo DatasetStore::import_idx(const std::string& name, const std::string& path,
                                     const std::string& split, const std::string& labels_path,
                                     int64_t limit, const CancelCheck& cancelled) {
  check_name("name", name);
  if (limit < 0) throw InvalidArgument("limit: expected >= 0, received " + std::to_string(limit));
  const fs::path src = resolve_under(imports_root_, path, "path");
  torch::Tensor images, labels;
  try {
    if (fs::is_directory(src)) {
      if (!split.empty() && split != "train" && split != "test")
        throw InvalidArgument("split: expected 'train' or 'test', received '" + split + "'");
      auto set = data::load_mnist_style(src.string(), split != "test", limit ? limit : -1);
      images = (set.images * 255).round().to(torch::kUInt8);
      labels = set.labels;
    } else if (fs::exists(src)) {
      if (labels_path.empty())
        throw InvalidArgument("labels_path: required when path names an images file");
      images = data::read_idx(src.string(), limit ? limit : -1);
      labels = data::read_idx(resolve_under(imports_root_, labels_path, "labels_path").string(),
                              limit ? limit : -1).to(torch::kInt64);
      if (images.dim() == 3) images = images.unsqueeze(1);
    } else {
      throw NotFound("path: '" + path + "' not found under the datasets folder " + imports_root_.string());
    }
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const Error*>(&e)) throw;
    throw InvalidArgument(std::string("path: ") + e.what());
  }
  throw_if_cancelled(cancelled, name, images.defined() ? images.size(0) : 0);
  // Images stay uint8 on disk (4x smaller); training scales them to [0, 1].
  return put(name, images, labels, 1.0 / 255.0, "idx:" + path + (split.empty() ? "" : ":" + split));
}

DatasetInfo DatasetStore::import_csv(const std::string& name, const std::string& path,
                                     const std::string& label_column, bool regression,
                                     int64_t limit, const CancelCheck& cancelled) {
  check_name("name", name);
  const fs::path src = resolve_under(imports_root_, path, "path");
  std::ifstream in(src);
  if (!in) throw NotFound("path: '" + path + "' not found under the datasets folder " + imports_root_.string());
  std::string line;
  if (!std::getline(in, line)) throw InvalidArgument("path: '" + path + "' is empty");
  const auto header = split_csv_line(line);
  size_t label_idx = header.size() - 1;
  if (!label_column.empty()) {
    auto it = std::find(header.begin(), header.end(), label_column);
    if (it == header.end())
      throw InvalidArgument("label_column: '" + label_column + "' is not a column of " + path);
    label_idx = static_cast<size_t>(it - header.begin());
  }
  std::vector<float> feats;
  std::vector<double> labs;
  int64_t rows = 0;
  while (std::getline(in, line) && (limit == 0 || rows < limit)) {
    if (rows % kRowsPerCancelCheck == 0) throw_if_cancelled(cancelled, name, rows);
    if (line.empty()) continue;
    const auto cells = split_csv_line(line);
    if (cells.size() != header.size())
      throw InvalidArgument(path + " line " + std::to_string(rows + 2) + ": expected " +
                            std::to_string(header.size()) + " columns, received " + std::to_string(cells.size()));
    for (size_t c = 0; c < cells.size(); ++c) {
      double v;
      try {
        size_t pos = 0;
        v = std::stod(cells[c], &pos);
        if (pos != cells[c].size()) throw std::invalid_argument(cells[c]);
      } catch (const std::exception&) {
        throw InvalidArgument(path + " line " + std::to_string(rows + 2) + " column '" + header[c] +
                              "': expected a number, received '" + cells[c] + "'");
      }
      if (c == label_idx) labs.push_back(v);
      else feats.push_back(static_cast<float>(v));
    }
    ++rows;
  }
  const int64_t width = static_cast<int64_t>(header.size()) - 1;
  auto features = torch::from_blob(feats.data(), {rows, width}, torch::kFloat32).clone();
  auto labels = torch::from_blob(labs.data(), {rows}, torch::kFloat64).clone();
  if (regression) {
    labels = labels.to(torch::kFloat32);
  } else {
    if (!torch::equal(labels, labels.round()))
      throw InvalidArgument("labels: column '" + header[label_idx] +
                            "' has non-integer values; set regression for float targets");
    labels = labels.to(torch::kInt64);
  }
  throw_if_cancelled(cancelled, name, rows);
  return put(name, features, labels, 1.0, "csv:" + path);
}

}  // namespace attune

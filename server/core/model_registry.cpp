#include "core/model_registry.h"

#include <chrono>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/model_inspect.h"
#include "core/model_meta.h"
#include "core/storage.h"
#include "metrics/catalog.h"
#include "metrics/registry.h"

namespace attune {
namespace {

constexpr size_t kFailedVersionsKept = 4;

double now_unix() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string state_name(ModelState s) {
  switch (s) {
    case ModelState::kLoading: return "LOADING";
    case ModelState::kReady: return "READY";
    case ModelState::kFailed: return "FAILED";
  }
  return "UNKNOWN";
}

bool is_number(const std::string& s) {
  return !s.empty() && s.size() < 18 && std::all_of(s.begin(), s.end(), ::isdigit);
}

fs::path staging_dir(const fs::path& model_dir, int64_t version) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return model_dir / (".incoming-" + std::to_string(version) + "-" + std::to_string(rng() % 1000000));
}

}  // namespace

namespace {

// Per-model inference series live while any version of the model does (in-flight requests may
// hold an unloaded version), then leave /metrics so churned model names do not pile up.
std::mutex g_series_mu;
std::map<std::string, int> g_series_users;

}  // namespace

HostedModel::HostedModel(std::string name, torch::jit::Module module, ModelVersionInfo info,
                         std::filesystem::path file)
    : name_(std::move(name)), module_(std::move(module)), info_(std::move(info)),
      file_(std::move(file)) {
  module_.eval();
  const auto& cat = metrics::catalog();
  std::lock_guard<std::mutex> lock(g_series_mu);
  ++g_series_users[name_];
  samples_ = &cat.inference_samples.Add({{"model", name_}});
  seconds_ = &cat.inference_seconds.Add({{"model", name_}}, metrics::buckets::rpc_seconds());
}

HostedModel::~HostedModel() {
  std::lock_guard<std::mutex> lock(g_series_mu);
  if (--g_series_users[name_] > 0) return;
  g_series_users.erase(name_);
  metrics::catalog().inference_samples.Remove(samples_);
  metrics::catalog().inference_seconds.Remove(seconds_);
}

std::vector<torch::Tensor> HostedModel::forward(const std::vector<torch::Tensor>& inputs) const {
  const auto start = std::chrono::steady_clock::now();
  std::vector<c10::IValue> args(inputs.begin(), inputs.end());
  std::vector<torch::Tensor> outs;
  try {
    c10::InferenceMode guard;
    // A jit::Module is a handle; concurrent forward() calls share the graph executor, which is
    // thread-safe, and never mutate parameters in eval mode without autograd.
    torch::jit::Module handle = module_;
    outs = tensors_of(handle.forward(args));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // Inputs were validated against the declared specs; what LibTorch still rejects is about the
    // inputs (e.g. a model declared without shapes), so it is the caller's to fix.
    throw InvalidArgument("model '" + name_ + "' version " + std::to_string(info_.version) +
                          " rejected the inputs: " + torch_error_message(e));
  }
  const int64_t batch = inputs.empty() || inputs[0].dim() == 0 ? 1 : inputs[0].size(0);
  samples_->Increment(static_cast<double>(batch));
  seconds_->Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return outs;
}

torch::jit::Module HostedModel::clone_module() const {
  // deepcopy() clones every tensor; with autograd on, a clone of a parameter is a non-leaf that
  // no optimizer accepts. Copy without autograd, then restore each parameter's requires_grad.
  torch::jit::Module copy;
  {
    torch::NoGradGuard no_grad;
    copy = module_.deepcopy();
  }
  const auto src = module_.named_parameters(/*recurse=*/true);
  const auto dst = copy.named_parameters(/*recurse=*/true);
  auto s = src.begin();
  for (auto d = dst.begin(); d != dst.end() && s != src.end(); ++d, ++s)
    (*d).value.requires_grad_((*s).value.requires_grad());
  return copy;
}

ModelRegistry::ModelRegistry(fs::path data_dir, fs::path repository_root, int max_versions)
    : models_dir_(data_dir / "models"), repository_root_(std::move(repository_root)),
      max_versions_(max_versions) {
  make_dirs(models_dir_);
}

void ModelRegistry::restore() {
  std::unique_lock lock(mu_);
  if (const int n = remove_stale_temp_files(models_dir_, /*recursive=*/false))
    LOG_INFO("removed " << n << " temporary file(s) left in " << models_dir_ << " by an interrupted write");
  const fs::path counters = models_dir_ / ".versions.json";
  if (fs::exists(counters)) {
    try {
      last_version_ = nlohmann::json::parse(read_file(counters)).get<std::map<std::string, int64_t>>();
    } catch (const std::exception& e) {
      LOG_WARN("ignoring unreadable " << counters << ": " << e.what());
    }
  }
  for (const auto& model_dir : fs::directory_iterator(models_dir_)) {
    const std::string name = model_dir.path().filename();
    if (!model_dir.is_directory() || name[0] == '.') continue;
    for (const auto& vdir : fs::directory_iterator(model_dir.path())) {
      const std::string vname = vdir.path().filename();
      if (vname[0] == '.') {  // an interrupted write: never renamed into place, so discard
        LOG_INFO("removing incomplete model write " << vdir.path());
        fs::remove_all(vdir.path());
        continue;
      }
      if (!is_number(vname)) continue;
      const fs::path file = vdir.path() / "model.pt";
      ModelVersionInfo info;
      try {
        info = version_from_json(nlohmann::json::parse(read_file(vdir.path() / "meta.json")));
        auto module = torch::jit::load(file.string());
        module.eval();
        info.state = ModelState::kReady;
        info.parameter_count = parameter_count(module);
        info.has_features = has_features(module);
        info.batchnorm_layers = batchnorm_layers(module);
        info.size_bytes = static_cast<int64_t>(fs::file_size(file));
        auto& entry = models_[name];
        entry.ready[info.version] = std::make_shared<HostedModel>(name, module, info, file);
        entry.versions[info.version] = info;
      } catch (const std::exception& e) {
        info.version = std::stoll(vname);
        info.state = ModelState::kFailed;
        info.error = std::string("could not restore from disk: ") + e.what();
        models_[name].versions[info.version] = info;
        LOG_ERROR("model " << name << " version " << vname << ": " << info.error);
      }
      last_version_[name] = std::max(last_version_[name], info.version);
    }
  }
  update_state_gauges_locked();
  size_t n = 0;
  for (const auto& [_, e] : models_) n += e.ready.size();
  LOG_INFO("restored " << n << " model version(s) from " << models_dir_);
}

int64_t ModelRegistry::reserve_version(const std::string& name, int64_t requested) {
  // Caller holds mu_ exclusively.
  if (requested < 0)
    throw InvalidArgument("version: expected 0 (next) or a positive number, received " +
                          std::to_string(requested));
  size_t hosted = 0;
  for (const auto& [_, e] : models_) hosted += e.ready.size();
  if (hosted >= static_cast<size_t>(max_versions_))
    throw ResourceExhausted("model limit reached: " + std::to_string(hosted) +
                            " versions hosted (--max-models " + std::to_string(max_versions_) +
                            "); unload versions you no longer need");
  auto& entry = models_[name];
  int64_t& last = last_version_[name];
  int64_t v = requested == 0 ? last + 1 : requested;
  if (entry.versions.count(v))
    throw AlreadyExists("model '" + name + "' version " + std::to_string(v) +
                        " already exists; omit the version to get the next one");
  last = std::max(last, v);
  entry.versions[v] = ModelVersionInfo{};
  entry.versions[v].version = v;
  persist_version_counters();
  return v;
}

void ModelRegistry::persist_version_counters() {
  atomic_write(models_dir_ / ".versions.json", nlohmann::json(last_version_).dump());
}

ModelInfo ModelRegistry::load_file(const std::string& name, const fs::path& source,
                                   bool move_source, std::vector<TensorSpec> inputs,
                                   std::vector<TensorSpec> outputs, int64_t requested,
                                   const std::string& origin) {
  const auto start = std::chrono::steady_clock::now();
  int64_t version;
  {
    std::unique_lock lock(mu_);
    version = reserve_version(name, requested);
    update_state_gauges_locked();
  }
  const fs::path model_dir = models_dir_ / name;
  const fs::path stage = staging_dir(model_dir, version);
  const auto& cat = metrics::catalog();
  try {
    make_dirs(stage);
    const fs::path file = stage / "model.pt";
    if (move_source)
      fs::rename(source, file);
    else
      fs::copy_file(source, file);
    fsync_path(file);

    torch::jit::Module module;
    try {
      module = torch::jit::load(file.string());
    } catch (const std::exception& e) {
      throw InvalidArgument("torchscript: not a loadable TorchScript archive (" +
                            torch_error_message(e) +
                            "); export it with torch.jit.script(model).save(path)");
    }
    module.eval();
    if (inputs.empty()) inputs = default_inputs(module);
    outputs = probe(module, inputs, outputs);

    ModelVersionInfo info;
    info.version = version;
    info.state = ModelState::kReady;
    info.parameter_count = parameter_count(module);
    info.inputs = inputs;
    info.outputs = outputs;
    info.has_features = has_features(module);
    info.batchnorm_layers = batchnorm_layers(module);
    info.origin = origin;
    info.size_bytes = static_cast<int64_t>(fs::file_size(file));
    info.created_unix_seconds = now_unix();
    atomic_write(stage / "meta.json", to_json(info).dump(2));
    const fs::path final_dir = model_dir / std::to_string(version);
    durable_rename(stage, final_dir);

    auto hosted = std::make_shared<HostedModel>(name, module, info, final_dir / "model.pt");
    {
      std::unique_lock lock(mu_);
      auto& entry = models_[name];
      entry.versions[version] = info;
      entry.ready[version] = hosted;
      update_state_gauges_locked();
    }
    cat.model_loads.Add({{"result", "ok"}}).Increment();
    cat.model_load_seconds.Add({}, metrics::buckets::load_seconds())
        .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    LOG_INFO("model " << name << " version " << version << " READY (" << info.parameter_count
                      << " parameters, origin " << origin << ")");
    std::shared_lock lock(mu_);
    return info_locked(name);
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove_all(stage, ec);
    {
      std::unique_lock lock(mu_);
      auto& entry = models_[name];
      auto& info = entry.versions[version];
      info.version = version;
      info.state = ModelState::kFailed;
      info.origin = origin;
      info.error = e.what();
      info.created_unix_seconds = now_unix();
      std::vector<int64_t> failed;
      for (const auto& [v, vi] : entry.versions)
        if (vi.state == ModelState::kFailed) failed.push_back(v);
      for (size_t i = 0; i + kFailedVersionsKept < failed.size(); ++i) entry.versions.erase(failed[i]);
      update_state_gauges_locked();
    }
    cat.model_loads.Add({{"result", "error"}}).Increment();
    LOG_WARN("model " << name << " version " << version << " FAILED: " << e.what());
    throw;
  }
}

fs::path ModelRegistry::new_staging_file(const std::string& name) {
  check_name("name", name);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const fs::path dir = models_dir_ / name / (".upload-" + std::to_string(rng()));
  make_dirs(dir);
  return dir / "model.pt";
}

ModelInfo ModelRegistry::load_staged(const std::string& name, const fs::path& staged,
                                     std::vector<TensorSpec> inputs,
                                     std::vector<TensorSpec> outputs, int64_t version,
                                     const std::string& origin) {
  try {
    auto info = load_file(name, staged, true, std::move(inputs), std::move(outputs), version, origin);
    fs::remove_all(staged.parent_path());
    return info;
  } catch (...) {
    std::error_code ec;
    fs::remove_all(staged.parent_path(), ec);
    throw;
  }
}

ModelInfo ModelRegistry::load_bytes(const std::string& name, std::string_view torchscript,
                                    std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs,
                                    int64_t version, const std::string& origin) {
  check_name("name", name);
  if (torchscript.empty())
    throw InvalidArgument("torchscript: empty; send the bytes of a file saved with "
                          "torch.jit.script(model).save(path)");
  const fs::path file = new_staging_file(name);
  try {
    atomic_write(file, torchscript);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(file.parent_path(), ec);
    throw;
  }
  return load_staged(name, file, std::move(inputs), std::move(outputs), version, origin);
}

ModelInfo ModelRegistry::load_repository(const std::string& name_in, const std::string& path,
                                         int64_t version) {
  const fs::path resolved = resolve_under(repository_root_, path, "repository_path");
  fs::path file, config;
  if (fs::is_regular_file(resolved)) {
    file = resolved;
    config = resolved.parent_path().parent_path() / "config.json";
  } else if (fs::is_regular_file(resolved / "model.pt")) {
    file = resolved / "model.pt";
    config = fs::exists(resolved / "config.json") ? resolved / "config.json"
                                                   : resolved.parent_path() / "config.json";
  } else if (fs::is_directory(resolved)) {
    int64_t newest = -1;
    for (const auto& d : fs::directory_iterator(resolved)) {
      const std::string v = d.path().filename();
      if (is_number(v) && fs::is_regular_file(d.path() / "model.pt"))
        newest = std::max<int64_t>(newest, std::stoll(v));
    }
    if (newest < 0)
      throw NotFound("repository_path: '" + path + "' has no <version>/model.pt under " +
                     repository_root_.string());
    file = resolved / std::to_string(newest) / "model.pt";
    config = resolved / "config.json";
  } else {
    throw NotFound("repository_path: '" + path + "' not found under the model repository " +
                   repository_root_.string());
  }
  std::vector<TensorSpec> inputs, outputs;
  if (fs::exists(config)) {
    auto parsed = repository_config_from_json(read_file(config), "repository config " + config.string());
    inputs = std::move(parsed.inputs);
    outputs = std::move(parsed.outputs);
  }
  const std::string name = name_in.empty() ? fs::path(path).begin()->string() : name_in;
  check_name("name", name);
  return load_file(name, file, false, inputs, outputs, version, "repository:" + path);
}

ModelInfo ModelRegistry::publish(const std::string& name, const torch::jit::Module& module,
                                 std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs,
                                 const std::string& origin) {
  const fs::path file = new_staging_file(name);
  try {
    module.save(file.string());
  } catch (...) {
    std::error_code ec;
    fs::remove_all(file.parent_path(), ec);
    throw;
  }
  return load_staged(name, file, std::move(inputs), std::move(outputs), 0, origin);
}

std::vector<int64_t> ModelRegistry::unload(const std::string& name, int64_t version) {
  std::vector<int64_t> removed;
  std::vector<fs::path> dirs;
  {
    std::unique_lock lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end()) throw NotFound("model '" + name + "' not found");
    auto& entry = it->second;
    if (version != 0 && !entry.versions.count(version))
      throw NotFound("model '" + name + "' has no version " + std::to_string(version));
    for (const auto& [v, info] : entry.versions) {
      if (version != 0 && v != version) continue;
      if (info.state == ModelState::kLoading)
        throw FailedPrecondition("model '" + name + "' version " + std::to_string(v) +
                                 " is still loading; retry when it is READY or FAILED");
    }
    for (auto vit = entry.versions.begin(); vit != entry.versions.end();) {
      if (version != 0 && vit->first != version) {
        ++vit;
        continue;
      }
      removed.push_back(vit->first);
      dirs.push_back(models_dir_ / name / std::to_string(vit->first));
      entry.ready.erase(vit->first);
      vit = entry.versions.erase(vit);
    }
    if (entry.versions.empty()) models_.erase(it);
    update_state_gauges_locked();
  }
  // Rename first (atomic: a restart never sees half-deleted versions), then delete.
  for (const auto& d : dirs) {
    if (!fs::exists(d)) continue;
    const fs::path trash = d.parent_path() / (".trash-" + d.filename().string());
    durable_rename(d, trash);
    fs::remove_all(trash);
  }
  std::error_code ec;
  if (fs::is_empty(models_dir_ / name, ec)) fs::remove(models_dir_ / name, ec);
  release_free_memory();  // the unloaded weights (unless a call in flight still holds them)
  LOG_INFO("unloaded model " << name << " versions " << removed.size());
  return removed;
}

ModelInfo ModelRegistry::info_locked(const std::string& name) const {
  auto it = models_.find(name);
  if (it == models_.end()) throw NotFound("model '" + name + "' not found (ListModels shows what is hosted)");
  ModelInfo info;
  info.name = name;
  for (const auto& [v, vi] : it->second.versions) info.versions.push_back(vi);
  if (!it->second.ready.empty()) info.serving_version = it->second.ready.rbegin()->first;
  return info;
}

std::vector<ModelInfo> ModelRegistry::list() const {
  std::shared_lock lock(mu_);
  std::vector<ModelInfo> out;
  for (const auto& [name, _] : models_) out.push_back(info_locked(name));
  return out;
}

ModelInfo ModelRegistry::get(const std::string& name) const {
  std::shared_lock lock(mu_);
  return info_locked(name);
}

std::shared_ptr<const HostedModel> ModelRegistry::resolve(const std::string& name,
                                                          int64_t version) const {
  std::shared_lock lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end())
    throw NotFound("model '" + name + "' not found (ListModels shows what is hosted)");
  const auto& entry = it->second;
  if (version == 0) {
    if (entry.ready.empty())
      throw FailedPrecondition("model '" + name + "' has no READY version yet");
    return entry.ready.rbegin()->second;
  }
  if (auto r = entry.ready.find(version); r != entry.ready.end()) return r->second;
  if (auto v = entry.versions.find(version); v != entry.versions.end())
    throw FailedPrecondition("model '" + name + "' version " + std::to_string(version) + " is " +
                             state_name(v->second.state) +
                             (v->second.error.empty() ? "" : ": " + v->second.error));
  throw NotFound("model '" + name + "' has no version " + std::to_string(version));
}

void ModelRegistry::update_state_gauges_locked() {
  int loading = 0, ready = 0, failed = 0;
  for (const auto& [_, e] : models_)
    for (const auto& [v, vi] : e.versions) {
      if (vi.state == ModelState::kLoading) ++loading;
      if (vi.state == ModelState::kReady) ++ready;
      if (vi.state == ModelState::kFailed) ++failed;
    }
  auto& fam = metrics::catalog().models;
  fam.Add({{"state", "loading"}}).Set(loading);
  fam.Add({{"state", "ready"}}).Set(ready);
  fam.Add({{"state", "failed"}}).Set(failed);
}

}  // namespace attune

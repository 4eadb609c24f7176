#include "train/checkpoint.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "core/error.h"
#include "core/log.h"
#include "core/storage.h"

namespace attune::train {
namespace {

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double num_of(const nlohmann::json& j, const char* key, double fallback) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

}  // namespace

std::string generator_state_hex() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  auto state = gen.get_state();
  static const char* digits = "0123456789abcdef";
  std::string hex;
  const auto* p = state.data_ptr<uint8_t>();
  for (int64_t i = 0; i < state.numel(); ++i) {
    hex += digits[p[i] >> 4];
    hex += digits[p[i] & 15];
  }
  return hex;
}

void restore_generator_state(const std::string& hex) {
  if (hex.empty()) return;
  auto state = torch::empty({static_cast<int64_t>(hex.size() / 2)}, torch::kUInt8);
  auto* p = state.data_ptr<uint8_t>();
  for (size_t i = 0; i + 1 < hex.size(); i += 2) p[i / 2] = static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16));
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

int64_t write_checkpoint(const fs::path& job_dir, const torch::jit::Module& model,
                         torch::optim::Optimizer& optimizer, const CheckpointState& s) {
  const std::string name = "ckpt-" + std::to_string(s.step);
  const fs::path stage = job_dir / ("." + name + ".tmp");
  std::error_code ec;
  fs::remove_all(stage, ec);
  make_dirs(stage);
  model.save((stage / "model.pt").string());
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  archive.save_to((stage / "optimizer.pt").string());
  const nlohmann::json state{{"step", s.step}, {"epoch", s.epoch}, {"position", s.position},
                             {"samples", s.samples}, {"batch_size", s.batch_size},
                             {"loss", num(s.loss)}, {"validation_loss", num(s.validation_loss)},
                             {"validation_accuracy", num(s.validation_accuracy)},
                             {"best_validation_loss", num(s.best_validation_loss)},
                             {"evaluations_without_improvement", s.evaluations_without_improvement},
                             {"train_seconds", s.train_seconds}, {"rng_state", s.rng_state}};
  atomic_write(stage / "state.json", state.dump());
  fsync_path(stage / "model.pt");
  fsync_path(stage / "optimizer.pt");
  const fs::path final_dir = job_dir / name;
  fs::remove_all(final_dir, ec);
  durable_rename(stage, final_dir);
  atomic_write(job_dir / "CURRENT", name);
  // Older checkpoints are no longer referenced.
  for (const auto& e : fs::directory_iterator(job_dir)) {
    const std::string f = e.path().filename();
    if (f.rfind("ckpt-", 0) == 0 && f != name) fs::remove_all(e.path(), ec);
  }
  int64_t bytes = 0;
  for (const auto& e : fs::directory_iterator(final_dir)) bytes += static_cast<int64_t>(e.file_size());
  return bytes;
}

std::optional<Checkpoint> read_checkpoint(const fs::path& job_dir) {
  if (!fs::exists(job_dir / "CURRENT")) return std::nullopt;
  const fs::path dir = job_dir / read_file(job_dir / "CURRENT");
  const auto j = nlohmann::json::parse(read_file(dir / "state.json"));
  Checkpoint c;
  c.model = torch::jit::load((dir / "model.pt").string());
  c.optimizer_file = dir / "optimizer.pt";
  auto& s = c.state;
  s.step = j.at("step");
  s.epoch = j.at("epoch");
  s.position = j.at("position");
  s.samples = j.at("samples");
  s.batch_size = j.at("batch_size");
  s.loss = num_of(j, "loss", s.loss);
  s.validation_loss = num_of(j, "validation_loss", s.validation_loss);
  s.validation_accuracy = num_of(j, "validation_accuracy", s.validation_accuracy);
  s.best_validation_loss = num_of(j, "best_validation_loss", s.best_validation_loss);
  s.evaluations_without_improvement = j.value("evaluations_without_improvement", int64_t{0});
  s.train_seconds = j.value("train_seconds", 0.0);
  s.rng_state = j.value("rng_state", std::string());
  return c;
}

void load_optimizer(torch::optim::Optimizer& optimizer, const fs::path& file) {
  torch::serialize::InputArchive archive;
  archive.load_from(file.string());
  optimizer.load(archive);
}

}  // namespace attune::train

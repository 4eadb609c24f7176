#include "streams/config_json.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

#include "streams/data_loss.h"

namespace attune::streams {
namespace {

using nlohmann::json;
constexpr int kFormat = 1;

}  // namespace

const char* to_string(nowcast::RetrainMode m) {
  return m == nowcast::RetrainMode::synchronous ? "synchronous" : "background";
}

nowcast::RetrainMode parse_retrain_mode(const std::string& s, const std::string& field) {
  if (s == "background") return nowcast::RetrainMode::background;
  if (s == "synchronous") return nowcast::RetrainMode::synchronous;
  throw std::invalid_argument(field + ": expected one of background, synchronous, received \"" + s + "\"");
}

const char* to_string(nowcast::PageHinkleyMode m) {
  switch (m) {
    case nowcast::PageHinkleyMode::up: return "up";
    case nowcast::PageHinkleyMode::down: return "down";
    case nowcast::PageHinkleyMode::both: return "both";
  }
  return "?";
}

nowcast::PageHinkleyMode parse_page_hinkley_mode(const std::string& s, const std::string& field) {
  if (s == "up") return nowcast::PageHinkleyMode::up;
  if (s == "down") return nowcast::PageHinkleyMode::down;
  if (s == "both") return nowcast::PageHinkleyMode::both;
  throw std::invalid_argument(field + ": expected one of up, down, both, received \"" + s + "\"");
}

std::string to_json(const StoredConfig& s) {
  const auto& c = s.config;
  const auto& m = c.model;
  const auto& w = c.window;
  const auto& r = c.retrain;
  json j = {
      {"format", kFormat},
      {"created_unix_seconds", s.created_unix_seconds},
      {"retrain_mode", to_string(s.mode)},
      {"name", c.name},
      {"variables", c.variables},
      {"targets", c.targets},
      {"lags", c.lags},
      {"horizons", c.horizons},
      {"resolution_seconds", c.resolution_seconds},
      {"calendar_features", c.calendar_features},
      {"model",
       {{"kind", nowcast::to_string(m.kind)}, {"l2", m.l2}, {"hidden", m.hidden},
        {"layers", m.layers}, {"heads", m.heads}, {"dropout", m.dropout}, {"lr", m.lr},
        {"weight_decay", m.weight_decay}, {"max_epochs", m.max_epochs},
        {"batch_size", m.batch_size}, {"patience", m.patience}, {"seed", m.seed}}},
      {"window",
       {{"kind", nowcast::to_string(w.kind)}, {"n_max", w.n_max}, {"n_min", w.n_min},
        {"n_min_per_input", w.n_min_per_input}, {"step", w.step}, {"rho", w.rho},
        {"epsilon", w.epsilon}, {"plateau_checks", w.plateau_checks},
        {"holdout_fraction", w.holdout_fraction}, {"holdout_max", w.holdout_max},
        {"recency_weight_factor", w.recency_weight_factor}}},
      {"retrain",
       {{"trigger", nowcast::to_string(r.trigger)}, {"period", r.period}, {"tau", r.tau},
        {"error_window", r.error_window}, {"consecutive", r.consecutive},
        {"min_age", r.min_age}, {"max_age", r.max_age},
        {"adwin",
         {{"delta", r.adwin.delta}, {"clock", r.adwin.clock}, {"max_buckets", r.adwin.max_buckets},
          {"min_window_length", r.adwin.min_window_length},
          {"grace_period", r.adwin.grace_period}}},
        {"page_hinkley",
         {{"min_instances", r.page_hinkley.min_instances}, {"delta", r.page_hinkley.delta},
          {"threshold", r.page_hinkley.threshold}, {"alpha", r.page_hinkley.alpha},
          {"mode", to_string(r.page_hinkley.mode)}}}}},
  };
  return j.dump(2) + "\n";
}

StoredConfig from_json(const std::string& text) {
  try {
    const json j = json::parse(text);
    if (j.at("format").get<int>() != kFormat)
      throw StreamDataLoss("config.json: unknown format " + j.at("format").dump());
    StoredConfig s;
    s.created_unix_seconds = j.at("created_unix_seconds").get<double>();
    s.mode = parse_retrain_mode(j.at("retrain_mode").get<std::string>(), "retrain_mode");
    auto& c = s.config;
    c.name = j.at("name").get<std::string>();
    c.variables = j.at("variables").get<std::vector<std::string>>();
    c.targets = j.at("targets").get<std::vector<std::string>>();
    c.lags = j.at("lags").get<int64_t>();
    c.horizons = j.at("horizons").get<std::vector<int64_t>>();
    c.resolution_seconds = j.at("resolution_seconds").get<int64_t>();
    c.calendar_features = j.at("calendar_features").get<bool>();
    const json& m = j.at("model");
    c.model.kind = nowcast::parse_model_kind(m.at("kind").get<std::string>());
    c.model.l2 = m.at("l2").get<double>();
    c.model.hidden = m.at("hidden").get<int64_t>();
    c.model.layers = m.at("layers").get<int64_t>();
    c.model.heads = m.at("heads").get<int64_t>();
    c.model.dropout = m.at("dropout").get<double>();
    c.model.lr = m.at("lr").get<double>();
    c.model.weight_decay = m.at("weight_decay").get<double>();
    c.model.max_epochs = m.at("max_epochs").get<int64_t>();
    c.model.batch_size = m.at("batch_size").get<int64_t>();
    c.model.patience = m.at("patience").get<int64_t>();
    c.model.seed = m.at("seed").get<uint64_t>();
    const json& w = j.at("window");
    c.window.kind = nowcast::parse_window_kind(w.at("kind").get<std::string>());
    c.window.n_max = w.at("n_max").get<int64_t>();
    c.window.n_min = w.at("n_min").get<int64_t>();
    c.window.n_min_per_input = w.at("n_min_per_input").get<int64_t>();
    c.window.step = w.at("step").get<int64_t>();
    c.window.rho = w.at("rho").get<double>();
    c.window.epsilon = w.at("epsilon").get<double>();
    c.window.plateau_checks = w.at("plateau_checks").get<int64_t>();
    c.window.holdout_fraction = w.at("holdout_fraction").get<double>();
    c.window.holdout_max = w.at("holdout_max").get<int64_t>();
    c.window.recency_weight_factor = w.at("recency_weight_factor").get<double>();
    const json& r = j.at("retrain");
    c.retrain.trigger = nowcast::parse_trigger_kind(r.at("trigger").get<std::string>());
    c.retrain.period = r.at("period").get<int64_t>();
    c.retrain.tau = r.at("tau").get<double>();
    c.retrain.error_window = r.at("error_window").get<int64_t>();
    c.retrain.consecutive = r.at("consecutive").get<int64_t>();
    c.retrain.min_age = r.at("min_age").get<int64_t>();
    c.retrain.max_age = r.at("max_age").get<int64_t>();
    const json& a = r.at("adwin");
    c.retrain.adwin.delta = a.at("delta").get<double>();
    c.retrain.adwin.clock = a.at("clock").get<int64_t>();
    c.retrain.adwin.max_buckets = a.at("max_buckets").get<int64_t>();
    c.retrain.adwin.min_window_length = a.at("min_window_length").get<int64_t>();
    c.retrain.adwin.grace_period = a.at("grace_period").get<int64_t>();
    const json& p = r.at("page_hinkley");
    c.retrain.page_hinkley.min_instances = p.at("min_instances").get<int64_t>();
    c.retrain.page_hinkley.delta = p.at("delta").get<double>();
    c.retrain.page_hinkley.threshold = p.at("threshold").get<double>();
    c.retrain.page_hinkley.alpha = p.at("alpha").get<double>();
    c.retrain.page_hinkley.mode =
        parse_page_hinkley_mode(p.at("mode").get<std::string>(), "page_hinkley.mode");
    nowcast::validate(c);
    return s;
  } catch (const StreamDataLoss&) {
    throw;
  } catch (const std::exception& e) {
    throw StreamDataLoss(std::string("config.json: ") + e.what());
  }
}

}  // namespace attune::streams

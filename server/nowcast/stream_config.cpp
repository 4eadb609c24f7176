#include "nowcast/stream_config.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <stdexcept>

namespace attune::nowcast {
namespace {

[[noreturn]] void fail(const std::string& field, const std::string& expected,
                       const std::string& received) {
  throw std::invalid_argument(field + ": expected " + expected + ", received " + received);
}

std::string str(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

std::string list(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out + "]";
}

void require_positive(const std::string& field, int64_t v) {
  if (v < 1) fail(field, ">= 1", std::to_string(v));
}

void require_finite_range(const std::string& field, double v, double lo, double hi,
                          bool lo_open, bool hi_open) {
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (!ok) {
    fail(field, std::string("a number in ") + (lo_open ? "(" : "[") + str(lo) + ", " + str(hi) +
                    (hi_open ? ")" : "]"),
         str(v));
  }
}

}  // namespace

StreamConfig make_stream_config(std::string name, std::vector<std::string> variables,
                                std::vector<std::string> targets, int64_t resolution_seconds) {
  StreamConfig c;
  c.name = std::move(name);
  c.variables = std::move(variables);
  c.targets = std::move(targets);
  c.resolution_seconds = resolution_seconds;
  if (resolution_seconds < 86400) {
    const int64_t per_hour = std::max<int64_t>(1, 3600 / std::max<int64_t>(1, resolution_seconds));
    c.lags = 6;
    c.horizons = {1, 2, 3, 4, 5, 6};
    c.window.n_max = 3360 * per_hour;
    c.window.step = 24 * per_hour;
    c.retrain.error_window = 24 * per_hour;
    c.retrain.min_age = 6 * per_hour;
    c.retrain.max_age = 168 * per_hour;
  }
  return c;
}

int64_t input_count(const StreamConfig& c) {
  const int64_t calendar = !c.calendar_features ? 0 : (c.resolution_seconds < 86400 ? 4 : 2);
  return static_cast<int64_t>(c.variables.size()) * c.lags + calendar;
}

int64_t resolved_n_min(const StreamConfig& c) {
  int64_t n = c.window.n_min;
  if (n == 0) {
    const int64_t week = std::max<int64_t>(1, 7 * 86400 / std::max<int64_t>(1, c.resolution_seconds));
    const int64_t h_max = c.horizons.empty() ? 1 : c.horizons.back();
    n = std::max({c.window.n_min_per_input * input_count(c), week, 2 * (c.lags + h_max)});
  }
  return std::min(n, c.window.n_max);
}

void validate(const StreamConfig& c) {
  if (c.name.empty()) fail("name", "a non-empty stream name", "\"\"");
  if (c.variables.empty()) fail("variables", "at least one variable", "[]");
  std::set<std::string> vars;
  for (size_t i = 0; i < c.variables.size(); ++i) {
    const auto& v = c.variables[i];
    if (v.empty()) fail("variables[" + std::to_string(i) + "]", "a non-empty name", "\"\"");
    if (!vars.insert(v).second)
      fail("variables[" + std::to_string(i) + "]", "unique names", "a second \"" + v + "\"");
  }
  if (c.targets.empty()) fail("targets", "at least one target variable", "[]");
  std::set<std::string> targets;
  for (size_t i = 0; i < c.targets.size(); ++i) {
    const auto& t = c.targets[i];
    if (!vars.count(t))
      fail("targets[" + std::to_string(i) + "]", "one of the variables " + list(c.variables),
           "\"" + t + "\"");
    if (!targets.insert(t).second)
      fail("targets[" + std::to_string(i) + "]", "unique names", "a second \"" + t + "\"");
  }
  require_positive("lags", c.lags);
  if (c.horizons.empty()) fail("horizons", "at least one horizon", "[]");
  for (size_t i = 0; i < c.horizons.size(); ++i) {
    const int64_t prev = i ? c.horizons[i - 1] : 0;
    if (c.horizons[i] <= prev)
      fail("horizons[" + std::to_string(i) + "]", "an integer > " + std::to_string(prev) +
                                                       " (horizons are >= 1 and increasing)",
           std::to_string(c.horizons[i]));
  }
  require_positive("resolution_seconds", c.resolution_seconds);

  const auto& m = c.model;
  require_finite_range("model.l2", m.l2, 0.0, 1e12, false, false);
  require_positive("model.hidden", m.hidden);
  require_positive("model.layers", m.layers);
  require_positive("model.heads", m.heads);
  if (m.kind == ModelKind::transformer && m.hidden % m.heads != 0)
    fail("model.hidden", "a multiple of model.heads (" + std::to_string(m.heads) + ")",
         std::to_string(m.hidden));
  require_finite_range("model.dropout", m.dropout, 0.0, 1.0, false, true);
  require_finite_range("model.lr", m.lr, 0.0, 10.0, true, false);
  require_finite_range("model.weight_decay", m.weight_decay, 0.0, 10.0, false, false);
  require_positive("model.max_epochs", m.max_epochs);
  require_positive("model.batch_size", m.batch_size);
  require_positive("model.patience", m.patience);

  const auto& w = c.window;
  const int64_t floor = 10;
  if (w.n_max < floor) fail("window.n_max", ">= " + std::to_string(floor), std::to_string(w.n_max));
  if (w.n_min < 0) fail("window.n_min", ">= 0 (0 = auto)", std::to_string(w.n_min));
  if (w.n_min > 0 && w.n_min < floor)
    fail("window.n_min", "0 (auto) or >= " + std::to_string(floor), std::to_string(w.n_min));
  if (w.n_min > w.n_max)
    fail("window.n_min", "<= window.n_max (" + std::to_string(w.n_max) + ")", std::to_string(w.n_min));
  require_positive("window.n_min_per_input", w.n_min_per_input);
  require_positive("window.step", w.step);
  require_finite_range("window.rho", w.rho, 0.0, 1.0, true, false);
  require_finite_range("window.epsilon", w.epsilon, 0.0, 1e6, true, false);
  require_positive("window.plateau_checks", w.plateau_checks);
  require_finite_range("window.holdout_fraction", w.holdout_fraction, 0.0, 0.5, true, false);
  require_positive("window.holdout_max", w.holdout_max);
  require_finite_range("window.recency_weight_factor", w.recency_weight_factor, 0.0, 1e6, false, false);

  const auto& r = c.retrain;
  require_positive("retrain.period", r.period);
  require_finite_range("retrain.tau", r.tau, 0.0, 1e6, false, false);
  require_positive("retrain.error_window", r.error_window);
  require_positive("retrain.consecutive", r.consecutive);
  if (r.min_age < 0) fail("retrain.min_age", ">= 0", std::to_string(r.min_age));
  if (r.max_age < 0) fail("retrain.max_age", ">= 0 (0 = none)", std::to_string(r.max_age));
  if (r.max_age > 0 && r.max_age < r.min_age)
    fail("retrain.max_age", "0 or >= retrain.min_age (" + std::to_string(r.min_age) + ")",
         std::to_string(r.max_age));
  require_finite_range("retrain.adwin.delta", r.adwin.delta, 0.0, 1.0, true, true);
  require_positive("retrain.adwin.clock", r.adwin.clock);
  require_positive("retrain.adwin.max_buckets", r.adwin.max_buckets);
  require_positive("retrain.adwin.min_window_length", r.adwin.min_window_length);
  if (r.adwin.grace_period < 0)
    fail("retrain.adwin.grace_period", ">= 0", std::to_string(r.adwin.grace_period));
  if (r.page_hinkley.min_instances < 0)
    fail("retrain.page_hinkley.min_instances", ">= 0", std::to_string(r.page_hinkley.min_instances));
  require_finite_range("retrain.page_hinkley.delta", r.page_hinkley.delta, 0.0, 1e12, false, false);
  require_finite_range("retrain.page_hinkley.threshold", r.page_hinkley.threshold, 0.0, 1e12, true, false);
  require_finite_range("retrain.page_hinkley.alpha", r.page_hinkley.alpha, 0.0, 1.0, true, false);
}

std::vector<double> check_observation(const StreamConfig& c, std::optional<int64_t> last_time,
                                      int64_t time, const std::vector<double>& values,
                                      const std::string& field) {
  if (last_time && time <= *last_time)
    fail(field + ".time",
         "a time after the previous observation's (" + std::to_string(*last_time) +
             "; timestamps must increase)",
         std::to_string(time));
  if (values.size() != c.variables.size())
    fail(field + ".values", std::to_string(c.variables.size()) + " values " + list(c.variables),
         std::to_string(values.size()));
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      fail(field + ".values[\"" + c.variables[i] + "\"]", "a finite number", str(values[i]));
  return values;
}

std::vector<double> check_observation(const StreamConfig& c, std::optional<int64_t> last_time,
                                      const Observation& obs, const std::string& field) {
  std::vector<std::string> missing, unexpected;
  for (const auto& v : c.variables)
    if (!obs.values.count(v)) missing.push_back(v);
  std::set<std::string> known(c.variables.begin(), c.variables.end());
  for (const auto& [k, _] : obs.values)
    if (!known.count(k)) unexpected.push_back(k);
  if (!missing.empty() || !unexpected.empty()) {
    std::vector<std::string> got;
    for (const auto& [k, _] : obs.values) got.push_back(k);
    std::string what = list(got);
    if (!missing.empty()) what += "; missing " + list(missing);
    if (!unexpected.empty()) what += "; unexpected " + list(unexpected);
    fail(field + ".values", "exactly the variables " + list(c.variables), what);
  }
  std::vector<double> ordered;
  ordered.reserve(c.variables.size());
  for (const auto& v : c.variables) ordered.push_back(obs.values.at(v));
  return check_observation(c, last_time, obs.time, ordered, field);
}

const char* to_string(ModelKind k) {
  switch (k) {
    case ModelKind::ridge: return "ridge";
    case ModelKind::mlp: return "mlp";
    case ModelKind::lstm: return "lstm";
    case ModelKind::transformer: return "transformer";
    case ModelKind::persistence: return "persistence";
    case ModelKind::climatology: return "climatology";
  }
  return "?";
}

const char* to_string(WindowKind k) {
  switch (k) {
    case WindowKind::fixed: return "fixed";
    case WindowKind::variance_horizon: return "variance_horizon";
    case WindowKind::variance_horizon_plateau: return "variance_horizon_plateau";
  }
  return "?";
}

const char* to_string(TriggerKind k) {
  switch (k) {
    case TriggerKind::none: return "none";
    case TriggerKind::periodic: return "periodic";
    case TriggerKind::performance: return "performance";
    case TriggerKind::adwin: return "adwin";
    case TriggerKind::page_hinkley: return "page_hinkley";
  }
  return "?";
}

namespace {
template <typename E, size_t N>
E parse(const std::string& s, const std::string& field, const E (&all)[N]) {
  std::string names;
  for (E e : all) {
    if (s == to_string(e)) return e;
    names += (names.empty() ? "" : ", ") + std::string(to_string(e));
  }
  fail(field, "one of " + names, "\"" + s + "\"");
}
}  // namespace

ModelKind parse_model_kind(const std::string& s, const std::string& field) {
  const ModelKind all[] = {ModelKind::ridge, ModelKind::mlp, ModelKind::lstm,
                           ModelKind::transformer, ModelKind::persistence, ModelKind::climatology};
  return parse(s, field, all);
}

WindowKind parse_window_kind(const std::string& s, const std::string& field) {
  const WindowKind all[] = {WindowKind::fixed, WindowKind::variance_horizon,
                            WindowKind::variance_horizon_plateau};
  return parse(s, field, all);
}

TriggerKind parse_trigger_kind(const std::string& s, const std::string& field) {
  const TriggerKind all[] = {TriggerKind::none, TriggerKind::periodic, TriggerKind::performance,
                             TriggerKind::adwin, TriggerKind::page_hinkley};
  return parse(s, field, all);
}

std::string describe(const StreamConfig& c) {
  std::ostringstream os;
  os.precision(17);
  os << "name=" << c.name << " variables=" << list(c.variables) << " targets=" << list(c.targets)
     << " lags=" << c.lags << " horizons=[";
  for (size_t i = 0; i < c.horizons.size(); ++i) os << (i ? "," : "") << c.horizons[i];
  const auto& m = c.model;
  const auto& w = c.window;
  const auto& r = c.retrain;
  os << "] resolution=" << c.resolution_seconds << " calendar=" << c.calendar_features
     << " model=" << to_string(m.kind) << "(l2=" << m.l2 << ",hidden=" << m.hidden
     << ",layers=" << m.layers << ",heads=" << m.heads << ",dropout=" << m.dropout
     << ",lr=" << m.lr << ",wd=" << m.weight_decay << ",epochs=" << m.max_epochs
     << ",batch=" << m.batch_size << ",patience=" << m.patience << ",seed=" << m.seed << ")"
     << " window=" << to_string(w.kind) << "(n_max=" << w.n_max << ",n_min=" << w.n_min
     << ",per_input=" << w.n_min_per_input << ",step=" << w.step << ",rho=" << w.rho
     << ",eps=" << w.epsilon << ",checks=" << w.plateau_checks << ",holdout=" << w.holdout_fraction
     << "/" << w.holdout_max << ",recency=" << w.recency_weight_factor << ")"
     << " retrain=" << to_string(r.trigger) << "(period=" << r.period << ",tau=" << r.tau
     << ",W=" << r.error_window << ",K=" << r.consecutive << ",min_age=" << r.min_age
     << ",max_age=" << r.max_age << ",adwin=" << r.adwin.delta << "/" << r.adwin.clock << "/"
     << r.adwin.max_buckets << "/" << r.adwin.min_window_length << "/" << r.adwin.grace_period
     << ",ph=" << r.page_hinkley.min_instances << "/" << r.page_hinkley.delta << "/"
     << r.page_hinkley.threshold << "/" << r.page_hinkley.alpha << "/"
     << static_cast<int>(r.page_hinkley.mode) << ")";
  return os.str();
}

}  // namespace attune::nowcast

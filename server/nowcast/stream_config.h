// Configuration of one nowcast stream: what is observed, what is forecast, with which model,
// on which training window and when it is retrained. Defaults and names follow
// shared/specs/nowcasting.md (§1.3 windowing, §1.6 Variance Horizon, §1.7 retraining, §2.1 River).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace attune::nowcast {

enum class ModelKind { ridge, mlp, lstm, transformer, persistence, climatology };
enum class WindowKind { fixed, variance_horizon, variance_horizon_plateau };
// What fires a retrain after the initial fit. `none` fits once (max_age still applies).
enum class TriggerKind { none, periodic, performance, adwin, page_hinkley };
enum class PageHinkleyMode { up, down, both };

struct ModelConfig {
  ModelKind kind = ModelKind::ridge;
  double l2 = 10.0;  // ridge penalty on the min-max scaled inputs (intercept unpenalised)
  // Neural models (§4: 2×64 FC-MLP, Adam 1e-3, ≤20 epochs, early stopping on the holdout).
  int64_t hidden = 64;  // MLP width, LSTM hidden size, Transformer d_model
  int64_t layers = 2;   // MLP hidden layers, LSTM layers, Transformer encoder layers
  int64_t heads = 4;    // Transformer attention heads (must divide hidden)
  double dropout = 0.0; // head dropout, drawn from the model's own generator
  double lr = 1e-3;
  double weight_decay = 0.0;
  int64_t max_epochs = 20;
  int64_t batch_size = 64;
  int64_t patience = 5;  // epochs without holdout improvement before stopping
  uint64_t seed = 0;     // fit k of a stream uses seed + k
};

struct WindowConfig {
  WindowKind kind = WindowKind::fixed;
  int64_t n_max = 365;  // N_max: the periodic baseline's window, in training samples
  int64_t n_min = 0;    // N_min floor; 0 = auto (§1.6): max(n_min_per_input·p, 7 days, 2·(L+H))
  int64_t n_min_per_input = 5;
  int64_t step = 15;    // Δ between candidate lengths (15 daily / 24 hourly)
  double rho = 0.9;     // VH(t) = min{N : v(N) ≥ ρ·v(N_max)}
  double epsilon = 0.02;        // plateau variant: v(N+Δ)/v(N) − 1 < ε ...
  int64_t plateau_checks = 3;   // ... for this many consecutive candidates
  double holdout_fraction = 0.1;  // V = min(holdout_max, holdout_fraction·N), at least 1
  int64_t holdout_max = 256;
  double recency_weight_factor = 0.0;  // 0 = off; flowml's 0.9 gives w_i = exp(−i/(0.9·N))
};

// River defaults (river/drift/adwin.py).
struct AdwinConfig {
  double delta = 0.002;
  int64_t clock = 32;
  int64_t max_buckets = 5;
  int64_t min_window_length = 5;
  int64_t grace_period = 10;
};

// River defaults (river/drift/page_hinkley.py).
struct PageHinkleyConfig {
  int64_t min_instances = 30;
  double delta = 0.005;
  double threshold = 50.0;
  double alpha = 1 - 0.0001;
  PageHinkleyMode mode = PageHinkleyMode::both;
};

struct RetrainConfig {
  TriggerKind trigger = TriggerKind::performance;
  int64_t period = 1;          // periodic: retrain when the model is this many steps old
  double tau = 1.0;            // performance: fire when ē_W / e_ref > 1 + τ ...
  int64_t error_window = 14;   // ... over the last W steps of matured errors (W) ...
  int64_t consecutive = 3;     // ... for K consecutive checks
  int64_t min_age = 7;         // A_min: no performance/detector fire on a younger model
  int64_t max_age = 120;       // A_max staleness guard; 0 = none
  AdwinConfig adwin;
  PageHinkleyConfig page_hinkley;
};

struct StreamConfig {
  std::string name;
  std::vector<std::string> variables;  // every observation carries exactly these
  std::vector<std::string> targets;    // forecast; a subset of variables
  int64_t lags = 7;                    // L: inputs are lags 0..L−1 of every variable
  std::vector<int64_t> horizons{1, 2, 3};  // in steps; strictly increasing, ≥ 1
  int64_t resolution_seconds = 86400;
  bool calendar_features = true;  // sin/cos of the year phase (+ day phase below daily)
  ModelConfig model;
  WindowConfig window;
  RetrainConfig retrain;
};

// A config with the spec's resolution-dependent defaults: daily (§4: L=7, H=1..3, N_max=365,
// Δ=15, W=14, A_min=7, A_max=120) or sub-daily/hourly (L=6, H=1..6, N_max=3360, Δ=24, W=24,
// A_min=6, A_max=168). Everything can be changed afterwards.
StreamConfig make_stream_config(std::string name, std::vector<std::string> variables,
                                std::vector<std::string> targets, int64_t resolution_seconds);

// Throws std::invalid_argument naming the field, the expected and the received value.
void validate(const StreamConfig& config);

// Number of model inputs p for this config (lags × variables + calendar features).
int64_t input_count(const StreamConfig& config);
// N_min after resolving the auto value (clamped to N_max).
int64_t resolved_n_min(const StreamConfig& config);

// One observation: a timestamp (seconds since the Unix epoch, strictly increasing within a
// stream) and one value per configured variable.
struct Observation {
  int64_t time = 0;
  std::map<std::string, double> values;
};

// Checks an observation against the config and the previous time, and returns its values in
// config order. Throws std::invalid_argument with a user-facing message, e.g.
// `observation.values["wind"]: expected a finite number, received nan`; `field` prefixes it.
std::vector<double> check_observation(const StreamConfig& config, std::optional<int64_t> last_time,
                                      const Observation& obs,
                                      const std::string& field = "observation");
std::vector<double> check_observation(const StreamConfig& config, std::optional<int64_t> last_time,
                                      int64_t time, const std::vector<double>& values,
                                      const std::string& field = "observation");

const char* to_string(ModelKind kind);
const char* to_string(WindowKind kind);
const char* to_string(TriggerKind kind);
// Parse the names above; throw std::invalid_argument naming `field` and the allowed values.
ModelKind parse_model_kind(const std::string& s, const std::string& field = "model.kind");
WindowKind parse_window_kind(const std::string& s, const std::string& field = "window.kind");
TriggerKind parse_trigger_kind(const std::string& s, const std::string& field = "retrain.trigger");

// A canonical one-line rendering of every field; snapshots store it to refuse a restore into a
// stream with a different config.
std::string describe(const StreamConfig& config);

}  // namespace attune::nowcast

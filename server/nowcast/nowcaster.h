// Nowcaster: the engine of one named stream. Each ingested observation (1) scores the forecasts
// that mature at that step, (2) feeds the step's normalised error to the retraining policy,
// (3) retrains when the policy fires, on the window chosen by the window policy, and (4) issues
// the next forecast for every horizon. Everything that happened is returned as Events, which
// carry what the service exports as metrics:
//   attune_nowcast_abs_error{stream,horizon}          Events::matured[].abs_error
//   attune_drift_statistic{stream,detector}           Events::readings
//   attune_drift_events_total{stream,detector}        Events::drifts
//   attune_retrain_total{stream,trigger}              Events::retrain_finished[].trigger
//   attune_nowcast_window_samples{stream}             FitRecord::window
//   attune_nowcast_train_cpu_seconds_total{stream}    FitRecord::cpu_seconds
//
// Retraining runs inline (RetrainMode::synchronous: deterministic, feeding the same
// observations reproduces the same state bit for bit) or in the background
// (RetrainMode::background: the fit runs on the executor while the current model keeps
// forecasting; the new model is swapped in under the stream's lock by the first ingest/poll
// after the fit completes).
//
// Restart: snapshot() captures the complete state (history, model, scalers, e_ref, policy and
// detector state, pending forecasts, error and compute accumulators, fit log, and a fit that
// was requested but not finished, which restore() starts again). With synchronous retraining,
// replaying the observation log into a fresh Nowcaster reproduces the same state too.
//
// All public methods are thread-safe. Neural fits use the calling/executor thread's LibTorch
// intra-op settings: call torch::set_num_threads(1) at start-up for one core per fit.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "nowcast/climatology.h"
#include "nowcast/features.h"
#include "nowcast/history.h"
#include "nowcast/regressor.h"
#include "nowcast/retrain_policy.h"
#include "nowcast/stream_config.h"

namespace attune::nowcast {

struct HorizonForecast {
  int64_t horizon = 0;
  int64_t valid_time = 0;      // issued time + horizon × resolution
  std::vector<double> values;  // one per target, config order
};

struct Forecast {
  int64_t step = 0;  // index of the observation it was issued at
  int64_t issued_time = 0;
  bool from_model = false;  // false: persistence fallback before the first fit
  int64_t model_version = 0;
  std::vector<HorizonForecast> horizons;
};

struct MaturedError {
  std::string target;
  int64_t horizon = 0;
  int64_t issued_step = 0;
  int64_t valid_time = 0;
  double forecast = 0, actual = 0, abs_error = 0;
  double persistence_abs_error = 0, climatology_abs_error = 0;
  bool from_model = false;
  int64_t model_version = 0;
};

struct DetectorReading {
  std::string detector;  // "performance" (the ratio r), "adwin", "page_hinkley"
  double value = 0;
};

struct DriftEvent {
  int64_t step = 0;
  std::string detector;
  double statistic = 0;
};

struct RetrainStarted {
  int64_t step = 0;
  std::string trigger;  // "initial", "periodic", "performance", "adwin", "page_hinkley", "max_age"
  int64_t window = 0;   // training samples including the holdout
  double ratio = 0;     // r = ē_W / e_ref at the fire (NaN if not yet defined)
  int64_t model_age = 0;
};

// One retrain decision and its outcome (spec §1.7.5: time, r, age, window).
struct FitRecord {
  int64_t version = 0;
  int64_t fire_step = 0, fire_time = 0;
  std::string trigger;
  double ratio = 0;
  int64_t model_age = 0;  // age of the replaced model at the fire (−1 for the initial fit)
  int64_t window = 0;     // N: training samples including the holdout
  int64_t train_rows = 0, holdout_rows = 0;
  int64_t epochs = 0;
  double rows_epochs = 0;
  double flops = 0;        // spec §1.8 proxy
  // CLOCK_THREAD_CPUTIME_ID: window choice and sample assembly (ingesting thread) plus scaling,
  // fit and holdout scoring (fitting thread).
  double cpu_seconds = 0;
  int64_t swap_step = 0;   // step at which the model went live
  std::vector<double> e_ref;  // held-out MAE per target × horizon (target-major)
};

struct RetrainFailure {
  int64_t step = 0;
  std::string trigger;
  std::string message;
};

struct Events {
  int64_t step = -1;  // observation index; −1 for poll() results
  std::optional<Forecast> forecast;
  std::vector<MaturedError> matured;
  std::optional<double> normalised_error;  // z_t fed to the policy
  std::vector<DetectorReading> readings;
  std::vector<DriftEvent> drifts;
  std::vector<RetrainStarted> retrain_started;
  std::vector<FitRecord> retrain_finished;
  std::vector<RetrainFailure> retrain_failed;
};

struct HorizonStats {
  std::string target;
  int64_t horizon = 0;
  int64_t count = 0;  // matured forecasts issued by a model (not the pre-fit fallback)
  double mae = 0, rmse = 0;
  double persistence_mae = 0, climatology_mae = 0;  // on the same forecasts
  double skill = 0;  // 1 − MAE / MAE_persistence (§1.8)
};

struct StreamStatus {
  std::string name;
  int64_t observations = 0;
  std::optional<int64_t> last_time;
  bool model_ready = false;
  int64_t model_version = 0;
  int64_t model_age = 0;
  bool retrain_pending = false;
  int64_t fits = 0;
  std::map<std::string, int64_t> fits_by_trigger;
  double mean_window = 0;
  double train_cpu_seconds = 0, train_rows_epochs = 0, train_flops = 0;
  int64_t drift_events = 0;
  double ratio = 0;  // current r (NaN until W errors matured)
  std::vector<HorizonStats> horizons;  // target-major, config order
};

enum class RetrainMode { synchronous, background };

struct NowcasterOptions {
  RetrainMode mode = RetrainMode::synchronous;
  // Runs a background fit; default: a thread owned by the Nowcaster (joined on destruction).
  // A service can pass its bounded worker pool here.
  std::function<void(std::function<void()>)> executor;
  // Called on the fitting thread when a background fit completes, e.g. to call poll().
  std::function<void()> on_retrain_ready;
  size_t max_fit_log = 4096;  // most recent FitRecords kept (totals are kept regardless)
};

class Nowcaster {
 public:
  // Throws std::invalid_argument if the config is invalid.
  explicit Nowcaster(StreamConfig config, NowcasterOptions options = {});
  ~Nowcaster();
  Nowcaster(const Nowcaster&) = delete;
  Nowcaster& operator=(const Nowcaster&) = delete;

  const StreamConfig& config() const { return config_; }

  // Validates first: NaN/Inf, a wrong variable set or a time not after the previous one throw
  // std::invalid_argument and leave the stream untouched.
  Events ingest(const Observation& obs);
  Events ingest(int64_t time, const std::vector<double>& values);  // values in config order
  // Validates the whole batch (fields named observations[i]...) before applying any of it.
  std::vector<Events> ingest_batch(const std::vector<Observation>& batch);

  // Swaps in a finished background fit, if any.
  Events poll();
  // Blocks until no background fit is pending, then swaps it in.
  Events wait_for_retrain();

  std::optional<Forecast> latest_forecast() const;
  StreamStatus status() const;
  std::vector<FitRecord> fit_log() const;

  std::string snapshot() const;
  // Loads a snapshot into this freshly constructed stream (same config, nothing ingested).
  void restore(const std::string& bytes);

 private:
  struct LiveModel {
    std::unique_ptr<Regressor> regressor;
    MinMaxScaler x_scaler, y_scaler;
    std::vector<double> e_ref;
    int64_t version = 0;
    int64_t swap_step = 0;
  };
  struct FitRequest {
    int64_t fire_step = 0, fire_time = 0, model_age = 0, window = 0, version = 0;
    std::string trigger;
    double ratio = 0;
    Samples samples;
    double prepare_cpu_seconds = 0;  // choose_window + training_samples (not in snapshots)
  };
  struct FitOutcome {
    LiveModel model;
    FitRecord record;
    std::string error;
  };
  struct PendingFit {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    FitOutcome outcome;
    RetrainStarted started;
  };
  struct Issued {
    int64_t step = 0, version = 0;
    bool from_model = false;
    std::vector<double> values;       // levels, target × horizon
    std::vector<double> persistence;  // y_t per target
    std::vector<double> climatology;  // target × horizon
  };
  struct Accumulator {
    int64_t count = 0;
    double abs = 0, sq = 0, persistence_abs = 0, climatology_abs = 0;
  };

  Events ingest_checked(int64_t time, const std::vector<double>& values);
  std::optional<double> mature(int64_t step, Events& ev);
  void maybe_retrain(int64_t step, const PolicyDecision& decision, Events& ev);
  int64_t choose_window() const;
  void launch(FitRequest request, Events& ev);
  void collect(Events& ev);
  void swap_in(FitOutcome outcome, Events& ev);
  Forecast issue_forecast(int64_t step);
  Forecast to_forecast(const Issued& f) const;
  bool trainable() const;
  static FitOutcome run_fit(const StreamConfig& config, const FitRequest& request);

  const StreamConfig config_;
  const NowcasterOptions options_;
  std::vector<int64_t> target_vars_;
  int64_t n_min_;

  mutable std::mutex mutex_;
  History history_;
  Climatology climatology_;
  RetrainPolicy policy_;
  std::optional<LiveModel> model_;
  int64_t fits_started_ = 0;
  std::deque<Issued> issued_;
  std::optional<Forecast> latest_;
  std::vector<Accumulator> accumulators_;  // target × horizon
  std::vector<FitRecord> fit_log_;
  std::map<std::string, int64_t> fits_by_trigger_;
  int64_t fits_ = 0, drift_events_ = 0;
  double window_sum_ = 0, cpu_seconds_ = 0, rows_epochs_ = 0, flops_ = 0;

  std::shared_ptr<PendingFit> pending_;
  std::optional<FitRequest> pending_request_;  // kept for snapshots of an in-flight fit
  std::thread worker_;
};

}  // namespace attune::nowcast

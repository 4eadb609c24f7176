#include "nowcast/nowcaster.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "nowcast/variance_horizon.h"

namespace attune::nowcast {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const auto c = t.contiguous().to(torch::kFloat64);
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

const StreamConfig& validated(const StreamConfig& c) {
  validate(c);
  return c;
}

}  // namespace

Nowcaster::Nowcaster(StreamConfig config, NowcasterOptions options)
    : config_(validated(config)),
      options_(std::move(options)),
      n_min_(resolved_n_min(config_)),
      history_(static_cast<int64_t>(config_.variables.size()),
               config_.window.n_max + config_.lags + config_.horizons.back()),
      climatology_(static_cast<int64_t>(config_.targets.size()), config_.resolution_seconds),
      policy_(config_.retrain),
      accumulators_(config_.targets.size() * config_.horizons.size()) {
  for (const auto& t : config_.targets)
    target_vars_.push_back(std::find(config_.variables.begin(), config_.variables.end(), t) -
                           config_.variables.begin());
}

Nowcaster::~Nowcaster() {
  if (worker_.joinable()) worker_.join();
}

Events Nowcaster::ingest(const Observation& obs) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto values = check_observation(config_, history_.last_time(), obs);
  return ingest_checked(obs.time, values);
}

Events Nowcaster::ingest(int64_t time, const std::vector<double>& values) {
  std::lock_guard<std::mutex> lock(mutex_);
  check_observation(config_, history_.last_time(), time, values);
  return ingest_checked(time, values);
}

std::vector<Events> Nowcaster::ingest_batch(const std::vector<Observation>& batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::vector<double>> rows;
  auto last = history_.last_time();
  for (size_t i = 0; i < batch.size(); ++i) {
    rows.push_back(
        check_observation(config_, last, batch[i], "observations[" + std::to_string(i) + "]"));
    last = batch[i].time;
  }
  std::vector<Events> out;
  for (size_t i = 0; i < batch.size(); ++i) out.push_back(ingest_checked(batch[i].time, rows[i]));
  return out;
}

bool Nowcaster::trainable() const {
  return config_.model.kind != ModelKind::persistence && config_.model.kind != ModelKind::climatology;
}

Events Nowcaster::ingest_checked(int64_t time, const std::vector<double>& values) {
  Events ev;
  const int64_t step = history_.count();
  ev.step = step;
  history_.push(time, values);
  std::vector<double> targets;
  for (int64_t v : target_vars_) targets.push_back(values[static_cast<size_t>(v)]);
  climatology_.add(time, targets);

  collect(ev);
  const auto z = mature(step, ev);
  ev.normalised_error = z;
  if (trainable()) {
    const int64_t age = model_ ? step - model_->swap_step : 0;
    const PolicyDecision d = model_ ? policy_.step(z, age) : PolicyDecision{};
    if (d.statistic) ev.readings.push_back({d.detector, *d.statistic});
    if (d.drift) {
      ev.drifts.push_back({step, d.detector, d.statistic.value_or(kNaN)});
      ++drift_events_;
    }
    maybe_retrain(step, d, ev);
  }
  latest_ = issue_forecast(step);
  ev.forecast = latest_;
  return ev;
}

// Scores the forecasts maturing at `step` and returns z_t: per target, the summed absolute
// errors of the current model's matured horizons over their summed e_ref, averaged over targets
// (so targets in different units weigh alike; §1.7.2).
std::optional<double> Nowcaster::mature(int64_t step, Events& ev) {
  const size_t n_h = config_.horizons.size(), n_t = target_vars_.size();
  std::vector<double> err(n_t, 0.0), ref(n_t, 0.0);
  bool any = false;
  for (const Issued& f : issued_) {
    for (size_t k = 0; k < n_h; ++k) {
      if (f.step + config_.horizons[k] != step) continue;
      for (size_t j = 0; j < n_t; ++j) {
        const size_t o = j * n_h + k;
        MaturedError m;
        m.target = config_.targets[j];
        m.horizon = config_.horizons[k];
        m.issued_step = f.step;
        m.valid_time = history_.time(step);
        m.forecast = f.values[o];
        m.actual = history_.value(step, target_vars_[j]);
        m.abs_error = std::fabs(m.forecast - m.actual);
        m.persistence_abs_error = std::fabs(f.persistence[j] - m.actual);
        m.climatology_abs_error = std::fabs(f.climatology[o] - m.actual);
        m.from_model = f.from_model;
        m.model_version = f.version;
        if (f.from_model) {
          Accumulator& a = accumulators_[o];
          ++a.count;
          a.abs += m.abs_error;
          a.sq += m.abs_error * m.abs_error;
          a.persistence_abs += m.persistence_abs_error;
          a.climatology_abs += m.climatology_abs_error;
        }
        if (model_ && f.from_model && f.version == model_->version) {
          err[j] += m.abs_error;
          ref[j] += model_->e_ref[o];
          any = true;
        }
        ev.matured.push_back(std::move(m));
      }
    }
  }
  while (!issued_.empty() && issued_.front().step + config_.horizons.back() <= step)
    issued_.pop_front();
  if (!any) return std::nullopt;
  double z = 0;
  for (size_t j = 0; j < n_t; ++j) z += err[j] / ref[j];
  return z / static_cast<double>(n_t);
}

int64_t Nowcaster::choose_window() const {
  const int64_t available = available_samples(history_, config_);
  const auto& w = config_.window;
  const int64_t n_max = std::min(w.n_max, available);
  if (w.kind == WindowKind::fixed) return n_max;
  // VH over each target's level history ending at the newest sample's anchor; the longest wins.
  const int64_t last_anchor = history_.last() - config_.horizons.back();
  int64_t n = 0;
  for (int64_t v : target_vars_) {
    std::vector<double> y(static_cast<size_t>(n_max));
    history_.column(v, last_anchor - n_max + 1, n_max, y.data());
    const int64_t vh = w.kind == WindowKind::variance_horizon
                           ? variance_horizon(y, n_min_, n_max, w.step, w.rho)
                           : variance_horizon_plateau(y, n_min_, n_max, w.step, w.epsilon,
                                                      w.plateau_checks);
    n = std::max(n, vh);
  }
  return n;
}

void Nowcaster::maybe_retrain(int64_t step, const PolicyDecision& d, Events& ev) {
  if (pending_) return;  // one fit at a time; the current model keeps forecasting
  std::string trigger;
  if (!model_) {
    if (available_samples(history_, config_) < n_min_) return;
    trigger = "initial";
  } else if (d.fire) {
    trigger = d.trigger;
  } else {
    return;
  }
  FitRequest r;
  r.fire_step = step;
  r.fire_time = history_.time(step);
  r.trigger = trigger;
  r.ratio = model_ ? d.ratio : kNaN;
  r.model_age = model_ ? step - model_->swap_step : -1;
  const double t0 = thread_cpu_seconds();
  r.window = choose_window();
  r.version = ++fits_started_;
  r.samples = training_samples(history_, config_, target_vars_, r.window);
  r.prepare_cpu_seconds = thread_cpu_seconds() - t0;
  launch(std::move(r), ev);
}

void Nowcaster::launch(FitRequest r, Events& ev) {
  RetrainStarted started{r.fire_step, r.trigger, r.window, r.ratio, r.model_age};
  ev.retrain_started.push_back(started);
  if (options_.mode == RetrainMode::synchronous) {
    swap_in(run_fit(config_, r), ev);
    return;
  }
  auto pending = std::make_shared<PendingFit>();
  pending->started = started;
  pending_ = pending;
  pending_request_ = r;
  auto job = [pending, config = config_, r = std::move(r), ready = options_.on_retrain_ready] {
    FitOutcome out = run_fit(config, r);
    {
      std::lock_guard<std::mutex> lock(pending->m);
      pending->outcome = std::move(out);
      pending->done = true;
    }
    pending->cv.notify_all();
    if (ready) ready();
  };
  if (options_.executor) {
    options_.executor(std::move(job));
  } else {
    if (worker_.joinable()) worker_.join();
    worker_ = std::thread(std::move(job));
  }
}

void Nowcaster::collect(Events& ev) {
  if (!pending_) return;
  {
    std::lock_guard<std::mutex> lock(pending_->m);
    if (!pending_->done) return;
  }
  auto done = std::move(pending_);
  pending_request_.reset();
  swap_in(std::move(done->outcome), ev);
}

void Nowcaster::swap_in(FitOutcome out, Events& ev) {
  if (!out.error.empty()) {
    ev.retrain_failed.push_back({out.record.fire_step, out.record.trigger, out.error});
    return;
  }
  const int64_t now = history_.last();
  out.model.swap_step = now;
  out.record.swap_step = now;
  model_ = std::move(out.model);
  policy_.on_model_swapped();
  ++fits_;
  ++fits_by_trigger_[out.record.trigger];
  window_sum_ += static_cast<double>(out.record.window);
  cpu_seconds_ += out.record.cpu_seconds;
  rows_epochs_ += out.record.rows_epochs;
  flops_ += out.record.flops;
  fit_log_.push_back(out.record);
  if (fit_log_.size() > options_.max_fit_log) fit_log_.erase(fit_log_.begin());
  ev.retrain_finished.push_back(std::move(out.record));
}

Nowcaster::FitOutcome Nowcaster::run_fit(const StreamConfig& c, const FitRequest& r) {
  FitOutcome out;
  FitRecord& rec = out.record;
  rec.version = r.version;
  rec.fire_step = r.fire_step;
  rec.fire_time = r.fire_time;
  rec.trigger = r.trigger;
  rec.ratio = r.ratio;
  rec.model_age = r.model_age;
  rec.window = r.window;
  try {
    const int64_t n = r.samples.x.size(0);
    const int64_t v = std::max<int64_t>(
        1, std::min<int64_t>(c.window.holdout_max,
                             static_cast<int64_t>(c.window.holdout_fraction * static_cast<double>(n))));
    const int64_t m = n - v;
    rec.train_rows = m;
    rec.holdout_rows = v;
    LiveModel& live = out.model;
    live.version = r.version;
    // Timed: everything the fit itself costs, from scaling to scoring the holdout (§1.8); the
    // window choice and sample assembly on the ingesting thread are added from the request.
    const double t0 = thread_cpu_seconds();
    const auto x_train = r.samples.x.narrow(0, 0, m), y_train = r.samples.y.narrow(0, 0, m);
    auto w = torch::empty({m}, torch::kFloat64);
    double* wp = w.data_ptr<double>();
    const double factor = c.window.recency_weight_factor;
    for (int64_t i = 0; i < m; ++i)  // §1.3: w_i = exp(−i/(f·N)), i counted back from the newest
      wp[i] = factor > 0 ? std::exp(-static_cast<double>(m - 1 - i) / (factor * static_cast<double>(m))) : 1.0;
    live.regressor = make_regressor(c.model, feature_layout(c), r.samples.y.size(1),
                                    c.model.seed + static_cast<uint64_t>(r.version));
    auto fitted = live.regressor->fit_unscaled(x_train, y_train, w, live.x_scaler, live.y_scaler);
    if (!fitted) {
      live.x_scaler.fit(x_train);
      live.y_scaler.fit(y_train);
      FitData d;
      d.x = live.x_scaler.transform(x_train);
      d.y = live.y_scaler.transform(y_train);
      d.w = w;
      d.x_val = live.x_scaler.transform(r.samples.x.narrow(0, m, v));
      d.y_val = live.y_scaler.transform(r.samples.y.narrow(0, m, v));
      fitted = live.regressor->fit(d);
    }
    const FitStats stats = *fitted;
    // e_ref: held-out MAE in target units (the error of a difference is the level error, as
    // y_t is known). Floored so a perfect holdout cannot make z infinite.
    const auto pred = live.regressor->predict(live.x_scaler.transform(r.samples.x.narrow(0, m, v)))
                          .to(torch::kFloat64)
                          .contiguous();
    const auto y_all = r.samples.y.contiguous();
    const int64_t q = pred.size(1);
    const double* ps = pred.data_ptr<double>();  // scaled; level = ps·h + c
    const std::vector<double>& yc = live.y_scaler.center;
    const std::vector<double>& yh = live.y_scaler.half_range;
    const double* truth = y_all.data_ptr<double>() + m * q;
    live.e_ref.assign(static_cast<size_t>(q), 0.0);
    for (int64_t i = 0; i < v; ++i)
      for (int64_t k = 0; k < q; ++k)
        live.e_ref[static_cast<size_t>(k)] += std::fabs(ps[i * q + k] * yh[k] + yc[k] - truth[i * q + k]);
    for (auto& e : live.e_ref) e = std::max(e / static_cast<double>(v), 1e-9);
    rec.cpu_seconds = thread_cpu_seconds() - t0 + r.prepare_cpu_seconds;
    rec.e_ref = live.e_ref;
    rec.epochs = stats.epochs;
    rec.rows_epochs = static_cast<double>(m * stats.epochs);
    rec.flops = stats.flops;
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

Forecast Nowcaster::issue_forecast(int64_t step) {
  const size_t n_h = config_.horizons.size(), n_t = target_vars_.size();
  Issued f;
  f.step = step;
  f.persistence.resize(n_t);
  f.values.resize(n_t * n_h);
  f.climatology.resize(n_t * n_h);
  const int64_t time = history_.time(step);
  for (size_t j = 0; j < n_t; ++j) {
    f.persistence[j] = history_.value(step, target_vars_[j]);
    for (size_t k = 0; k < n_h; ++k) {
      const double c = climatology_.forecast(static_cast<int64_t>(j),
                                             time + config_.horizons[k] * config_.resolution_seconds);
      f.climatology[j * n_h + k] = std::isnan(c) ? f.persistence[j] : c;
    }
  }
  switch (config_.model.kind) {
    case ModelKind::persistence:
      f.from_model = true;
      for (size_t j = 0; j < n_t; ++j)
        for (size_t k = 0; k < n_h; ++k) f.values[j * n_h + k] = f.persistence[j];
      break;
    case ModelKind::climatology:
      f.from_model = true;
      f.values = f.climatology;
      break;
    default:
      if (model_) {
        f.from_model = true;
        f.version = model_->version;
        const auto x = model_->x_scaler.transform(feature_row(history_, config_, step).unsqueeze(0));
        const auto diff = to_vector(model_->y_scaler.inverse(model_->regressor->predict(x)));
        for (size_t j = 0; j < n_t; ++j)
          for (size_t k = 0; k < n_h; ++k) f.values[j * n_h + k] = f.persistence[j] + diff[j * n_h + k];
      } else {
        for (size_t j = 0; j < n_t; ++j)
          for (size_t k = 0; k < n_h; ++k) f.values[j * n_h + k] = f.persistence[j];
      }
  }
  issued_.push_back(std::move(f));
  return to_forecast(issued_.back());
}

Forecast Nowcaster::to_forecast(const Issued& f) const {
  const size_t n_h = config_.horizons.size(), n_t = target_vars_.size();
  Forecast out;
  out.step = f.step;
  out.issued_time = history_.time(f.step);
  out.from_model = f.from_model;
  out.model_version = f.version;
  for (size_t k = 0; k < n_h; ++k) {
    HorizonForecast h;
    h.horizon = config_.horizons[k];
    h.valid_time = out.issued_time + h.horizon * config_.resolution_seconds;
    for (size_t j = 0; j < n_t; ++j) h.values.push_back(f.values[j * n_h + k]);
    out.horizons.push_back(std::move(h));
  }
  return out;
}

Events Nowcaster::poll() {
  std::lock_guard<std::mutex> lock(mutex_);
  Events ev;
  collect(ev);
  return ev;
}

Events Nowcaster::wait_for_retrain() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (pending_) {
    std::unique_lock<std::mutex> pl(pending_->m);
    pending_->cv.wait(pl, [&] { return pending_->done; });
  }
  Events ev;
  collect(ev);
  return ev;
}

std::optional<Forecast> Nowcaster::latest_forecast() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return latest_;
}

std::vector<FitRecord> Nowcaster::fit_log() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fit_log_;
}

StreamStatus Nowcaster::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  StreamStatus s;
  s.name = config_.name;
  s.observations = history_.count();
  s.last_time = history_.last_time();
  s.model_ready = model_.has_value() || !trainable();
  s.model_version = model_ ? model_->version : 0;
  s.model_age = model_ ? history_.last() - model_->swap_step : 0;
  s.retrain_pending = pending_ != nullptr;
  s.fits = fits_;
  s.fits_by_trigger = fits_by_trigger_;
  s.mean_window = fits_ ? window_sum_ / static_cast<double>(fits_) : 0.0;
  s.train_cpu_seconds = cpu_seconds_;
  s.train_rows_epochs = rows_epochs_;
  s.train_flops = flops_;
  s.drift_events = drift_events_;
  s.ratio = policy_.ratio();
  const size_t n_h = config_.horizons.size();
  for (size_t j = 0; j < config_.targets.size(); ++j)
    for (size_t k = 0; k < n_h; ++k) {
      const Accumulator& a = accumulators_[j * n_h + k];
      HorizonStats h;
      h.target = config_.targets[j];
      h.horizon = config_.horizons[k];
      h.count = a.count;
      if (a.count > 0) {
        const double n = static_cast<double>(a.count);
        h.mae = a.abs / n;
        h.rmse = std::sqrt(a.sq / n);
        h.persistence_mae = a.persistence_abs / n;
        h.climatology_mae = a.climatology_abs / n;
        h.skill = h.persistence_mae > 0 ? 1.0 - h.mae / h.persistence_mae : 0.0;
      }
      s.horizons.push_back(h);
    }
  return s;
}

}  // namespace attune::nowcast

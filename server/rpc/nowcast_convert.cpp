#include "rpc/nowcast_convert.h"

#include <cmath>
#include <stdexcept>

#include "core/storage.h"
#include "streams/config_json.h"

namespace attune::rpc {
namespace {

void set_optional_ratio(double r, v1::RetrainStarted* p) {
  if (std::isfinite(r)) p->set_ratio(r);
}

}  // namespace

StreamSpec from_proto(const v1::NowcastStreamConfig& p) {
  check_name("config.name", p.name());
  if (p.resolution_seconds() < 0)
    throw std::invalid_argument("config.resolution_seconds: expected >= 1 (or 0 for 86400), received " +
                                std::to_string(p.resolution_seconds()));
  StreamSpec s;
  auto& c = s.config;
  c = nowcast::make_stream_config(p.name(), {p.variables().begin(), p.variables().end()},
                                  {p.targets().begin(), p.targets().end()},
                                  p.resolution_seconds() ? p.resolution_seconds() : 86400);
  if (p.has_lags()) c.lags = p.lags();
  if (p.horizons_size()) c.horizons.assign(p.horizons().begin(), p.horizons().end());
  if (p.has_calendar_features()) c.calendar_features = p.calendar_features();

  const auto& m = p.model();
  if (!m.kind().empty()) c.model.kind = nowcast::parse_model_kind(m.kind(), "config.model.kind");
  if (m.has_l2()) c.model.l2 = m.l2();
  if (m.has_hidden()) c.model.hidden = m.hidden();
  if (m.has_layers()) c.model.layers = m.layers();
  if (m.has_heads()) c.model.heads = m.heads();
  if (m.has_dropout()) c.model.dropout = m.dropout();
  if (m.has_lr()) c.model.lr = m.lr();
  if (m.has_weight_decay()) c.model.weight_decay = m.weight_decay();
  if (m.has_max_epochs()) c.model.max_epochs = m.max_epochs();
  if (m.has_batch_size()) c.model.batch_size = m.batch_size();
  if (m.has_patience()) c.model.patience = m.patience();
  if (m.has_seed()) c.model.seed = m.seed();

  const auto& w = p.window();
  if (!w.kind().empty()) c.window.kind = nowcast::parse_window_kind(w.kind(), "config.window.kind");
  if (w.has_n_max()) c.window.n_max = w.n_max();
  if (w.has_n_min()) c.window.n_min = w.n_min();
  if (w.has_n_min_per_input()) c.window.n_min_per_input = w.n_min_per_input();
  if (w.has_step()) c.window.step = w.step();
  if (w.has_rho()) c.window.rho = w.rho();
  if (w.has_epsilon()) c.window.epsilon = w.epsilon();
  if (w.has_plateau_checks()) c.window.plateau_checks = w.plateau_checks();
  if (w.has_holdout_fraction()) c.window.holdout_fraction = w.holdout_fraction();
  if (w.has_holdout_max()) c.window.holdout_max = w.holdout_max();
  if (w.has_recency_weight_factor()) c.window.recency_weight_factor = w.recency_weight_factor();

  const auto& r = p.retrain();
  if (!r.trigger().empty())
    c.retrain.trigger = nowcast::parse_trigger_kind(r.trigger(), "config.retrain.trigger");
  if (r.has_period()) c.retrain.period = r.period();
  if (r.has_tau()) c.retrain.tau = r.tau();
  if (r.has_error_window()) c.retrain.error_window = r.error_window();
  if (r.has_consecutive()) c.retrain.consecutive = r.consecutive();
  if (r.has_min_age()) c.retrain.min_age = r.min_age();
  if (r.has_max_age()) c.retrain.max_age = r.max_age();
  const auto& a = r.adwin();
  if (a.has_delta()) c.retrain.adwin.delta = a.delta();
  if (a.has_clock()) c.retrain.adwin.clock = a.clock();
  if (a.has_max_buckets()) c.retrain.adwin.max_buckets = a.max_buckets();
  if (a.has_min_window_length()) c.retrain.adwin.min_window_length = a.min_window_length();
  if (a.has_grace_period()) c.retrain.adwin.grace_period = a.grace_period();
  const auto& ph = r.page_hinkley();
  if (ph.has_min_instances()) c.retrain.page_hinkley.min_instances = ph.min_instances();
  if (ph.has_delta()) c.retrain.page_hinkley.delta = ph.delta();
  if (ph.has_threshold()) c.retrain.page_hinkley.threshold = ph.threshold();
  if (ph.has_alpha()) c.retrain.page_hinkley.alpha = ph.alpha();
  if (!ph.mode().empty())
    c.retrain.page_hinkley.mode =
        streams::parse_page_hinkley_mode(ph.mode(), "config.retrain.page_hinkley.mode");

  if (!p.retrain_mode().empty())
    s.mode = streams::parse_retrain_mode(p.retrain_mode(), "config.retrain_mode");
  try {
    nowcast::validate(c);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("config.") + e.what());
  }
  return s;
}

void to_proto(const nowcast::StreamConfig& c, nowcast::RetrainMode mode, v1::NowcastStreamConfig* p) {
  p->set_name(c.name);
  for (const auto& v : c.variables) p->add_variables(v);
  for (const auto& t : c.targets) p->add_targets(t);
  p->set_resolution_seconds(c.resolution_seconds);
  p->set_lags(c.lags);
  for (int64_t h : c.horizons) p->add_horizons(h);
  p->set_calendar_features(c.calendar_features);
  p->set_retrain_mode(streams::to_string(mode));

  auto* m = p->mutable_model();
  m->set_kind(nowcast::to_string(c.model.kind));
  m->set_l2(c.model.l2);
  m->set_hidden(c.model.hidden);
  m->set_layers(c.model.layers);
  m->set_heads(c.model.heads);
  m->set_dropout(c.model.dropout);
  m->set_lr(c.model.lr);
  m->set_weight_decay(c.model.weight_decay);
  m->set_max_epochs(c.model.max_epochs);
  m->set_batch_size(c.model.batch_size);
  m->set_patience(c.model.patience);
  m->set_seed(c.model.seed);

  auto* w = p->mutable_window();
  w->set_kind(nowcast::to_string(c.window.kind));
  w->set_n_max(c.window.n_max);
  w->set_n_min(c.window.n_min);
  w->set_n_min_per_input(c.window.n_min_per_input);
  w->set_step(c.window.step);
  w->set_rho(c.window.rho);
  w->set_epsilon(c.window.epsilon);
  w->set_plateau_checks(c.window.plateau_checks);
  w->set_holdout_fraction(c.window.holdout_fraction);
  w->set_holdout_max(c.window.holdout_max);
  w->set_recency_weight_factor(c.window.recency_weight_factor);

  auto* r = p->mutable_retrain();
  r->set_trigger(nowcast::to_string(c.retrain.trigger));
  r->set_period(c.retrain.period);
  r->set_tau(c.retrain.tau);
  r->set_error_window(c.retrain.error_window);
  r->set_consecutive(c.retrain.consecutive);
  r->set_min_age(c.retrain.min_age);
  r->set_max_age(c.retrain.max_age);
  auto* a = r->mutable_adwin();
  a->set_delta(c.retrain.adwin.delta);
  a->set_clock(c.retrain.adwin.clock);
  a->set_max_buckets(c.retrain.adwin.max_buckets);
  a->set_min_window_length(c.retrain.adwin.min_window_length);
  a->set_grace_period(c.retrain.adwin.grace_period);
  auto* ph = r->mutable_page_hinkley();
  ph->set_min_instances(c.retrain.page_hinkley.min_instances);
  ph->set_delta(c.retrain.page_hinkley.delta);
  ph->set_threshold(c.retrain.page_hinkley.threshold);
  ph->set_alpha(c.retrain.page_hinkley.alpha);
  ph->set_mode(streams::to_string(c.retrain.page_hinkley.mode));
}

std::vector<nowcast::Observation> from_proto(
    const google::protobuf::RepeatedPtrField<v1::Observation>& observations) {
  std::vector<nowcast::Observation> out;
  out.reserve(static_cast<size_t>(observations.size()));
  for (const auto& o : observations) {
    nowcast::Observation x;
    x.time = o.time();
    x.values.insert(o.values().begin(), o.values().end());
    out.push_back(std::move(x));
  }
  return out;
}

void to_proto(const nowcast::Forecast& f, const nowcast::StreamConfig& c, v1::NowcastForecast* p) {
  p->set_stream(c.name);
  p->set_step(f.step);
  p->set_issued_time(f.issued_time);
  p->set_from_model(f.from_model);
  p->set_model_version(f.model_version);
  for (const auto& h : f.horizons) {
    auto* x = p->add_horizons();
    x->set_horizon(h.horizon);
    x->set_valid_time(h.valid_time);
    auto& values = *x->mutable_values();
    for (size_t j = 0; j < h.values.size() && j < c.targets.size(); ++j) values[c.targets[j]] = h.values[j];
  }
}

void to_proto(const nowcast::FitRecord& r, v1::FitRecord* p) {
  p->set_version(r.version);
  p->set_fire_step(r.fire_step);
  p->set_fire_time(r.fire_time);
  p->set_trigger(r.trigger);
  if (std::isfinite(r.ratio)) p->set_ratio(r.ratio);
  p->set_model_age(r.model_age);
  p->set_window(r.window);
  p->set_train_rows(r.train_rows);
  p->set_holdout_rows(r.holdout_rows);
  p->set_epochs(r.epochs);
  p->set_rows_epochs(r.rows_epochs);
  p->set_flops(r.flops);
  p->set_cpu_seconds(r.cpu_seconds);
  p->set_swap_step(r.swap_step);
  for (double e : r.e_ref) p->add_e_ref(e);
}

void to_proto(const nowcast::Events& e, const nowcast::StreamConfig& c, v1::ObservationResult* p) {
  p->set_step(e.step);
  if (e.forecast) {
    p->set_time(e.forecast->issued_time);
    to_proto(*e.forecast, c, p->mutable_forecast());
  }
  for (const auto& m : e.matured) {
    auto* x = p->add_matured();
    x->set_target(m.target);
    x->set_horizon(m.horizon);
    x->set_issued_step(m.issued_step);
    x->set_valid_time(m.valid_time);
    x->set_forecast(m.forecast);
    x->set_actual(m.actual);
    x->set_abs_error(m.abs_error);
    x->set_persistence_abs_error(m.persistence_abs_error);
    x->set_climatology_abs_error(m.climatology_abs_error);
    x->set_from_model(m.from_model);
    x->set_model_version(m.model_version);
  }
  if (e.normalised_error) p->set_normalised_error(*e.normalised_error);
  for (const auto& r : e.readings) {
    auto* x = p->add_readings();
    x->set_detector(r.detector);
    x->set_value(r.value);
  }
  for (const auto& d : e.drifts) {
    auto* x = p->add_drifts();
    x->set_step(d.step);
    x->set_detector(d.detector);
    x->set_statistic(d.statistic);
  }
  for (const auto& s : e.retrain_started) {
    auto* x = p->add_retrain_started();
    x->set_step(s.step);
    x->set_trigger(s.trigger);
    x->set_window(s.window);
    set_optional_ratio(s.ratio, x);
    x->set_model_age(s.model_age);
  }
  for (const auto& f : e.retrain_finished) to_proto(f, p->add_retrain_finished());
  for (const auto& f : e.retrain_failed) {
    auto* x = p->add_retrain_failed();
    x->set_step(f.step);
    x->set_trigger(f.trigger);
    x->set_message(f.message);
  }
}

void to_proto(const streams::HostedStream& s, int recent_fits, v1::NowcastStream* p) {
  const auto st = s.status();
  to_proto(s.config(), s.mode(), p->mutable_config());
  p->set_observations(st.observations);
  if (st.last_time) p->set_last_time(*st.last_time);
  p->set_model_ready(st.model_ready);
  p->set_model_version(st.model_version);
  p->set_model_age(st.model_age);
  p->set_retrain_pending(st.retrain_pending);
  p->set_fits(st.fits);
  for (const auto& [trigger, n] : st.fits_by_trigger) (*p->mutable_fits_by_trigger())[trigger] = n;
  p->set_mean_window(st.mean_window);
  p->mutable_compute()->set_train_cpu_seconds(st.train_cpu_seconds);
  p->mutable_compute()->set_train_rows_epochs(st.train_rows_epochs);
  p->mutable_compute()->set_train_flops(st.train_flops);
  p->set_drift_events(st.drift_events);
  if (std::isfinite(st.ratio)) p->set_ratio(st.ratio);
  for (const auto& h : st.horizons) {
    auto* x = p->add_horizons();
    x->set_target(h.target);
    x->set_horizon(h.horizon);
    x->set_count(h.count);
    x->set_mae(h.mae);
    x->set_rmse(h.rmse);
    x->set_persistence_mae(h.persistence_mae);
    x->set_climatology_mae(h.climatology_mae);
    x->set_skill(h.skill);
  }
  const auto fits = s.fit_log();
  const size_t keep = std::min(fits.size(), static_cast<size_t>(std::max(0, recent_fits)));
  for (size_t i = fits.size() - keep; i < fits.size(); ++i) to_proto(fits[i], p->add_recent_fits());
  const auto d = s.persistence();
  p->mutable_persistence()->set_durable_observations(d.durable_observations);
  p->mutable_persistence()->set_snapshot_observations(d.snapshot_observations);
  p->mutable_persistence()->set_log_bytes(static_cast<int64_t>(d.log_bytes));
  p->set_created_unix_seconds(s.created_unix_seconds());
}

}  // namespace attune::rpc

// Spec §4 benchmark protocol on the vendored NOAA data: prequential runs of the Nowcaster over
// S1 (Seattle daily, 1461 steps) and S2 (Seattle→New York splice, change at 731), one stream
// per target, for arms A periodic / B performance-based / C Variance Horizon / D both /
// P persistence / K climatology (+ E ADWIN, F Page-Hinkley with River's defaults for drift
// scoring, and G: §1.7.4's tuned Page-Hinkley on z_t as a performance trigger), with ridge and
// the FC-MLP. S4 (the same change on the other years) is scored for drift as an out-of-sample
// check. Prints Markdown tables; see bench/nowcast/run.sh and RESULTS.md. Tools: --tune and
// --tune-ph (Seattle-only tuning), --frontier S2|S4 (bench/nowcast/frontier.sh), --trace.
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "nowcast/drift_eval.h"
#include "nowcast/nowcaster.h"
#include "nowcast/weather_csv.h"

using namespace attune::nowcast;

namespace {

constexpr int64_t kWarmup = 180;     // §4: excluded from scoring
constexpr int64_t kDeltaMax = 30;    // §4 drift scoring, daily

struct Options {
  std::string data = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/noaa";
  std::vector<std::string> models{"ridge", "mlp"};
  int64_t mlp_period = 6;  // MLP arms A/C retrain every k steps; compute also shown ×k
  int threads = 2;
  bool tune = false;
  bool tune_ph = false;
  std::vector<std::string> streams{"S1", "S2", "S4"};
  double l2 = -1;   // overrides ModelConfig::l2 when ≥ 0
  double rho = -1;  // overrides WindowConfig::rho when > 0
  int ridge_rounds = 9;  // ridge CPU-s = median over this many identical runs
  std::string trace;     // "S2/temp_min/ridge/B": per-step CSV of that one job instead of tables
  std::string frontier;  // S2 or S4: hindsight grid of the performance rule on that splice (frontier())
};
Options g_options;

struct ArmSpec {
  std::string name;
  TriggerKind trigger = TriggerKind::periodic;
  WindowKind window = WindowKind::fixed;
  ModelKind baseline = ModelKind::ridge;  // persistence/climatology for P/K
  bool is_baseline = false;
};

struct Job {
  std::string stream, target, model;
  ArmSpec arm;
  const std::vector<Observation>* obs = nullptr;
  RetrainConfig retrain;  // overrides (tuning)
  int64_t period = 1;
  double holdout_fraction = 0.1;
  int64_t cp = kSpliceChangePoint;  // pre/post split (and drift scoring) of splice streams
};

struct Result {
  Job job;
  std::vector<double> abs_sum, sq_sum, pre_abs, post_abs;  // per horizon
  std::vector<int64_t> n, pre_n, post_n;
  int64_t fits = 0;
  double mean_window = 0, cpu = 0, rows_epochs = 0, flops = 0;
  double cpu_min = NAN;  // ridge: minimum CPU-s over the rounds (cpu is their median)
  std::vector<int64_t> alarms;  // fire steps of drift triggers (performance/adwin/page_hinkley)
  double mae() const {
    double s = 0, c = 0;
    for (size_t k = 0; k < abs_sum.size(); ++k) s += abs_sum[k], c += static_cast<double>(n[k]);
    return s / c;
  }
  double mae_h(size_t k) const { return abs_sum[k] / static_cast<double>(n[k]); }
  double rmse_h(size_t k) const { return std::sqrt(sq_sum[k] / static_cast<double>(n[k])); }
  double part(const std::vector<double>& a, const std::vector<int64_t>& c) const {
    double s = 0, m = 0;
    for (size_t k = 0; k < a.size(); ++k) s += a[k], m += static_cast<double>(c[k]);
    return m > 0 ? s / m : NAN;
  }
};

StreamConfig make_config(const Job& j) {
  StreamConfig c = make_stream_config(j.stream + "/" + j.target + "/" + j.model + "/" + j.arm.name,
                                      weather_variables(), {j.target}, 86400);
  c.model.kind = j.arm.is_baseline ? j.arm.baseline : parse_model_kind(j.model);
  c.window.kind = j.arm.window;
  c.retrain = j.retrain;
  c.retrain.trigger = j.arm.trigger;
  c.retrain.period = j.period;
  c.window.holdout_fraction = j.holdout_fraction;
  if (g_options.l2 >= 0) c.model.l2 = g_options.l2;
  if (g_options.rho > 0) c.window.rho = g_options.rho;
  return c;
}

Result run(const Job& j) {
  Nowcaster nc(make_config(j));
  Result r;
  r.job = j;
  const size_t n_h = nc.config().horizons.size();
  r.abs_sum.assign(n_h, 0);
  r.sq_sum.assign(n_h, 0);
  r.pre_abs.assign(n_h, 0);
  r.post_abs.assign(n_h, 0);
  r.n.assign(n_h, 0);
  r.pre_n.assign(n_h, 0);
  r.post_n.assign(n_h, 0);
  for (const auto& o : *j.obs) {
    const Events ev = nc.ingest(o);
    for (const auto& m : ev.matured) {
      if (!m.from_model || m.issued_step < kWarmup) continue;
      const size_t k = static_cast<size_t>(
          std::find(nc.config().horizons.begin(), nc.config().horizons.end(), m.horizon) -
          nc.config().horizons.begin());
      r.abs_sum[k] += m.abs_error;
      r.sq_sum[k] += m.abs_error * m.abs_error;
      ++r.n[k];
      const bool pre = m.issued_step < j.cp;
      (pre ? r.pre_abs : r.post_abs)[k] += m.abs_error;
      ++(pre ? r.pre_n : r.post_n)[k];
    }
    for (const auto& f : ev.retrain_finished)
      if (f.trigger == "performance" || f.trigger == "adwin" || f.trigger == "page_hinkley")
        r.alarms.push_back(f.fire_step);
  }
  const StreamStatus s = nc.status();
  r.fits = s.fits;
  r.mean_window = s.mean_window;
  r.cpu = s.train_cpu_seconds;
  r.rows_epochs = s.train_rows_epochs;
  r.flops = s.train_flops;
  return r;
}

std::vector<Result> run_all(const std::vector<Job>& jobs, int threads) {
  std::vector<Result> out(jobs.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < jobs.size();) out[i] = run(jobs[i]);
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  return out;
}

std::string fmt(double v, int digits = 3) {
  if (std::isnan(v)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string pct(double v) {
  if (std::isnan(v) || std::isinf(v)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.1f%%", 100 * v);
  return buf;
}

// Drift scoring of one splice run (spec §4, river.drift.evaluate, delta_max 30): the report, and
// the alarms before the change point (every alarm before it is a false alarm).
struct SpliceScore {
  DriftReport rep;
  int64_t pre = 0;
  std::string first = "–";  // first alarm at or after the change
  double pre_per_1000 = 0;
  bool delay_ok = false, fa_ok = false;
};
SpliceScore score_splice(const Result& r, int64_t n_steps) {
  SpliceScore s;
  const int64_t cp = r.job.cp;
  s.rep = report(r.alarms, {{cp, cp}}, n_steps, kDeltaMax, 0, 1000);
  for (int64_t x : r.alarms) {
    if (x < cp) ++s.pre;
    else if (s.first == "–") s.first = std::to_string(x);
  }
  s.pre_per_1000 = 1000.0 * static_cast<double>(s.pre) / static_cast<double>(cp);
  s.delay_ok = !std::isnan(s.rep.detection_delay) && s.rep.detection_delay <= 14;
  s.fa_ok = s.pre_per_1000 <= 2.0;
  return s;
}

// Scale for arms whose periodic retrain ran every k steps instead of every step (§4).
double scale(const Result& r) { return r.job.period > 1 ? static_cast<double>(r.job.period) : 1.0; }

// Selection rule of --tune, fixed before the grid was run (see RESULTS.md notes). On S1 with
// ridge, a grid point is admissible if B's MAE is within +5% of A's (mean over targets), B cuts
// rows×epochs by ≥ 80% (summed over targets), and every target has ≤ 1.5 performance
// (non-staleness) fires per 1000 steps of S1. Among admissible points the smallest change from
// the previous defaults wins: fewest parameters changed, then fewest grid steps moved, then the
// lower mean MAE change. It picked W = 28, which failed on the splice (delay > 14, temp_min false
// alarms unchanged), so the defaults were kept; see the RESULTS.md notes.
constexpr double kTuneMaxMae = 0.05, kTuneMinCut = 0.80, kTuneMaxFiresPer1000 = 1.5;

// Arm G (spec §1.7.4, the alternative detector): performance-based retraining whose trigger is a
// Page-Hinkley test on z_t = e_t / e_ref (River semantics), mode "up", δ = 0.05,
// min_instances = W (14 daily), on the fixed N_max window like B (A_min 7 and A_max 120 as B).
// λ per target from `nowcast_bench --tune-ph` (rule below), fixed before the splice was run.
constexpr double kPhDelta = 0.05;
// min_instances = W (§1.7.4), the daily W at which the λ were tuned.
constexpr int64_t kPhMinInstances = 14;
const std::vector<double> kPhGrid{3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30};
// --tune-ph selection rule, fixed in code before any result was seen: on S1 (Seattle 2012–2015;
// the splice is not run) with ridge, per target, the smallest λ of kPhGrid whose Page-Hinkley
// fires (every fire except the initial fit and max_age staleness fires) are ≤ 1 per 1000 S1
// steps. If no grid value qualifies, the largest is taken (flagged in the output). The MLP uses
// the ridge's λ per target.
constexpr double kPhMaxFiresPer1000 = 1.0;
// Produced by `nice -n 10 build-nowcast/bench/nowcast/nowcast_bench --tune-ph` (2026-11-27): S1 PH
// fires at the chosen λ 1/1/0 (0.68/0.68/0.00 per 1000 steps); wind's λ 30 is the grid's top value,
// and all three lie well above the spec's indicative 5–10 (λ 10 gave 3/6/8 S1 fires).
const std::map<std::string, double> kPhLambda{{"temp_max", 20}, {"temp_min", 25}, {"wind", 30}};

RetrainConfig page_hinkley_retrain(double lambda) {
  RetrainConfig rc = make_stream_config("", {}, {}, 86400).retrain;
  rc.trigger = TriggerKind::page_hinkley;
  rc.page_hinkley.mode = PageHinkleyMode::up;
  rc.page_hinkley.delta = kPhDelta;
  rc.page_hinkley.min_instances = kPhMinInstances;
  rc.page_hinkley.threshold = lambda;
  return rc;
}

void tune_ph(const Options& o, const std::vector<Observation>& s1) {
  const std::vector<std::string> targets{"temp_max", "temp_min", "wind"};
  const ArmSpec g{"G", TriggerKind::page_hinkley, WindowKind::fixed};
  std::vector<Job> jobs;
  for (double lambda : kPhGrid)
    for (const auto& t : targets) jobs.push_back({"S1", t, "ridge", g, &s1, page_hinkley_retrain(lambda), 1});
  const auto res = run_all(jobs, o.threads);
  const RetrainConfig rc0 = page_hinkley_retrain(0);
  std::cout << "Page-Hinkley λ grid for arm G (S1 = Seattle 2012–2015, " << s1.size()
            << " steps, ridge; PH on z_t, mode up, δ " << kPhDelta << ", min_instances "
            << rc0.page_hinkley.min_instances << ", A_min " << rc0.min_age << ", A_max " << rc0.max_age
            << ", fixed N_max window). Fires = Page-Hinkley fires (not the initial fit, not max_age).\n\n"
            << "| λ | fires temp_max | fires temp_min | fires wind | per 1000 steps (max target) | fits (3 targets) | "
               "MAE temp_max/temp_min/wind |\n|---|---|---|---|---|---|---|\n";
  std::map<std::string, double> chosen;
  for (size_t g_i = 0; g_i < kPhGrid.size(); ++g_i) {
    double worst = 0, fits = 0;
    std::string maes;
    std::vector<std::string> cells;
    for (size_t t = 0; t < targets.size(); ++t) {
      const Result& r = res[targets.size() * g_i + t];
      const double per1000 = 1000.0 * static_cast<double>(r.alarms.size()) / static_cast<double>(s1.size());
      worst = std::max(worst, per1000);
      fits += static_cast<double>(r.fits);
      std::string steps;
      for (size_t k = 0; k < r.alarms.size(); ++k) steps += (k ? "," : "") + std::to_string(r.alarms[k]);
      cells.push_back(std::to_string(r.alarms.size()) + " (" + fmt(per1000, 2) + ")" +
                      (steps.empty() ? "" : " at " + steps));
      maes += (t ? "/" : "") + fmt(r.mae());
      if (per1000 <= kPhMaxFiresPer1000 && !chosen.count(targets[t])) chosen[targets[t]] = kPhGrid[g_i];
    }
    std::cout << "| " << kPhGrid[g_i] << " | " << cells[0] << " | " << cells[1] << " | " << cells[2] << " | "
              << fmt(worst, 2) << " | " << fits << " | " << maes << " |\n";
  }
  std::cout << "\nRule: per target, the smallest λ of the grid with ≤ " << kPhMaxFiresPer1000
            << " Page-Hinkley fires per 1000 S1 steps. Selected:";
  for (const auto& t : targets) {
    if (chosen.count(t)) std::cout << " " << t << " λ " << chosen[t] << ";";
    else std::cout << " " << t << " λ " << kPhGrid.back() << " (NO grid value qualifies; largest taken);";
  }
  std::cout << "\n";
}

void tune(const Options& o, const std::vector<Observation>& s1) {
  // Grid over the performance policy on the Seattle-only stream S1 with ridge; the splice is
  // not looked at. Reports compute cut and MAE change vs arm A (mean over the targets).
  std::vector<Job> jobs;
  const std::vector<std::string> targets{"temp_max", "temp_min", "wind"};
  for (const auto& t : targets) {
    Job a{"S1", t, "ridge", {"A", TriggerKind::periodic, WindowKind::fixed}, &s1, RetrainConfig{}, 1};
    jobs.push_back(a);
  }
  // The library's daily defaults (τ 1, W 14, K 3, A_min 7, A_max 120): the reference of
  // "smallest change".
  const RetrainConfig prev = make_stream_config("", {}, {}, 86400).retrain;
  const std::vector<double> taus{1.0, 1.25, 1.5, 2.0};
  const std::vector<int64_t> ws{14, 21, 28}, ks{3, 4, 5, 7};
  auto index_of = [](const auto& v, auto x) {
    return static_cast<int>(std::find(v.begin(), v.end(), x) - v.begin());
  };
  struct P { double tau; int64_t w, k; };
  std::vector<P> grid;
  for (double tau : taus)
    for (int64_t w : ws)
      for (int64_t k : ks) grid.push_back({tau, w, k});
  for (const auto& p : grid)
    for (const auto& t : targets) {
      RetrainConfig rc = prev;
      rc.tau = p.tau;
      rc.error_window = p.w;
      rc.consecutive = p.k;
      jobs.push_back({"S1", t, "ridge", {"B", TriggerKind::performance, WindowKind::fixed}, &s1, rc, 1});
    }
  const auto res = run_all(jobs, o.threads);
  std::cout << "Tuning grid (S1 = Seattle 2012–2015, " << s1.size() << " steps, ridge, arm B; A_min "
            << prev.min_age << ", A_max " << prev.max_age << ", holdout 10%). Fires = performance "
            << "(non-staleness) fires over the whole stream.\n\n"
            << "| tau | W | K | fits (3 targets) | fires per target | fires /1000 steps (max target) | "
               "rows×epochs vs A | MAE vs A (mean) | admissible |\n|---|---|---|---|---|---|---|---|---|\n";
  int best = -1;
  std::tuple<int, int, double> best_key{};
  for (size_t g = 0; g < grid.size(); ++g) {
    double fits = 0, re = 0, re_a = 0, d_mae = 0, worst = 0;
    std::string per_target;
    for (size_t t = 0; t < targets.size(); ++t) {
      const Result& r = res[targets.size() * (g + 1) + t];
      const Result& a = res[t];
      fits += static_cast<double>(r.fits);
      re += r.rows_epochs;
      re_a += a.rows_epochs;
      d_mae += (r.mae() / a.mae() - 1) / static_cast<double>(targets.size());
      worst = std::max(worst, 1000.0 * static_cast<double>(r.alarms.size()) / static_cast<double>(s1.size()));
      per_target += (t ? "/" : "") + std::to_string(r.alarms.size());
    }
    const auto& p = grid[g];
    const bool ok = d_mae <= kTuneMaxMae && 1 - re / re_a >= kTuneMinCut && worst <= kTuneMaxFiresPer1000;
    const int changed = (p.tau != prev.tau) + (p.w != prev.error_window) + (p.k != prev.consecutive);
    const int steps = std::abs(index_of(taus, p.tau) - index_of(taus, prev.tau)) +
                      std::abs(index_of(ws, p.w) - index_of(ws, prev.error_window)) +
                      std::abs(index_of(ks, p.k) - index_of(ks, prev.consecutive));
    const std::tuple<int, int, double> key{changed, steps, d_mae};
    if (ok && (best < 0 || key < best_key)) best = static_cast<int>(g), best_key = key;
    std::cout << "| " << p.tau << " | " << p.w << " | " << p.k << " | " << fits << " | " << per_target << " | "
              << fmt(worst, 2) << " | " << pct(re / re_a - 1) << " | " << pct(d_mae) << " | "
              << (ok ? "yes" : "no") << " |\n";
  }
  std::cout << "\nRule: MAE ≤ +" << 100 * kTuneMaxMae << "%, rows×epochs cut ≥ " << 100 * kTuneMinCut
            << "%, ≤ " << kTuneMaxFiresPer1000 << " fires /1000 steps for every target; smallest change "
            << "from τ " << prev.tau << ", W " << prev.error_window << ", K " << prev.consecutive << ". ";
  if (best < 0) std::cout << "No admissible grid point.\n";
  else
    std::cout << "Selected: τ " << grid[best].tau << ", W " << grid[best].w << ", K " << grid[best].k << ".\n";
}

// --frontier S2|S4: is the splice goal (per target: delay ≤ 14 and ≤ 2 false alarms per 1000
// pre-change steps) reachable by the spec's drift triggers at all? Runs the §1.7 ratio rule over
// a wide τ × W × K grid, Page-Hinkley on z over λ × δ and ADWIN on z over δ, on the splice that
// is scored: a choice with hindsight, i.e. an upper bound on what any tuning of these rules can
// do, not a result. Ridge runs every grid; the MLP runs the ratio-rule points where ridge met
// every target.
int frontier(const Options& o, const std::string& sname, const std::vector<Observation>& obs, int64_t cp) {
  const std::vector<std::string> targets{"temp_max", "temp_min", "wind"};
  std::vector<double> taus;
  for (int i = 0; i <= 15; ++i) taus.push_back(0.5 + 0.1 * i);
  const std::vector<int64_t> ws{7, 10, 14, 21, 28}, ks{1, 2, 3, 5, 7};
  struct P { double tau; int64_t w, k; };
  std::vector<P> grid;
  for (int64_t w : ws)
    for (int64_t k : ks)
      for (double tau : taus) grid.push_back({tau, w, k});
  const ArmSpec b{"B", TriggerKind::performance, WindowKind::fixed};
  auto jobs_for = [&](const std::string& model, const std::vector<size_t>& points) {
    std::vector<Job> jobs;
    for (size_t g : points)
      for (const auto& t : targets) {
        RetrainConfig rc = make_stream_config("", {}, {}, 86400).retrain;
        rc.tau = grid[g].tau;
        rc.error_window = grid[g].w;
        rc.consecutive = grid[g].k;
        jobs.push_back({sname, t, model, b, &obs, rc, 1, 0.1, cp});
      }
    return jobs;
  };
  // Per target: met / delay / pre-change alarms.
  auto score = [&](const Result& r, int64_t* delay, int64_t* pre) {
    const SpliceScore sc = score_splice(r, static_cast<int64_t>(obs.size()));
    *pre = sc.pre;
    *delay = std::isnan(sc.rep.detection_delay) ? -1 : static_cast<int64_t>(sc.rep.detection_delay);
    return sc.delay_ok && sc.fa_ok;
  };
  std::vector<size_t> all(grid.size());
  for (size_t g = 0; g < grid.size(); ++g) all[g] = g;
  const auto ridge = run_all(jobs_for("ridge", all), o.threads);
  std::cout << "Hindsight grid of the §1.7 ratio rule on " << sname << " (ridge, arm B, A_min 7, A_max 120): per W, K "
               "and τ, how many of the 3 targets meet delay ≤ 14 and ≤ 2 false alarms per 1000 pre-change "
               "steps (≤ 1 alarm before the change). Chosen on the scored stream itself: an upper bound, not a result.\n\n"
            << "| W | K |";
  for (double t : taus) std::cout << " τ " << fmt(t, 1) << " |";
  std::cout << "\n|---|---|";
  for (size_t i = 0; i < taus.size(); ++i) std::cout << "---|";
  std::cout << "\n";
  std::vector<size_t> full;
  std::map<std::string, int> per_target_met;
  for (size_t g = 0; g < grid.size(); ++g) {
    if (g % taus.size() == 0) std::cout << "| " << grid[g].w << " | " << grid[g].k << " |";
    int met = 0;
    for (size_t t = 0; t < targets.size(); ++t) {
      int64_t d, pre;
      const bool ok = score(ridge[targets.size() * g + t], &d, &pre);
      met += ok;
      per_target_met[targets[t]] += ok;
    }
    if (met == 3) full.push_back(g);
    std::cout << " " << met << " |";
    if (g % taus.size() == taus.size() - 1) std::cout << "\n";
  }
  std::cout << "\nRidge: " << full.size() << " of " << grid.size() << " grid points meet all three targets; "
            << "points meeting each target alone: temp_max " << per_target_met["temp_max"] << ", temp_min "
            << per_target_met["temp_min"] << ", wind " << per_target_met["wind"] << ".\n";
  // The same question for §1.7.4's alternative, Page-Hinkley on z_t (mode up, min_instances 14):
  // λ × δ, ridge.
  const std::vector<double> deltas{0.01, 0.05, 0.1, 0.2};
  std::vector<Job> ph_jobs;
  for (double d : deltas)
    for (double lambda : kPhGrid)
      for (const auto& t : targets) {
        RetrainConfig rc = page_hinkley_retrain(lambda);
        rc.page_hinkley.delta = d;
        ph_jobs.push_back({sname, t, "ridge", {"G", TriggerKind::page_hinkley, WindowKind::fixed}, &obs, rc, 1, 0.1, cp});
      }
  const auto ph = run_all(ph_jobs, o.threads);
  std::cout << "\nPage-Hinkley on z_t (§1.7.4; mode up, min_instances " << kPhMinInstances
            << "), ridge, the same count of targets meeting the goal:\n\n| δ |";
  for (double lambda : kPhGrid) std::cout << " λ " << lambda << " |";
  std::cout << "\n|---|";
  for (size_t i = 0; i < kPhGrid.size(); ++i) std::cout << "---|";
  std::cout << "\n";
  int ph_full = 0;
  for (size_t di = 0; di < deltas.size(); ++di) {
    std::cout << "| " << deltas[di] << " |";
    for (size_t li = 0; li < kPhGrid.size(); ++li) {
      int met = 0;
      for (size_t t = 0; t < targets.size(); ++t) {
        int64_t d, pre;
        met += score(ph[(di * kPhGrid.size() + li) * targets.size() + t], &d, &pre);
      }
      ph_full += met == 3;
      std::cout << " " << met << " |";
    }
    std::cout << "\n";
  }
  std::cout << "\nPage-Hinkley: " << ph_full << " of " << deltas.size() * kPhGrid.size()
            << " points meet all three targets.\n";
  // And ADWIN on z_t (River semantics, the spec's parameter-light alternative) over its δ.
  const std::vector<double> adwin_deltas{0.002, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5};
  std::vector<Job> ad_jobs;
  for (double d : adwin_deltas)
    for (const auto& t : targets) {
      RetrainConfig rc = make_stream_config("", {}, {}, 86400).retrain;
      rc.trigger = TriggerKind::adwin;
      rc.adwin.delta = d;
      ad_jobs.push_back({sname, t, "ridge", {"E", TriggerKind::adwin, WindowKind::fixed}, &obs, rc, 1, 0.1, cp});
    }
  const auto ad = run_all(ad_jobs, o.threads);
  std::cout << "\nADWIN on z_t (River semantics), ridge, targets meeting the goal (delay / pre-change alarms "
               "per target):\n\n| δ | temp_max | temp_min | wind | met |\n|---|---|---|---|---|\n";
  int ad_full = 0;
  for (size_t di = 0; di < adwin_deltas.size(); ++di) {
    int met = 0;
    std::cout << "| " << adwin_deltas[di] << " |";
    for (size_t t = 0; t < targets.size(); ++t) {
      int64_t d, pre;
      met += score(ad[di * targets.size() + t], &d, &pre);
      std::cout << " " << (d < 0 ? std::string("–") : std::to_string(d)) << " / " << pre << " |";
    }
    ad_full += met == 3;
    std::cout << " " << met << "/3 |\n";
  }
  std::cout << "\nADWIN: " << ad_full << " of " << adwin_deltas.size() << " points meet all three targets.\n";
  if (full.empty() || std::find(o.models.begin(), o.models.end(), "mlp") == o.models.end()) return 0;
  const auto mlp = run_all(jobs_for("mlp", full), o.threads);
  std::cout << "\nMLP at the ridge's all-three points (delay / pre-change alarms per target):\n\n"
               "| τ | W | K | ridge temp_max | ridge temp_min | ridge wind | mlp temp_max | mlp temp_min | mlp wind | mlp met |\n"
               "|---|---|---|---|---|---|---|---|---|---|\n";
  int both = 0;
  std::vector<bool> six(grid.size(), false);
  std::vector<int64_t> worst_delay(grid.size(), 0);
  for (size_t i = 0; i < full.size(); ++i) {
    const P& p = grid[full[i]];
    std::cout << "| " << fmt(p.tau, 1) << " | " << p.w << " | " << p.k << " |";
    int met = 0;
    for (const Result* r : {&ridge[targets.size() * full[i]], &mlp[targets.size() * i]})
      for (size_t t = 0; t < targets.size(); ++t) {
        int64_t d, pre;
        const bool ok = score(r[t], &d, &pre);
        if (r == &mlp[targets.size() * i]) met += ok;
        worst_delay[full[i]] = std::max(worst_delay[full[i]], d);
        std::cout << " " << (d < 0 ? std::string("–") : std::to_string(d)) << " / " << pre << " |";
      }
    both += met == 3;
    six[full[i]] = met == 3;
    std::cout << " " << met << "/3 |\n";
  }
  std::cout << "\nBoth models, all three targets: " << both << " of " << grid.size() << " grid points.\n";
  // The point a hindsight choice would take (rule fixed before S4 was run; on S2 it picked τ 1.7,
  // W 10, K 2, which meets 0/3 ridge and 1/3 MLP cases on S4): among the points meeting all six
  // cases, the one whose six grid neighbours (τ ± 0.1, the next W, the next K) meet them most
  // often — the middle of the region, not its edge — then the smallest worst delay, then τ.
  const size_t nt = taus.size(), nk = ks.size();
  int sel = -1;
  std::tuple<int, int64_t, double> sel_key{};
  for (size_t g = 0; g < grid.size(); ++g) {
    if (!six[g]) continue;
    const size_t it = g % nt, ik = (g / nt) % nk, iw = g / (nt * nk);
    int nb = 0;
    if (it > 0) nb += six[g - 1];
    if (it + 1 < nt) nb += six[g + 1];
    if (ik > 0) nb += six[g - nt];
    if (ik + 1 < nk) nb += six[g + nt];
    if (iw > 0) nb += six[g - nt * nk];
    if (iw + 1 < ws.size()) nb += six[g + nt * nk];
    const std::tuple<int, int64_t, double> key{-nb, worst_delay[g], grid[g].tau};
    if (sel < 0 || key < sel_key) sel = static_cast<int>(g), sel_key = key;
  }
  if (sel >= 0)
    std::cout << "Centre of the region (most neighbours meeting all six, then smallest worst delay): τ " << fmt(grid[sel].tau, 1)
              << ", W " << grid[sel].w << ", K " << grid[sel].k << " — " << -std::get<0>(sel_key)
              << " of 6 neighbours, worst delay " << std::get<1>(sel_key) << ".\n";
  return 0;
}

// --trace STREAM/TARGET/MODEL/ARM: one job, one CSV row per step — the normalised error z_t, the
// rolling ratio, the model's and persistence's matured absolute errors and the model's signed
// error (forecast − truth; summed over horizons), and the trigger of any retrain that finished. For looking at why a trigger fired.
int trace(const std::string& spec, const std::map<std::string, const std::vector<Observation>*>& streams) {
  std::vector<std::string> f;
  std::stringstream ss(spec);
  for (std::string x; std::getline(ss, x, '/');) f.push_back(x);
  if (f.size() != 4 || !streams.count(f[0]) || f[3].size() != 1) {
    std::cerr << "--trace: expected STREAM/TARGET/MODEL/ARM (e.g. S2/temp_min/ridge/B), got " << spec << "\n";
    return 2;
  }
  const std::map<char, ArmSpec> arms{{'A', {"A", TriggerKind::periodic, WindowKind::fixed}},
                                     {'B', {"B", TriggerKind::performance, WindowKind::fixed}},
                                     {'G', {"G", TriggerKind::page_hinkley, WindowKind::fixed}}};
  if (!arms.count(f[3][0])) {
    std::cerr << "--trace: arm must be A, B or G\n";
    return 2;
  }
  Job j{f[0], f[1], f[2], arms.at(f[3][0]), streams.at(f[0]),
        f[3] == "G" ? page_hinkley_retrain(kPhLambda.at(f[1])) : make_stream_config("", {}, {}, 86400).retrain, 1};
  Nowcaster nc(make_config(j));
  std::cout << "step,time,z,ratio,model_abs,persistence_abs,model_signed,fired\n";
  for (size_t i = 0; i < j.obs->size(); ++i) {
    const Events ev = nc.ingest((*j.obs)[i]);
    double me = 0, pe = 0, se = 0;
    for (const auto& m : ev.matured)
      if (m.from_model) me += m.abs_error, pe += m.persistence_abs_error, se += m.forecast - m.actual;
    std::string fired;
    for (const auto& r : ev.retrain_finished) fired += (fired.empty() ? "" : "+") + r.trigger;
    double ratio = NAN;
    for (const auto& r : ev.readings)
      if (r.detector == "performance" || r.detector == "page_hinkley") ratio = r.value;
    std::cout << i << "," << (*j.obs)[i].time << "," << fmt(ev.normalised_error.value_or(NAN), 4) << ","
              << fmt(ratio, 4) << "," << fmt(me, 3) << "," << fmt(pe, 3) << "," << fmt(se, 3) << "," << fired << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) throw std::invalid_argument(a + ": missing value");
      return std::string(argv[++i]);
    };
    if (a == "--data") o.data = value();
    else if (a == "--models") {
      o.models.clear();
      std::stringstream ss(value());
      for (std::string m; std::getline(ss, m, ',');) o.models.push_back(m);
    } else if (a == "--mlp-period") o.mlp_period = std::stoll(value());
    else if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--tune") o.tune = true;
    else if (a == "--tune-ph") o.tune_ph = true;
    else if (a == "--l2") o.l2 = std::stod(value());
    else if (a == "--rho") o.rho = std::stod(value());
    else if (a == "--ridge-rounds") o.ridge_rounds = std::max(1, std::stoi(value()));
    else if (a == "--trace") o.trace = value();
    else if (a == "--frontier") o.frontier = value();
    else if (a == "--streams") {
      o.streams.clear();
      std::stringstream ss(value());
      for (std::string m; std::getline(ss, m, ',');) o.streams.push_back(m);
    }
    else {
      std::cerr << "usage: nowcast_bench [--data DIR] [--models ridge,mlp] [--mlp-period K]"
                   " [--threads N] [--tune] [--tune-ph] [--l2 X] [--rho X] [--streams S1,S2] [--ridge-rounds K]"
                   " [--trace STREAM/TARGET/MODEL/ARM]\n";
      return 2;
    }
  }
  g_options = o;
  const auto days = read_weather_csv(o.data + "/weather.csv");
  const auto s1 = weather_observations(days, "Seattle", "2012-01-01", "2015-12-31");
  const auto s2 = seattle_new_york_splice(days);
  if (o.tune) {
    tune(o, s1);
    return 0;
  }
  if (o.tune_ph) {
    tune_ph(o, s1);
    return 0;
  }
  // S4: the same change on the other years (nothing in it is in S2), so a rule chosen on S2
  // meets it out-of-sample; scored for drift only.
  const auto s4 = seattle_new_york_splice_other_years(days);
  const int64_t s4_cp = kOtherYearsChangePoint;
  if (o.frontier == "S2") return frontier(o, "S2", s2, kSpliceChangePoint);
  if (o.frontier == "S4") return frontier(o, "S4", s4, s4_cp);
  if (!o.frontier.empty()) {
    std::cerr << "--frontier: expected S2 or S4, got " << o.frontier << "\n";
    return 2;
  }
  if (!o.trace.empty()) return trace(o.trace, {{"S1", &s1}, {"S2", &s2}, {"S4", &s4}});

  const std::vector<std::string> targets{"temp_max", "temp_min", "wind"};
  const std::vector<ArmSpec> arms{
      {"A", TriggerKind::periodic, WindowKind::fixed},
      {"B", TriggerKind::performance, WindowKind::fixed},
      {"C", TriggerKind::periodic, WindowKind::variance_horizon},
      {"D", TriggerKind::performance, WindowKind::variance_horizon},
      {"E", TriggerKind::adwin, WindowKind::fixed},
      {"F", TriggerKind::page_hinkley, WindowKind::fixed},
      {"G", TriggerKind::page_hinkley, WindowKind::fixed},
      {"P", TriggerKind::none, WindowKind::fixed, ModelKind::persistence, true},
      {"K", TriggerKind::none, WindowKind::fixed, ModelKind::climatology, true},
  };
  std::vector<Job> jobs;
  for (const auto& [sname, obs] : {std::pair<const char*, const std::vector<Observation>*>{"S1", &s1}, {"S2", &s2}, {"S4", &s4}})
    for (const auto& m : o.models)
      if (std::find(o.streams.begin(), o.streams.end(), sname) != o.streams.end())
      for (const auto& t : targets)
        for (const auto& arm : arms) {
          if (arm.is_baseline && m != o.models.front()) continue;
          // S4 is scored for drift only: the triggered arms.
          if (std::string(sname) == "S4" && arm.name != "B" && arm.name != "D" && arm.name != "G") continue;
          if ((arm.name == "E" || arm.name == "F") && m != "ridge") continue;
          const bool periodic = arm.trigger == TriggerKind::periodic;
          const int64_t period = periodic && m != "ridge" ? o.mlp_period : 1;
          // E/F: the library's defaults (River's ADWIN / Page-Hinkley); G: the tuned §1.7.4 PH.
          const RetrainConfig rc = arm.name == "G" ? page_hinkley_retrain(kPhLambda.at(t))
                                                   : make_stream_config("", {}, {}, 86400).retrain;
          jobs.push_back({sname, t, m, arm, obs, rc, period, 0.1,
                          std::string(sname) == "S4" ? s4_cp : kSpliceChangePoint});
        }
  // Longest jobs first so the two workers finish together.
  std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    auto cost = [](const Job& j) { return (j.model != "ridge" ? 100 : 1) * (j.arm.trigger == TriggerKind::periodic ? 10 : 1); };
    return cost(a) > cost(b);
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto results = run_all(jobs, o.threads);
  // Ridge fits take ~0.1–0.3 ms and one pass's CPU-s swing with the load other tenants put on
  // the shared machine (the same job measured 0.19 or 0.32 s in different passes). So every
  // ridge job is re-run in further rounds. Each round runs one stream × target case at a time,
  // its periodic arms A and C first so that they run side by side on the two workers under the
  // same outside load; CPU-s is the median over the rounds. (The minimum over rounds was tried
  // and is not robust: a job whose every round was disturbed keeps a high minimum.) The
  // forecasts must be identical in every round.
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> ridge_cases;
  for (size_t i = 0; i < jobs.size(); ++i)
    if (jobs[i].model == "ridge" && !jobs[i].arm.is_baseline)
      ridge_cases[{jobs[i].stream, jobs[i].target}].push_back(i);
  std::vector<std::vector<double>> ridge_cpu(jobs.size());
  for (auto& [key, idx] : ridge_cases) {
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      auto rank = [&](size_t i) { return jobs[i].arm.trigger == TriggerKind::periodic ? 0 : 1; };
      return rank(a) < rank(b);
    });
    for (size_t i : idx) ridge_cpu[i].push_back(results[i].cpu);
  }
  std::vector<std::vector<size_t>> order;
  for (const auto& [key, idx] : ridge_cases) order.push_back(idx);
  for (int round = 1; round < o.ridge_rounds; ++round) {
    std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<unsigned>(round)));
    for (const auto& idx : order) {
      std::vector<Job> again;
      for (size_t i : idx) again.push_back(jobs[i]);
      const auto rerun = run_all(again, o.threads);
      for (size_t k = 0; k < idx.size(); ++k) {
        const Result& a = results[idx[k]];
        if (rerun[k].abs_sum != a.abs_sum || rerun[k].fits != a.fits || rerun[k].alarms != a.alarms)
          throw std::runtime_error("ridge rerun differs: " + a.job.stream + "/" + a.job.target + "/" + a.job.arm.name);
        ridge_cpu[idx[k]].push_back(rerun[k].cpu);
      }
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto& c = ridge_cpu[i];
    if (c.empty()) continue;
    std::sort(c.begin(), c.end());
    const size_t h = c.size() / 2;
    results[i].cpu = c.size() % 2 ? c[h] : 0.5 * (c[h - 1] + c[h]);
    results[i].cpu_min = c.front();
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  auto find = [&](const std::string& s, const std::string& t, const std::string& m, const std::string& arm) -> const Result* {
    for (const auto& r : results)
      if (r.job.stream == s && r.job.target == t && r.job.arm.name == arm &&
          (r.job.arm.is_baseline || r.job.model == m))
        return &r;
    return nullptr;
  };

  std::cout << "Wall time " << fmt(wall, 1) << " s on " << o.threads << " threads; warm-up "
            << kWarmup << " steps excluded; MLP arms A/C retrain every " << o.mlp_period
            << " steps (compute ×" << o.mlp_period << " = every-step estimate); ridge CPU-s = median over "
            << o.ridge_rounds << " identical rounds.\n\n";
  struct Goal {
    double b_cut = 0, b_rows = 0, b_mae = 0, c_cut = 0, c_rows = 0, c_mae = 0, c_cut_min = 0;
    int n = 0, d_best_cpu = 0, d_best_rows = 0, cases = 0;
    std::vector<std::string> not_beating_p;
  };
  std::map<std::string, Goal> goals;  // per model
  for (const char* sname : {"S1", "S2"}) {
    if (std::find(o.streams.begin(), o.streams.end(), sname) == o.streams.end()) continue;
    std::cout << "### " << sname << (std::string(sname) == "S1" ? " — Seattle daily 2012–2015" : " — Seattle→New York splice (CP 731)") << "\n\n";
    std::cout << "| model | target | arm | fits | mean N | MAE h1/h2/h3 | RMSE h1/h2/h3 | MAE | "
              << (std::string(sname) == "S2" ? "pre/post CP | " : "")
              << "CPU-s | rows×epochs | FLOPs | Δcompute vs A | ΔMAE vs A | CNE impr. (CPU) | CNE impr. (rows) | skill vs P |\n";
    std::cout << "|---|---|---|---|---|---|---|---|" << (std::string(sname) == "S2" ? "---|" : "")
              << "---|---|---|---|---|---|---|---|\n";
    for (const auto& m : o.models)
      for (const auto& t : targets) {
        const Result* a = find(sname, t, m, "A");
        const Result* p = find(sname, t, m, "P");
        double best_cpu = INFINITY, best_rows = INFINITY;
        std::string best_cpu_arm, best_rows_arm;
        for (const auto& arm : arms) {
          const Result* r = find(sname, t, m, arm.name);
          if (!r) continue;
          const double sc = scale(*r), sa = scale(*a);
          const double cpu = r->cpu * sc, rows = r->rows_epochs * sc, fl = r->flops * sc;
          const double cpu_a = a->cpu * sa, rows_a = a->rows_epochs * sa;
          std::string h_mae, h_rmse;
          for (size_t k = 0; k < r->n.size(); ++k) {
            h_mae += (k ? "/" : "") + fmt(r->mae_h(k), 2);
            h_rmse += (k ? "/" : "") + fmt(r->rmse_h(k), 2);
          }
          const bool trained = !arm.is_baseline;
          const double cne_cpu = 1 - (r->mae() * cpu) / (a->mae() * cpu_a);
          const double cne_rows = 1 - (r->mae() * rows) / (a->mae() * rows_a);
          std::cout << "| " << (arm.is_baseline ? "–" : m) << " | " << t << " | " << arm.name << " | "
                    << (trained ? std::to_string(r->fits) : "–") << " | "
                    << (trained ? fmt(r->mean_window, 0) : "–") << " | " << h_mae << " | " << h_rmse
                    << " | " << fmt(r->mae()) << " | ";
          if (std::string(sname) == "S2")
            std::cout << fmt(r->part(r->pre_abs, r->pre_n), 2) << "/" << fmt(r->part(r->post_abs, r->post_n), 2) << " | ";
          std::cout << (trained ? fmt(cpu, 2) + (sc > 1 ? " (" + fmt(r->cpu, 2) + ")" : "") : "–") << " | "
                    << (trained ? fmt(rows / 1e6, 3) + "M" : "–") << " | "
                    << (trained ? fmt(fl / 1e9, 2) + "G" : "–") << " | "
                    << (trained ? pct(cpu / cpu_a - 1) : "–") << " | " << pct(r->mae() / a->mae() - 1)
                    << " | " << (trained ? pct(cne_cpu) : "–") << " | " << (trained ? pct(cne_rows) : "–")
                    << " | " << pct(1 - r->mae() / p->mae()) << " |\n";
          // The "D has the best CNE" count compares the spec's arms A–D only; the persistence
          // check also covers G (E/F use River's untuned defaults and are left out).
          if (trained && arm.name != "E" && arm.name != "F" && arm.name != "G") {
            if (r->mae() * cpu < best_cpu) best_cpu = r->mae() * cpu, best_cpu_arm = arm.name;
            if (r->mae() * rows < best_rows) best_rows = r->mae() * rows, best_rows_arm = arm.name;
          }
          if (trained && arm.name != "E" && arm.name != "F" && r->mae() >= p->mae())
            goals[m].not_beating_p.push_back(std::string(sname) + "/" + t + "/" + arm.name);
          if (arm.name == "B") {
            goals[m].b_cut += 1 - cpu / cpu_a;
            goals[m].b_rows += 1 - rows / rows_a;
            goals[m].b_mae += r->mae() / a->mae() - 1;
          }
          if (arm.name == "C") {
            goals[m].c_cut += 1 - cpu / cpu_a;
            goals[m].c_cut_min += 1 - r->cpu_min / a->cpu_min;
            goals[m].c_rows += 1 - rows / rows_a;
            goals[m].c_mae += r->mae() / a->mae() - 1;
            ++goals[m].n;
          }
        }
        ++goals[m].cases;
        goals[m].d_best_cpu += best_cpu_arm == "D";
        goals[m].d_best_rows += best_rows_arm == "D";
      }
    std::cout << "\n";
  }

  const std::vector<std::tuple<std::string, std::string, int64_t>> splices{
      {"S2", "Seattle 2012–13 → New York 2014–15, CP " + std::to_string(kSpliceChangePoint), static_cast<int64_t>(s2.size())},
      {"S4", "Seattle 2014–15 → New York 2012–13 re-stamped, CP " + std::to_string(s4_cp) + "; out-of-sample check",
       static_cast<int64_t>(s4.size())}};
  auto ran = [&](const std::string& sname) {
    return std::find(o.streams.begin(), o.streams.end(), sname) != o.streams.end();
  };
  for (const auto& [sname, title, n_steps] : splices) {
    if (!ran(sname)) continue;
    std::cout << "### Drift scoring on " << sname << " (" << title << "; alarms = fire steps of the drift trigger, "
              << "delta_max " << kDeltaMax << ")\n\n| model | target | arm | alarms | first alarm ≥ CP | delay | false "
              << "alarms pre-CP | per 1000 pre-CP steps | FAR /1000 (all) | MTFA | episode recall |\n"
              << "|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& m : o.models)
      for (const auto& t : targets)
        for (const char* arm : {"B", "G", "D", "E", "F"}) {
          const Result* r = find(sname, t, m, arm);
          if (!r) continue;
          const SpliceScore sc = score_splice(*r, n_steps);
          std::cout << "| " << m << " | " << t << " | " << arm << " | " << r->alarms.size() << " | " << sc.first
                    << " | " << fmt(sc.rep.detection_delay, 0) << " | " << sc.pre << " | " << fmt(sc.pre_per_1000, 2)
                    << " | " << fmt(sc.rep.false_alarm_rate, 2) << " | "
                    << fmt(sc.rep.mean_time_between_false_alarms, 0) << " | " << fmt(sc.rep.episode_recall, 2) << " |\n";
        }
    std::cout << "\n";
  }
  std::cout << "\n### Goals (paper direction; means over the targets and streams run)\n\n";
  for (const auto& m : o.models) {
    auto& g = goals[m];
    const double n = g.n;
    const bool b_ok = g.b_cut / n >= 0.8 && g.b_rows / n >= 0.8 && g.b_mae / n <= 0.05;
    const bool c_ok = g.c_cut / n >= 0.3 && g.c_rows / n >= 0.3 && g.c_mae / n <= 0.15;
    std::cout << "- **" << m << "**: B compute " << pct(-g.b_cut / n) << " CPU-s / " << pct(-g.b_rows / n)
              << " rows×epochs, MAE " << pct(g.b_mae / n) << " (goal ≤ −80%, ≤ +5%: "
              << (b_ok ? "met" : "NOT met") << "); C compute " << pct(-g.c_cut / n) << " CPU-s"
              << (std::isnan(g.c_cut_min) ? std::string() : " (from the minima over rounds: " + pct(-g.c_cut_min / n) + ")")
              << " / "
              << pct(-g.c_rows / n) << " rows×epochs, MAE " << pct(g.c_mae / n)
              << " (goal ≤ −30%, ≤ +15%: " << (c_ok ? "met" : "NOT met") << "); D has the best CNE in "
              << g.d_best_cpu << "/" << g.cases << " stream×target cases by CPU-s and " << g.d_best_rows
              << "/" << g.cases << " by rows×epochs; arms not beating persistence: ";
    if (g.not_beating_p.empty()) std::cout << "none";
    for (size_t i = 0; i < g.not_beating_p.size(); ++i) std::cout << (i ? ", " : "") << g.not_beating_p[i];
    std::cout << "\n";
  }
  // Drift-scoring goal (§4, stated for B; G is §1.7.4's alternative trigger), per case.
  for (const auto& [sname, title, n_steps] : splices) {
    if (!ran(sname)) continue;
    for (const auto& m : o.models)
      for (const char* arm : {"B", "G"}) {
        std::string cases;
        int met = 0, n = 0;
        for (const auto& t : targets) {
          const Result* r = find(sname, t, m, arm);
          if (!r) continue;
          const SpliceScore sc = score_splice(*r, n_steps);
          ++n;
          met += sc.delay_ok && sc.fa_ok;
          cases += std::string(cases.empty() ? "" : "; ") + t + " delay " + fmt(sc.rep.detection_delay, 0) + ", " +
                   std::to_string(sc.pre) + " pre-CP (" + fmt(sc.pre_per_1000, 2) + "/1000): " +
                   (sc.delay_ok && sc.fa_ok
                        ? "met"
                        : std::string("NOT met (") + (sc.delay_ok ? "" : "delay") +
                              (!sc.delay_ok && !sc.fa_ok ? " and " : "") + (sc.fa_ok ? "" : "false alarms") + ")");
        }
        if (!n) continue;
        std::cout << "- **" << m << " " << arm << "**, drift scoring on " << sname << " (delay ≤ 14, ≤ 2 false alarms "
                  << "per 1000 pre-CP steps): " << met << "/" << n << " cases met — " << cases << "\n";
      }
  }
  return 0;
}

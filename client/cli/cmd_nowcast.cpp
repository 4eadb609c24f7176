// attune nowcast create|ingest|status|forecast|list|delete|export
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "attune/v1/nowcast_service.grpc.pb.h"
#include "commands.h"
#include "connection.h"
#include "output.h"

namespace attune::cli {
namespace {

const char* kUsage =
    "usage: attune nowcast create NAME --variables V1,V2,... --targets T1,... [--resolution 1d|1h|SECONDS]\n"
    "           [--lags L] [--horizons 1,2,3] [--no-calendar] [--synchronous] [--config FILE.json]\n"
    "           [--model ridge|mlp|lstm|transformer|persistence|climatology] [--l2 X] [--hidden N]\n"
    "           [--layers N] [--heads N] [--dropout X] [--lr X] [--epochs N] [--batch-size N]\n"
    "           [--patience N] [--seed N]\n"
    "           [--window fixed|variance_horizon|variance_horizon_plateau] [--n-max N] [--n-min N]\n"
    "           [--step N] [--rho X] [--epsilon X] [--holdout-fraction X] [--recency X]\n"
    "           [--trigger performance|periodic|adwin|page_hinkley|none] [--period N] [--tau X]\n"
    "           [--error-window N] [--consecutive N] [--min-age N] [--max-age N] [--adwin-delta X]\n"
    "           [--ph-threshold X] [--ph-delta X] [--ph-alpha X] [--ph-min-instances N]\n"
    "           [--ph-mode up|down|both]\n"
    "       attune nowcast ingest NAME FILE.csv [--time-column COL] [--where COL=VALUE]...\n"
    "           [--from TIME] [--to TIME] [--batch N] [--limit N] [--resume] [--skip-invalid] [--quiet]\n"
    "       attune nowcast status NAME [--fits N]\n"
    "       attune nowcast forecast NAME\n"
    "       attune nowcast list\n"
    "       attune nowcast delete NAME\n"
    "       attune nowcast export NAME --out FILE\n"
    "TIME: unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]; every command takes --json.\n";

using Stub = v1::NowcastService::Stub;

std::unique_ptr<Stub> stub(const Global& g) { return v1::NowcastService::NewStub(channel(g)); }

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

// ---- time -----------------------------------------------------------------------------------

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Unix seconds, "YYYY-MM-DD" or "YYYY-MM-DD[T ]HH:MM[:SS][Z]" (UTC). nullopt if none of these.
std::optional<int64_t> parse_time(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const long long n = std::strtoll(s.c_str(), &end, 10);
  if (*end == '\0' && s.find('-', 1) == std::string::npos) return n;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3) return std::nullopt;
  std::string rest = s.substr(static_cast<size_t>(used));
  if (!rest.empty() && (rest[0] == 'T' || rest[0] == ' ')) {
    int used2 = 0;
    if (std::sscanf(rest.c_str() + 1, "%2d:%2d%n", &h, &mi, &used2) != 2) return std::nullopt;
    rest = rest.substr(1 + static_cast<size_t>(used2));
    if (!rest.empty() && rest[0] == ':') {
      int used3 = 0;
      if (std::sscanf(rest.c_str() + 1, "%2d%n", &sec, &used3) != 1) return std::nullopt;
      rest = rest.substr(1 + static_cast<size_t>(used3));
    }
  }
  if (rest == "Z") rest.clear();
  if (!rest.empty() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 + sec;
}

std::string format_time(int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, t % 86400 == 0 ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

int64_t parse_resolution(const std::string& s) {
  const std::map<std::string, int64_t> units{{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  size_t pos = 0;
  long long n = 0;
  try {
    n = std::stoll(s, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  const std::string unit = s.substr(pos);
  if (pos == 0 || n <= 0 || (!unit.empty() && !units.count(unit)))
    throw UsageError("--resolution: expected SECONDS or a count with s/m/h/d like 1d or 15m, received '" + s + "'");
  return n * (unit.empty() ? 1 : units.at(unit));
}

// ---- create ---------------------------------------------------------------------------------

const std::set<std::string> kCreateOptions{
    "variables", "targets", "resolution", "lags", "horizons", "config", "model", "l2", "hidden",
    "layers", "heads", "dropout", "lr", "epochs", "batch-size", "patience", "seed", "window", "n-max",
    "n-min", "step", "rho", "epsilon", "holdout-fraction", "recency", "trigger", "period", "tau",
    "error-window", "consecutive", "min-age", "max-age", "adwin-delta", "ph-threshold", "ph-delta",
    "ph-alpha", "ph-min-instances", "ph-mode"};

v1::NowcastStreamConfig config_from(const Args& a) {
  v1::NowcastStreamConfig c;
  if (auto path = a.get("config")) {
    std::ifstream in(*path);
    if (!in) throw UsageError("--config: cannot read " + *path);
    std::stringstream text;
    text << in.rdbuf();
    const auto st = google::protobuf::util::JsonStringToMessage(text.str(), &c);
    if (!st.ok()) throw UsageError("--config " + *path + ": " + st.ToString());
  }
  c.set_name(a.pos(1, "stream NAME"));
  if (auto v = a.get("variables")) {
    c.clear_variables();
    for (const auto& x : split(*v, ',')) c.add_variables(x);
  }
  if (auto v = a.get("targets")) {
    c.clear_targets();
    for (const auto& x : split(*v, ',')) c.add_targets(x);
  }
  if (auto v = a.get("resolution")) c.set_resolution_seconds(parse_resolution(*v));
  if (a.has("lags")) c.set_lags(a.get_int("lags", 0));
  if (auto v = a.get("horizons")) {
    c.clear_horizons();
    for (auto h : parse_shape(*v)) c.add_horizons(h);
  }
  if (a.has("no-calendar")) c.set_calendar_features(false);
  if (a.has("synchronous")) c.set_retrain_mode("synchronous");

  auto* m = c.mutable_model();
  if (auto v = a.get("model")) m->set_kind(*v);
  if (a.has("l2")) m->set_l2(a.get_double("l2", 0));
  if (a.has("hidden")) m->set_hidden(a.get_int("hidden", 0));
  if (a.has("layers")) m->set_layers(a.get_int("layers", 0));
  if (a.has("heads")) m->set_heads(a.get_int("heads", 0));
  if (a.has("dropout")) m->set_dropout(a.get_double("dropout", 0));
  if (a.has("lr")) m->set_lr(a.get_double("lr", 0));
  if (a.has("epochs")) m->set_max_epochs(a.get_int("epochs", 0));
  if (a.has("batch-size")) m->set_batch_size(a.get_int("batch-size", 0));
  if (a.has("patience")) m->set_patience(a.get_int("patience", 0));
  if (a.has("seed")) m->set_seed(static_cast<uint64_t>(a.get_int("seed", 0)));

  auto* w = c.mutable_window();
  if (auto v = a.get("window")) w->set_kind(*v);
  if (a.has("n-max")) w->set_n_max(a.get_int("n-max", 0));
  if (a.has("n-min")) w->set_n_min(a.get_int("n-min", 0));
  if (a.has("step")) w->set_step(a.get_int("step", 0));
  if (a.has("rho")) w->set_rho(a.get_double("rho", 0));
  if (a.has("epsilon")) w->set_epsilon(a.get_double("epsilon", 0));
  if (a.has("holdout-fraction")) w->set_holdout_fraction(a.get_double("holdout-fraction", 0));
  if (a.has("recency")) w->set_recency_weight_factor(a.get_double("recency", 0));

  auto* r = c.mutable_retrain();
  if (auto v = a.get("trigger")) r->set_trigger(*v);
  if (a.has("period")) r->set_period(a.get_int("period", 0));
  if (a.has("tau")) r->set_tau(a.get_double("tau", 0));
  if (a.has("error-window")) r->set_error_window(a.get_int("error-window", 0));
  if (a.has("consecutive")) r->set_consecutive(a.get_int("consecutive", 0));
  if (a.has("min-age")) r->set_min_age(a.get_int("min-age", 0));
  if (a.has("max-age")) r->set_max_age(a.get_int("max-age", 0));
  if (a.has("adwin-delta")) r->mutable_adwin()->set_delta(a.get_double("adwin-delta", 0));
  auto* ph = r->mutable_page_hinkley();
  if (a.has("ph-threshold")) ph->set_threshold(a.get_double("ph-threshold", 0));
  if (a.has("ph-delta")) ph->set_delta(a.get_double("ph-delta", 0));
  if (a.has("ph-alpha")) ph->set_alpha(a.get_double("ph-alpha", 0));
  if (a.has("ph-min-instances")) ph->set_min_instances(a.get_int("ph-min-instances", 0));
  if (auto v = a.get("ph-mode")) ph->set_mode(*v);
  return c;
}

std::string join(const google::protobuf::RepeatedPtrField<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string ratio_str(bool has, double r) { return has ? fixed(r, 2) : "-"; }

void print_stream(const v1::NowcastStream& s) {
  const auto& c = s.config();
  std::cout << "stream " << c.name() << "  (" << c.model().kind() << ", " << c.retrain().trigger()
            << " retraining, " << c.window().kind() << " window, " << c.retrain_mode() << ")\n"
            << "variables " << join(c.variables()) << "; targets " << join(c.targets()) << "; horizons";
  for (auto h : c.horizons()) std::cout << " " << h;
  std::cout << "; resolution " << c.resolution_seconds() << " s; lags " << c.lags() << "\n"
            << "observations " << s.observations();
  if (s.has_last_time()) std::cout << " (last " << format_time(s.last_time()) << ")";
  std::cout << "; model " << (s.model_version() ? "v" + std::to_string(s.model_version()) : std::string("none"))
            << (s.model_version() ? ", age " + std::to_string(s.model_age()) : "")
            << (s.retrain_pending() ? "; retrain pending" : "") << "\n"
            << "fits " << s.fits();
  if (!s.fits_by_trigger().empty()) {
    std::map<std::string, int64_t> by(s.fits_by_trigger().begin(), s.fits_by_trigger().end());
    std::string parts;
    for (const auto& [t, n] : by) parts += (parts.empty() ? "" : ", ") + t + " " + std::to_string(n);
    std::cout << " (" << parts << ")";
  }
  std::cout << "; mean window " << fixed(s.mean_window(), 0) << "; training " << fixed(s.compute().train_cpu_seconds(), 3)
            << " CPU-s, " << fixed(s.compute().train_rows_epochs() / 1e6, 3) << "M rows x epochs, "
            << fixed(s.compute().train_flops() / 1e9, 3) << " GFLOP\n"
            << "drift events " << s.drift_events() << "; error ratio r " << ratio_str(s.has_ratio(), s.ratio())
            << (c.retrain().trigger() == "performance" ? " (retrain above " + fixed(1 + c.retrain().tau(), 2) + ")" : "")
            << "\n"
            << "persisted: " << s.persistence().durable_observations() << " observations, snapshot at "
            << s.persistence().snapshot_observations() << ", log "
            << human_bytes(static_cast<double>(s.persistence().log_bytes())) << "\n";
}

void print_errors(const v1::NowcastStream& s) {
  Table t({"TARGET", "H", "N", "MAE", "RMSE", "PERSISTENCE MAE", "CLIMATOLOGY MAE", "SKILL"});
  for (const auto& h : s.horizons())
    t.row({h.target(), std::to_string(h.horizon()), std::to_string(h.count()), fixed(h.mae(), 3),
           fixed(h.rmse(), 3), fixed(h.persistence_mae(), 3), fixed(h.climatology_mae(), 3),
           h.count() ? fixed(100 * h.skill(), 1) + "%" : "-"});
  t.print();
}

void print_fits(const v1::NowcastStream& s) {
  Table t({"VERSION", "TRIGGER", "FIRED", "AT", "RATIO", "AGE", "WINDOW", "TRAIN", "HOLDOUT", "EPOCHS", "CPU-S", "LIVE"});
  for (const auto& f : s.recent_fits())
    t.row({std::to_string(f.version()), f.trigger(), std::to_string(f.fire_step()), format_time(f.fire_time()),
           ratio_str(f.has_ratio(), f.ratio()), f.model_age() < 0 ? "-" : std::to_string(f.model_age()),
           std::to_string(f.window()), std::to_string(f.train_rows()), std::to_string(f.holdout_rows()),
           std::to_string(f.epochs()), fixed(f.cpu_seconds(), 4), std::to_string(f.swap_step())});
  t.print();
}

v1::NowcastStream get_stream(Stub& s, const Global& g, const std::string& name, int fits) {
  grpc::ClientContext ctx;
  prepare(ctx, g);
  v1::GetStreamRequest req;
  req.set_name(name);
  req.set_recent_fits(fits);
  v1::NowcastStream resp;
  check(s.GetStream(&ctx, req, &resp));
  return resp;
}

int create(const Args& a, const Global& g) {
  v1::CreateStreamRequest req;
  *req.mutable_config() = config_from(a);
  grpc::ClientContext ctx;
  prepare(ctx, g);
  v1::NowcastStream resp;
  check(stub(g)->CreateStream(&ctx, req, &resp));
  if (g.json) {
    std::cout << to_json(resp) << "\n";
  } else {
    std::cout << "created ";
    print_stream(resp);
  }
  return 0;
}

int status(const Args& a, const Global& g) {
  const auto s = get_stream(*stub(g), g, a.pos(1, "stream NAME"), static_cast<int>(a.get_int("fits", 10)));
  if (g.json) {
    std::cout << to_json(s) << "\n";
    return 0;
  }
  print_stream(s);
  std::cout << "\n";
  print_errors(s);
  if (s.recent_fits_size()) {
    std::cout << "\nrecent fits (step numbers count observations from 0)\n";
    print_fits(s);
  }
  return 0;
}

// ---- ingest ---------------------------------------------------------------------------------

struct CsvRow {
  int64_t line = 0;  // 1-based line in the file
  int64_t time = 0;
  std::map<std::string, double> values;
};

std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') cur += '"', ++i;
      else if (ch == '"') quoted = false;
      else cur += ch;
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (ch != '\r') {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

// Rows of `path` that pass the filters, with the stream's variables (a cell that is not a number
// becomes NaN, which the server rejects naming the variable).
std::vector<CsvRow> read_csv(const std::string& path, const Args& a, const std::vector<std::string>& variables) {
  std::ifstream in(path);
  if (!in) throw UsageError(path + ": cannot open");
  std::string line;
  if (!std::getline(in, line)) throw UsageError(path + ": empty file");
  const auto header = csv_fields(line);
  auto column = [&](const std::string& name, const std::string& what) {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    std::string cols;
    for (const auto& h : header) cols += (cols.empty() ? "" : ", ") + h;
    throw UsageError(path + ": no column '" + name + "' (" + what + "); columns: " + cols);
  };
  std::string time_name = a.get_or("time-column", "");
  if (time_name.empty())
    for (const char* guess : {"time", "date", "timestamp", "datetime"})
      if (std::find(header.begin(), header.end(), guess) != header.end()) {
        time_name = guess;
        break;
      }
  if (time_name.empty()) throw UsageError(path + ": name the time column with --time-column");
  const size_t time_col = column(time_name, "--time-column");
  std::vector<std::pair<size_t, std::string>> where;
  for (const auto& w : a.all("where")) {
    const auto eq = w.find('=');
    if (eq == std::string::npos) throw UsageError("--where: expected COLUMN=VALUE, received '" + w + "'");
    where.emplace_back(column(w.substr(0, eq), "--where"), w.substr(eq + 1));
  }
  std::vector<size_t> cols;
  for (const auto& v : variables) cols.push_back(column(v, "a variable of the stream"));
  auto bound = [&](const char* flag) -> std::optional<int64_t> {
    const auto v = a.get(flag);
    if (!v) return std::nullopt;
    const auto t = parse_time(*v);
    if (!t) throw UsageError(std::string("--") + flag + ": expected unix seconds or YYYY-MM-DD[THH:MM[:SS]], received '" + *v + "'");
    return t;
  };
  const auto from = bound("from"), to = bound("to");

  std::vector<CsvRow> rows;
  for (int64_t n = 2; std::getline(in, line); ++n) {
    if (line.empty() || line == "\r") continue;
    const auto f = csv_fields(line);
    if (f.size() != header.size())
      throw UsageError(path + ":" + std::to_string(n) + ": " + std::to_string(f.size()) + " fields, the header has " +
                       std::to_string(header.size()));
    bool keep = true;
    for (const auto& [c, v] : where) keep = keep && f[c] == v;
    if (!keep) continue;
    const auto t = parse_time(f[time_col]);
    if (!t) throw UsageError(path + ":" + std::to_string(n) + ": cannot read the time '" + f[time_col] + "'");
    if ((from && *t < *from) || (to && *t > *to)) continue;
    CsvRow r;
    r.line = n;
    r.time = *t;
    for (size_t i = 0; i < variables.size(); ++i) {
      const std::string& cell = f[cols[i]];
      char* end = nullptr;
      const double x = std::strtod(cell.c_str(), &end);
      r.values[variables[i]] = (!cell.empty() && *end == '\0') ? x : std::nan("");
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

// Prints a line above the progress bar.
void say(const std::string& line) {
  if (isatty(2)) std::cerr << "\r\033[K" << std::flush;
  std::cout << line << std::endl;
}

void print_events(const v1::ObservationResult& r) {
  const std::string at = "step " + std::to_string(r.step()) + " " + format_time(r.time()) + ": ";
  for (const auto& d : r.drifts())
    say(at + "drift detected by " + d.detector() + " (statistic " + fixed(d.statistic(), 3) + ")");
  for (const auto& s : r.retrain_started())
    say(at + "retrain started (" + s.trigger() + ", ratio " + ratio_str(s.has_ratio(), s.ratio()) + ", model age " +
        (s.model_age() < 0 ? std::string("-") : std::to_string(s.model_age())) + ", window " +
        std::to_string(s.window()) + ")");
  for (const auto& f : r.retrain_finished())
    say(at + "model v" + std::to_string(f.version()) + " live (" + f.trigger() + " fired at step " +
        std::to_string(f.fire_step()) + "; " + std::to_string(f.train_rows()) + " train + " +
        std::to_string(f.holdout_rows()) + " holdout rows, " + std::to_string(f.epochs()) + " epoch(s), " +
        fixed(f.cpu_seconds() * 1000, 2) + " ms CPU)");
  for (const auto& f : r.retrain_failed()) say(at + "retrain failed (" + f.trigger() + "): " + f.message());
}

bool has_events(const v1::ObservationResult& r) {
  return r.drifts_size() || r.retrain_started_size() || r.retrain_finished_size() || r.retrain_failed_size();
}

// "observations[12].values..." -> 12
std::optional<size_t> failed_index(const std::string& message) {
  const std::string key = "observations[";
  const auto p = message.find(key);
  if (p == std::string::npos) return std::nullopt;
  return static_cast<size_t>(std::strtoull(message.c_str() + p + key.size(), nullptr, 10));
}

int ingest(const Args& a, const Global& g) {
  const std::string name = a.pos(1, "stream NAME");
  const std::string path = a.pos(2, "FILE.csv");
  const int64_t batch = a.get_int("batch", 64);
  if (batch < 1 || batch > 10000) throw UsageError("--batch: expected 1..10000, received " + std::to_string(batch));
  auto s = stub(g);
  const auto before = get_stream(*s, g, name, 0);
  const std::vector<std::string> variables(before.config().variables().begin(), before.config().variables().end());
  auto rows = read_csv(path, a, variables);
  if (a.has("resume") && before.has_last_time()) {
    const int64_t last = before.last_time();
    rows.erase(std::remove_if(rows.begin(), rows.end(), [&](const CsvRow& r) { return r.time <= last; }), rows.end());
  }
  if (a.has("limit")) rows.resize(std::min(rows.size(), static_cast<size_t>(std::max<int64_t>(0, a.get_int("limit", 0)))));
  const bool quiet = a.has("quiet") || g.json || rows.empty();

  nlohmann::json events = nlohmann::json::array(), skipped = nlohmann::json::array();
  ProgressBar bar("ingest " + name, static_cast<int64_t>(rows.size()));
  size_t next = 0, acknowledged = 0;
  int64_t fits = 0, drifts = 0;
  while (next < rows.size()) {
    grpc::ClientContext ctx;
    prepare(ctx, g, true);
    auto call = s->Ingest(&ctx);
    bool broken = false;
    while (next < rows.size() && !broken) {
      const size_t n = std::min(static_cast<size_t>(batch), rows.size() - next);
      v1::IngestRequest req;
      req.set_stream(name);
      for (size_t i = next; i < next + n; ++i) {
        auto* o = req.add_observations();
        o->set_time(rows[i].time);
        o->mutable_values()->insert(rows[i].values.begin(), rows[i].values.end());
      }
      v1::IngestResponse resp;
      if (!call->Write(req) || !call->Read(&resp)) {
        broken = true;
        break;
      }
      for (const auto& r : resp.results()) {
        fits += r.retrain_finished_size();
        drifts += r.drifts_size();
        if (!has_events(r)) continue;
        if (g.json) events.push_back(nlohmann::json::parse(to_json(r)));
        else if (!quiet) print_events(r);
      }
      next += n;
      acknowledged += n;
      if (!quiet && next < rows.size())
        bar.update(static_cast<int64_t>(next), "fits " + std::to_string(fits) + " drifts " + std::to_string(drifts));
    }
    call->WritesDone();
    const grpc::Status st = call->Finish();
    if (!broken && st.ok()) break;
    if (st.ok()) throw std::runtime_error("the server closed the ingest stream early");
    // The rejected message changed nothing: find the row, skip it if asked, resend the rest.
    const size_t n = std::min(static_cast<size_t>(batch), rows.size() - next);
    const auto k = failed_index(st.error_message());
    const bool skippable = st.error_code() == grpc::StatusCode::INVALID_ARGUMENT && k && *k < n;
    const std::string where = skippable ? path + ":" + std::to_string(rows[next + *k].line) + ": " : std::string();
    if (!skippable || !a.has("skip-invalid")) {
      if (!quiet) bar.finish("stopped");
      std::cerr << acknowledged << " observations acknowledged before the error\n";
      if (!where.empty()) std::cerr << where << "rejected\n";
      check(st);
    }
    if (!quiet) say(where + "skipped: " + st.error_message());
    skipped.push_back({{"line", rows[next + *k].line}, {"error", st.error_message()}});
    rows.erase(rows.begin() + static_cast<long>(next + *k));
  }
  if (!quiet) bar.finish("fits " + std::to_string(fits) + " drifts " + std::to_string(drifts));

  const auto after = get_stream(*s, g, name, 0);
  if (g.json) {
    nlohmann::json out{{"stream", name},
                       {"ingested", acknowledged},
                       {"skipped", skipped},
                       {"events", events},
                       {"status", nlohmann::json::parse(to_json(after))}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "ingested " << acknowledged << " observations into " << name << " (" << after.observations()
            << " in total); " << fits << " fits, " << drifts << " drift events during this run";
  if (!skipped.empty()) std::cout << "; " << skipped.size() << " rows skipped";
  std::cout << "\n\n";
  print_errors(after);
  return 0;
}

// ---- forecast, list, delete, export --------------------------------------------------------

int forecast(const Args& a, const Global& g) {
  auto s = stub(g);
  const std::string name = a.pos(1, "stream NAME");
  grpc::ClientContext ctx;
  prepare(ctx, g);
  v1::GetForecastRequest req;
  req.set_name(name);
  v1::NowcastForecast f;
  check(s->GetForecast(&ctx, req, &f));
  if (g.json) {
    std::cout << to_json(f) << "\n";
    return 0;
  }
  const auto targets = get_stream(*s, g, name, 0).config().targets();
  std::cout << "forecast of " << name << " issued at " << format_time(f.issued_time()) << " (step " << f.step() << ", "
            << (f.from_model() ? "model v" + std::to_string(f.model_version()) : std::string("persistence: no model yet"))
            << ")\n\n";
  std::vector<std::string> header{"HORIZON", "VALID"};
  for (const auto& t : targets) header.push_back(t);
  Table t(header);
  for (const auto& h : f.horizons()) {
    std::vector<std::string> row{std::to_string(h.horizon()), format_time(h.valid_time())};
    for (const auto& name_t : targets) {
      const auto it = h.values().find(name_t);
      row.push_back(it == h.values().end() ? "-" : fixed(it->second, 2));
    }
    t.row(row);
  }
  t.print();
  return 0;
}

int list(const Global& g) {
  grpc::ClientContext ctx;
  prepare(ctx, g);
  v1::ListStreamsResponse resp;
  check(stub(g)->ListStreams(&ctx, {}, &resp));
  if (g.json) {
    std::cout << to_json(resp) << "\n";
    return 0;
  }
  Table t({"NAME", "MODEL", "TRIGGER", "OBSERVATIONS", "LAST", "FITS", "DRIFTS", "TARGETS", "ERROR"});
  for (const auto& s : resp.streams())
    t.row({s.name(), s.model(), s.trigger(), std::to_string(s.observations()),
           s.has_last_time() ? format_time(s.last_time()) : "-", std::to_string(s.fits()),
           std::to_string(s.drift_events()), join(s.targets()), s.error()});
  t.print();
  if (resp.streams().empty()) std::cout << "(no streams; create one with `attune nowcast create`)\n";
  return 0;
}

int remove(const Args& a, const Global& g) {
  grpc::ClientContext ctx;
  prepare(ctx, g);
  v1::DeleteStreamRequest req;
  req.set_name(a.pos(1, "stream NAME"));
  v1::DeleteStreamResponse resp;
  check(stub(g)->DeleteStream(&ctx, req, &resp));
  if (g.json) std::cout << to_json(resp) << "\n";
  else std::cout << "deleted stream " << req.name() << "\n";
  return 0;
}

int export_model(const Args& a, const Global& g) {
  const std::string out_path = a.get_or("out", "");
  if (out_path.empty()) throw UsageError("--out FILE is required");
  grpc::ClientContext ctx;
  prepare(ctx, g, true);
  v1::ExportStreamModelRequest req;
  req.set_name(a.pos(1, "stream NAME"));
  auto reader = stub(g)->ExportStreamModel(&ctx, req);
  const std::string tmp = out_path + ".part";
  std::ofstream out(tmp, std::ios::binary);
  v1::ExportStreamModelChunk chunk, first;
  int64_t written = 0;
  while (reader->Read(&chunk)) {
    if (written == 0) first = chunk;
    out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    written += static_cast<int64_t>(chunk.data().size());
  }
  out.close();
  const auto st = reader->Finish();
  if (!st.ok()) std::remove(tmp.c_str());
  check(st);
  std::rename(tmp.c_str(), out_path.c_str());
  first.clear_data();
  if (g.json) {
    std::cout << to_json(first) << "\n";
  } else {
    std::cout << "wrote " << out_path << " (" << human_bytes(static_cast<double>(written)) << ", " << first.format()
              << ", " << first.model_kind() << " model v" << first.model_version() << " after "
              << first.observations() << " observations)\n"
              << first.layout() << "\n";
  }
  return 0;
}

int cmd_nowcast(const Argv& argv) {
  auto flags = global_flags();
  flags.insert({"no-calendar", "synchronous", "resume", "skip-invalid", "quiet"});
  auto opts = global_options();
  opts.insert(kCreateOptions.begin(), kCreateOptions.end());
  opts.insert({"time-column", "where", "from", "to", "batch", "limit", "fits", "out"});
  Args a(argv, flags, opts);
  const Global g = global_from(a);
  const std::string sub = a.positional().empty() ? "" : a.positional()[0];
  if (sub == "create") return create(a, g);
  if (sub == "ingest") return ingest(a, g);
  if (sub == "status") return status(a, g);
  if (sub == "forecast") return forecast(a, g);
  if (sub == "list") return list(g);
  if (sub == "delete") return remove(a, g);
  if (sub == "export") return export_model(a, g);
  std::cerr << kUsage;
  return 2;
}

}  // namespace

const RegisterCommand kRegister("nowcast", cmd_nowcast,
                                "create|ingest|status|forecast|list|delete|export: streaming forecasters", 60);

}  // namespace attune::cli

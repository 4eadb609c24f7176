// Nowcaster::snapshot / restore: the complete stream state in one torch::serialize archive
// (tensors for arrays, IValues for scalars and strings, a nested archive for the regressor).
#include <sstream>
#include <stdexcept>

#include "nowcast/nowcaster.h"

namespace attune::nowcast {
namespace {

constexpr int64_t kFormat = 1;

torch::Tensor doubles(const std::vector<double>& v) {
  auto t = torch::empty({static_cast<int64_t>(v.size())}, torch::kFloat64);
  std::copy(v.begin(), v.end(), t.data_ptr<double>());
  return t;
}

torch::Tensor ints(const std::vector<int64_t>& v) {
  auto t = torch::empty({static_cast<int64_t>(v.size())}, torch::kInt64);
  std::copy(v.begin(), v.end(), t.data_ptr<int64_t>());
  return t;
}

template <typename T>
std::vector<T> values_of(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<T>(), c.data_ptr<T>() + c.numel()};
}

class Writer {
 public:
  explicit Writer(torch::serialize::OutputArchive& a) : a_(a) {}
  void i(const std::string& k, int64_t v) { a_.write(k, c10::IValue(v)); }
  void d(const std::string& k, double v) { a_.write(k, c10::IValue(v)); }
  void s(const std::string& k, const std::string& v) { a_.write(k, c10::IValue(v)); }
  void t(const std::string& k, const torch::Tensor& v) { a_.write(k, v); }
  void dv(const std::string& k, const std::vector<double>& v) { a_.write(k, doubles(v)); }

 private:
  torch::serialize::OutputArchive& a_;
};

class Reader {
 public:
  explicit Reader(torch::serialize::InputArchive& a) : a_(a) {}
  c10::IValue iv(const std::string& k) {
    c10::IValue v;
    a_.read(k, v);
    return v;
  }
  int64_t i(const std::string& k) { return iv(k).toInt(); }
  double d(const std::string& k) { return iv(k).toDouble(); }
  std::string s(const std::string& k) { return iv(k).toStringRef(); }
  torch::Tensor t(const std::string& k) {
    torch::Tensor v;
    a_.read(k, v);
    return v;
  }
  std::vector<double> dv(const std::string& k) { return values_of<double>(t(k)); }

 private:
  torch::serialize::InputArchive& a_;
};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string line; std::getline(is, line);) out.push_back(line);
  return out;
}

}  // namespace

std::string Nowcaster::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  torch::serialize::OutputArchive a;
  Writer w(a);
  w.i("format", kFormat);
  w.s("config", describe(config_));
  w.i("history.count", history_.count());
  w.t("history.times", ints(history_.times()));
  w.dv("history.values", history_.values());
  w.dv("climatology", climatology_.state());
  w.dv("policy", policy_.state());
  w.i("fits_started", fits_started_);

  w.i("model.present", model_ ? 1 : 0);
  if (model_) {
    w.i("model.version", model_->version);
    w.i("model.swap_step", model_->swap_step);
    w.dv("model.e_ref", model_->e_ref);
    w.dv("model.x_center", model_->x_scaler.center);
    w.dv("model.x_half_range", model_->x_scaler.half_range);
    w.dv("model.y_center", model_->y_scaler.center);
    w.dv("model.y_half_range", model_->y_scaler.half_range);
    torch::serialize::OutputArchive reg;
    model_->regressor->save(reg);
    a.write("model.regressor", reg);
  }

  std::vector<int64_t> issued_meta;
  std::vector<double> issued_values, issued_persistence, issued_climatology;
  for (const Issued& f : issued_) {
    issued_meta.insert(issued_meta.end(), {f.step, f.version, f.from_model ? 1 : 0});
    issued_values.insert(issued_values.end(), f.values.begin(), f.values.end());
    issued_persistence.insert(issued_persistence.end(), f.persistence.begin(), f.persistence.end());
    issued_climatology.insert(issued_climatology.end(), f.climatology.begin(), f.climatology.end());
  }
  w.t("issued.meta", ints(issued_meta));
  w.dv("issued.values", issued_values);
  w.dv("issued.persistence", issued_persistence);
  w.dv("issued.climatology", issued_climatology);

  std::vector<double> acc;
  for (const Accumulator& x : accumulators_)
    acc.insert(acc.end(), {static_cast<double>(x.count), x.abs, x.sq, x.persistence_abs, x.climatology_abs});
  w.dv("accumulators", acc);

  std::vector<double> log, log_e_ref;
  std::vector<std::string> log_triggers;
  for (const FitRecord& r : fit_log_) {
    log.insert(log.end(), {static_cast<double>(r.version), static_cast<double>(r.fire_step),
                           static_cast<double>(r.fire_time), r.ratio, static_cast<double>(r.model_age),
                           static_cast<double>(r.window), static_cast<double>(r.train_rows),
                           static_cast<double>(r.holdout_rows), static_cast<double>(r.epochs),
                           r.rows_epochs, r.flops, r.cpu_seconds, static_cast<double>(r.swap_step)});
    log_e_ref.insert(log_e_ref.end(), r.e_ref.begin(), r.e_ref.end());
    log_triggers.push_back(r.trigger);
  }
  w.dv("fit_log", log);
  w.dv("fit_log.e_ref", log_e_ref);
  w.s("fit_log.triggers", join(log_triggers));

  std::vector<std::string> trigger_names;
  std::vector<int64_t> trigger_counts;
  for (const auto& [k, v] : fits_by_trigger_) {
    trigger_names.push_back(k);
    trigger_counts.push_back(v);
  }
  w.s("fits_by_trigger.names", join(trigger_names));
  w.t("fits_by_trigger.counts", ints(trigger_counts));
  w.i("fits", fits_);
  w.i("drift_events", drift_events_);
  w.dv("totals", {window_sum_, cpu_seconds_, rows_epochs_, flops_});

  // A background fit in flight is stored as its request and fitted again on restore (its seed
  // is fixed by its version, so the result is the same model).
  w.i("pending.present", pending_request_ ? 1 : 0);
  if (pending_request_) {
    const FitRequest& r = *pending_request_;
    w.t("pending.meta", ints({r.fire_step, r.fire_time, r.model_age, r.window, r.version}));
    w.d("pending.ratio", r.ratio);
    w.s("pending.trigger", r.trigger);
    w.t("pending.x", r.samples.x);
    w.t("pending.y", r.samples.y);
    w.i("pending.first_anchor", r.samples.first_anchor);
  }
  std::ostringstream os;
  a.save_to(os);
  return os.str();
}

void Nowcaster::restore(const std::string& bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (history_.count() != 0 || pending_)
    throw std::logic_error("restore: the stream must be fresh (nothing ingested)");
  torch::serialize::InputArchive a;
  std::istringstream is(bytes);
  try {
    a.load_from(is);
  } catch (const c10::Error& e) {
    throw std::invalid_argument("snapshot: not a nowcast snapshot archive");
  }
  Reader r(a);
  if (r.i("format") != kFormat)
    throw std::invalid_argument("snapshot.format: expected " + std::to_string(kFormat) +
                                ", received " + std::to_string(r.i("format")));
  const std::string cfg = r.s("config");
  if (cfg != describe(config_))
    throw std::invalid_argument("snapshot.config: expected the stream's config (" +
                                describe(config_) + "), received " + cfg);

  history_.restore(r.i("history.count"), values_of<int64_t>(r.t("history.times")),
                   r.dv("history.values"));
  climatology_.set_state(r.dv("climatology"));
  policy_.set_state(r.dv("policy"));
  fits_started_ = r.i("fits_started");

  model_.reset();
  if (r.i("model.present")) {
    LiveModel m;
    m.version = r.i("model.version");
    m.swap_step = r.i("model.swap_step");
    m.e_ref = r.dv("model.e_ref");
    m.x_scaler.center = r.dv("model.x_center");
    m.x_scaler.half_range = r.dv("model.x_half_range");
    m.y_scaler.center = r.dv("model.y_center");
    m.y_scaler.half_range = r.dv("model.y_half_range");
    m.regressor = make_regressor(config_.model, feature_layout(config_),
                                 static_cast<int64_t>(m.e_ref.size()),
                                 config_.model.seed + static_cast<uint64_t>(m.version));
    torch::serialize::InputArchive reg;
    a.read("model.regressor", reg);
    m.regressor->load(reg);
    model_ = std::move(m);
  }

  const size_t n_h = config_.horizons.size(), n_t = target_vars_.size();
  const auto meta = values_of<int64_t>(r.t("issued.meta"));
  const auto iv = r.dv("issued.values"), ip = r.dv("issued.persistence"), ic = r.dv("issued.climatology");
  issued_.clear();
  for (size_t i = 0; i < meta.size() / 3; ++i) {
    Issued f;
    f.step = meta[3 * i];
    f.version = meta[3 * i + 1];
    f.from_model = meta[3 * i + 2] != 0;
    f.values.assign(iv.begin() + i * n_t * n_h, iv.begin() + (i + 1) * n_t * n_h);
    f.persistence.assign(ip.begin() + i * n_t, ip.begin() + (i + 1) * n_t);
    f.climatology.assign(ic.begin() + i * n_t * n_h, ic.begin() + (i + 1) * n_t * n_h);
    issued_.push_back(std::move(f));
  }
  latest_.reset();
  if (!issued_.empty()) latest_ = to_forecast(issued_.back());

  const auto acc = r.dv("accumulators");
  if (acc.size() != 5 * accumulators_.size()) throw std::invalid_argument("snapshot.accumulators: malformed");
  for (size_t i = 0; i < accumulators_.size(); ++i)
    accumulators_[i] = {static_cast<int64_t>(acc[5 * i]), acc[5 * i + 1], acc[5 * i + 2],
                        acc[5 * i + 3], acc[5 * i + 4]};

  const auto log = r.dv("fit_log"), log_e_ref = r.dv("fit_log.e_ref");
  const auto triggers = split(r.s("fit_log.triggers"));
  fit_log_.clear();
  const size_t n_out = n_t * n_h;
  for (size_t i = 0; i < triggers.size(); ++i) {
    const double* x = log.data() + 13 * i;
    FitRecord rec;
    rec.version = static_cast<int64_t>(x[0]);
    rec.fire_step = static_cast<int64_t>(x[1]);
    rec.fire_time = static_cast<int64_t>(x[2]);
    rec.ratio = x[3];
    rec.model_age = static_cast<int64_t>(x[4]);
    rec.window = static_cast<int64_t>(x[5]);
    rec.train_rows = static_cast<int64_t>(x[6]);
    rec.holdout_rows = static_cast<int64_t>(x[7]);
    rec.epochs = static_cast<int64_t>(x[8]);
    rec.rows_epochs = x[9];
    rec.flops = x[10];
    rec.cpu_seconds = x[11];
    rec.swap_step = static_cast<int64_t>(x[12]);
    rec.trigger = triggers[i];
    rec.e_ref.assign(log_e_ref.begin() + i * n_out, log_e_ref.begin() + (i + 1) * n_out);
    fit_log_.push_back(std::move(rec));
  }

  fits_by_trigger_.clear();
  const auto names = split(r.s("fits_by_trigger.names"));
  const auto counts = values_of<int64_t>(r.t("fits_by_trigger.counts"));
  for (size_t i = 0; i < names.size(); ++i) fits_by_trigger_[names[i]] = counts.at(i);
  fits_ = r.i("fits");
  drift_events_ = r.i("drift_events");
  const auto totals = r.dv("totals");
  window_sum_ = totals.at(0);
  cpu_seconds_ = totals.at(1);
  rows_epochs_ = totals.at(2);
  flops_ = totals.at(3);

  if (r.i("pending.present")) {
    const auto m = values_of<int64_t>(r.t("pending.meta"));
    FitRequest req;
    req.fire_step = m.at(0);
    req.fire_time = m.at(1);
    req.model_age = m.at(2);
    req.window = m.at(3);
    req.version = m.at(4);
    req.ratio = r.d("pending.ratio");
    req.trigger = r.s("pending.trigger");
    req.samples.x = r.t("pending.x");
    req.samples.y = r.t("pending.y");
    req.samples.first_anchor = r.i("pending.first_anchor");
    Events ignored;
    launch(std::move(req), ignored);
  }
}

}  // namespace attune::nowcast

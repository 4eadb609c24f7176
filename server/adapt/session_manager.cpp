#include "adapt/session_manager.h"

#include <cmath>
#include <random>

#include "core/error.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/model_inspect.h"
#include "metrics/catalog.h"
#include "metrics/registry.h"
#include "tta/errors.h"

namespace attune::adapt {
namespace {

using Clock = std::chrono::steady_clock;

double now_unix() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string new_session_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  static const char* digits = "0123456789abcdef";
  std::string id = "s";
  const uint64_t r = rng();
  for (int i = 0; i < 12; ++i) id += digits[(r >> (4 * i)) & 15];
  return id;
}

// The TTA library's exceptions, and LibTorch's from the model's own forward, become the
// domain errors the RPC layer maps to status codes.
template <class F>
auto translate(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error&) {
    throw;
  } catch (const tta::FailedPrecondition& e) {
    throw FailedPrecondition(e.what());
  } catch (const std::invalid_argument& e) {  // tta::InvalidBatch and option validation
    throw InvalidArgument(e.what());
  } catch (const std::exception& e) {
    throw InvalidArgument("the model rejected the batch: " + torch_error_message(e));
  }
}

// decision="used" counts back-propagated samples for tent/eta/eata and every sample for methods
// without gradients (their predictions are the adapted output).
void count_samples(const std::string& model, const tta::Options& o, const tta::BatchStats& s) {
  const std::string method(tta::method_name(o.method));
  auto& fam = metrics::catalog().adapt_samples;
  const int64_t used = tta::adapts_parameters(o.method) ? s.used : s.samples;
  fam.Add({{"model", model}, {"method", method}, {"decision", "used"}}).Increment(static_cast<double>(used));
  if (o.method == tta::Method::kEta || o.method == tta::Method::kEata) {
    fam.Add({{"model", model}, {"method", method}, {"decision", "filtered_entropy"}})
        .Increment(static_cast<double>(s.filtered_entropy));
    fam.Add({{"model", model}, {"method", method}, {"decision", "filtered_redundant"}})
        .Increment(static_cast<double>(s.filtered_redundant));
  }
}

}  // namespace

struct SessionManager::Session {
  std::string id;
  std::string model;
  int64_t version = 0;
  std::vector<TensorSpec> inputs, outputs;
  tta::Options options;
  std::unique_ptr<tta::Adapter> adapter;
  std::mutex mu;  // an Adapter is not thread-safe
  double created = 0;
  std::atomic<int64_t> last_used_ns{0};
  int64_t batches = 0;

  void touch() { last_used_ns = Clock::now().time_since_epoch().count(); }
  double idle() const {
    return std::chrono::duration<double>(Clock::now().time_since_epoch() -
                                         Clock::duration(last_used_ns.load()))
        .count();
  }
};

SessionManager::SessionManager(ModelRegistry& models, DatasetStore& datasets, int max_sessions,
                               double idle_seconds)
    : models_(models), datasets_(datasets), max_sessions_(max_sessions), idle_seconds_(idle_seconds) {
  metrics::catalog().adapt_sessions.Add({}).Set(0);
  janitor_ = std::thread([this] { janitor(); });
}

SessionManager::~SessionManager() { shutdown(); }

void SessionManager::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (janitor_.joinable()) janitor_.join();
}

void SessionManager::update_gauge_locked() const {
  metrics::catalog().adapt_sessions.Add({}).Set(static_cast<double>(sessions_.size()));
}

SessionInfo SessionManager::create(const std::string& model, int64_t version, const tta::Options& options) {
  const auto hosted = models_.resolve(model, version);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (static_cast<int>(sessions_.size()) >= max_sessions_)
      throw ResourceExhausted("adaptation session limit reached: " + std::to_string(sessions_.size()) +
                              " open (--max-sessions " + std::to_string(max_sessions_) +
                              "); close sessions you no longer need (idle ones expire after " +
                              std::to_string(static_cast<int64_t>(idle_seconds_)) + " s)");
  }
  auto s = std::make_shared<Session>();
  s->id = new_session_id();
  s->model = model;
  s->version = hosted->info().version;
  s->inputs = hosted->info().inputs;
  s->outputs = hosted->info().outputs;
  s->options = options;
  s->created = now_unix();
  s->touch();
  s->adapter = translate([&] { return tta::make_adapter(hosted->module(), options); });
  std::lock_guard<std::mutex> lock(mu_);
  if (static_cast<int>(sessions_.size()) >= max_sessions_)
    throw ResourceExhausted("adaptation session limit reached (--max-sessions " + std::to_string(max_sessions_) + ")");
  sessions_[s->id] = s;
  update_gauge_locked();
  LOG_INFO("adaptation session " << s->id << ": " << tta::method_name(options.method) << " on " << model
                                 << " version " << s->version);
  return info_of(*s);
}

std::shared_ptr<SessionManager::Session> SessionManager::find(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = sessions_.find(id); it != sessions_.end()) return it->second;
  if (expired_.count(id))
    throw NotFound("session '" + id + "' expired after " + std::to_string(static_cast<int64_t>(idle_seconds_)) +
                   " s idle (--session-idle-seconds); create a new one");
  throw NotFound("session '" + id + "' not found (ListSessions shows open sessions)");
}

SessionInfo SessionManager::info_of(Session& s) const {
  SessionInfo i;
  i.id = s.id;
  i.model = s.model;
  i.version = s.version;
  i.options = s.options;
  i.stats = s.adapter->stats();
  if (const auto* f = s.adapter->fisher()) {
    i.has_fisher = true;
    i.fisher_samples = f->samples;
  }
  i.created_unix_seconds = s.created;
  i.idle_seconds = s.idle();
  return i;
}

TensorSpec SessionManager::input_spec(const std::string& id) const {
  const auto s = find(id);
  if (s->inputs.empty()) return TensorSpec{"input", DType::kFloat32, {}};
  return s->inputs[0];
}

AdaptOutcome SessionManager::adapt(const std::string& id, const torch::Tensor& batch) {
  const auto s = find(id);
  std::lock_guard<std::mutex> lock(s->mu);
  s->touch();
  const auto start = Clock::now();
  AdaptOutcome out;
  out.result = translate([&] { return s->adapter->adapt(batch); });
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.sequence = ++s->batches;
  s->touch();

  const auto& cat = metrics::catalog();
  const std::string method(tta::method_name(s->options.method));
  count_samples(s->model, s->options, out.result.stats);
  cat.adapt_batch_seconds.Add({{"method", method}}, metrics::buckets::step_seconds()).Observe(out.seconds);
  auto& entropy = cat.adapt_entropy.Add({{"method", method}}, metrics::buckets::entropy_nats());
  const auto p = torch::softmax(out.result.logits.to(torch::kFloat64), 1);
  const auto h = -(p * torch::log(p.clamp_min(1e-30))).sum(1);
  const double* hv = h.contiguous().data_ptr<double>();
  for (int64_t i = 0; i < h.numel(); ++i) entropy.Observe(hv[i]);
  if (out.result.stats.fisher_penalty)
    cat.adapt_fisher_penalty.Add({{"model", s->model}}).Set(*out.result.stats.fisher_penalty);
  return out;
}

SessionInfo SessionManager::fisher_from_samples(const std::string& id, const torch::Tensor& samples,
                                                int64_t batch_size) {
  if (batch_size < 2) throw InvalidArgument("batch_size: expected >= 2, received " + std::to_string(batch_size));
  const auto s = find(id);
  std::lock_guard<std::mutex> lock(s->mu);
  s->touch();
  translate([&] { return s->adapter->compute_fisher(samples, batch_size); });
  return info_of(*s);
}

SessionInfo SessionManager::fisher_from_dataset(const std::string& id, const std::string& dataset,
                                                int64_t size, int64_t batch_size, uint64_t seed,
                                                const std::function<bool()>& cancelled) {
  if (size < 2) throw InvalidArgument("size: expected >= 2, received " + std::to_string(size));
  const auto spec = input_spec(id);
  const auto data = datasets_.get(dataset);
  if (!spec.shape.empty()) {
    Shape per_sample(spec.shape.begin() + 1, spec.shape.end());
    bool ok = per_sample.size() == data->info.features.shape.size();
    for (size_t i = 0; ok && i < per_sample.size(); ++i)
      ok = per_sample[i] < 0 || per_sample[i] == data->info.features.shape[i];
    if (!ok)
      throw InvalidArgument("dataset '" + dataset + "': features " + shape_str(data->info.features.shape) +
                            " per sample do not match the model input " + shape_str(spec.shape));
  }
  auto gen = at::detail::createCPUGenerator(seed);
  const auto order = torch::randperm(data->info.samples, gen, torch::TensorOptions().dtype(torch::kInt64));
  const auto index = order.narrow(0, 0, std::min(size, data->info.samples));
  auto x = data->features.index_select(0, index).to(to_scalar_type(is_floating(spec.dtype) ? spec.dtype : DType::kFloat32));
  if (data->info.feature_scale != 1.0) x.mul_(data->info.feature_scale);
  if (cancelled && cancelled())
    throw Error(Code::kCancelled, "ComputeFisher cancelled by the caller; the session is unchanged");
  return fisher_from_samples(id, x, batch_size);
}

SessionInfo SessionManager::reset(const std::string& id) {
  const auto s = find(id);
  std::lock_guard<std::mutex> lock(s->mu);
  s->touch();
  translate([&] {
    s->adapter->reset();
    return 0;
  });
  metrics::catalog().adapt_resets.Add({{"reason", "manual"}}).Increment();
  return info_of(*s);
}

SessionInfo SessionManager::get(const std::string& id) const {
  const auto s = find(id);
  std::lock_guard<std::mutex> lock(s->mu);
  return info_of(*s);
}

std::vector<SessionInfo> SessionManager::list() const {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [_, s] : sessions_) all.push_back(s);
  }
  std::vector<SessionInfo> out;
  for (const auto& s : all) {
    std::lock_guard<std::mutex> lock(s->mu);
    out.push_back(info_of(*s));
  }
  return out;
}

void SessionManager::close(const std::string& id) {
  find(id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(id);
    update_gauge_locked();
  }
  release_free_memory();  // the session's private model copy and optimizer state
}

ModelInfo SessionManager::publish(const std::string& id, const std::string& name) {
  const auto s = find(id);
  torch::jit::Module adapted;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->touch();
    adapted = translate([&] { return s->adapter->export_module(); });
  }
  return models_.publish(name.empty() ? s->model : name, adapted, s->inputs, s->outputs, "adaptation:" + s->id);
}

void SessionManager::janitor() {
  const auto period = std::chrono::duration<double>(std::clamp(idle_seconds_ / 4, 0.05, 5.0));
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_cv_.wait_for(lock, period, [&] { return stopping_; })) {
    bool expired_any = false;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      auto& s = it->second;
      std::unique_lock<std::mutex> busy(s->mu, std::try_to_lock);  // never expire a session mid-call
      if (busy.owns_lock() && s->idle() > idle_seconds_) {
        LOG_INFO("adaptation session " << s->id << " expired after " << idle_seconds_ << " s idle");
        expired_[s->id] = now_unix();
        busy.unlock();
        it = sessions_.erase(it);
        expired_any = true;
      } else {
        ++it;
      }
    }
    while (expired_.size() > 1024) expired_.erase(expired_.begin());
    update_gauge_locked();
    if (expired_any) {
      lock.unlock();
      release_free_memory();
      lock.lock();
    }
  }
}

}  // namespace attune::adapt

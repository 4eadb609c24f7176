#include "train/job_runner.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <optional>
#include <random>

#include "core/architectures.h"
#include "core/log.h"
#include "core/model_inspect.h"
#include "core/model_meta.h"
#include "core/storage.h"
#include "dist/process_group.h"
#include "metrics/catalog.h"
#include "metrics/registry.h"
#include "train/loss.h"

namespace attune::train {
namespace {

constexpr size_t kEventsKept = 512;
constexpr auto kProgressEventInterval = std::chrono::milliseconds(100);

double now_unix() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string new_job_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  static const char* digits = "0123456789abcdef";
  std::string id = "j";
  const uint64_t r = rng();
  for (int i = 0; i < 10; ++i) id += digits[(r >> (4 * i)) & 15];
  return id;
}

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double num_of(const nlohmann::json& j, const char* k) {
  return j.contains(k) && j[k].is_number() ? j[k].get<double>() : std::numeric_limits<double>::quiet_NaN();
}

nlohmann::json to_json(const JobRecord& r) {
  const auto& p = r.progress;
  nlohmann::json j{{"id", r.id}, {"spec", to_json(r.spec)}, {"state", static_cast<int>(r.state)},
                   {"created", r.created}, {"started", r.started}, {"finished", r.finished},
                   {"resumes", r.resumes}, {"model", r.model},
                   {"inputs", attune::to_json(r.inputs)}, {"outputs", attune::to_json(r.outputs)},
                   {"progress", {{"step", p.step}, {"total_steps", p.total_steps}, {"epoch", p.epoch},
                                 {"samples", p.samples}, {"loss", num(p.loss)},
                                 {"validation_loss", num(p.validation_loss)},
                                 {"validation_accuracy", num(p.validation_accuracy)},
                                 {"learning_rate", p.learning_rate}, {"batch_size", p.batch_size},
                                 {"checkpoint_step", p.checkpoint_step}}}};
  if (r.result)
    j["result"] = {{"model_name", r.result->model_name}, {"model_version", r.result->model_version},
                   {"final_loss", num(r.result->final_loss)},
                   {"validation_loss", num(r.result->validation_loss)},
                   {"validation_accuracy", num(r.result->validation_accuracy)},
                   {"steps", r.result->steps}, {"stop_reason", r.result->stop_reason}};
  if (r.error) j["error"] = {{"code", static_cast<int>(r.error->first)}, {"message", r.error->second}};
  return j;
}

JobRecord record_from_json(const nlohmann::json& j) {
  JobRecord r;
  r.id = j.at("id");
  r.spec = spec_from_json(j.at("spec"));
  r.state = static_cast<JobState>(j.at("state").get<int>());
  r.created = j.value("created", 0.0);
  r.started = j.value("started", 0.0);
  r.finished = j.value("finished", 0.0);
  r.resumes = j.value("resumes", int64_t{0});
  r.model = j.value("model", std::string());
  r.inputs = specs_from_json(j.value("inputs", nlohmann::json()), "inputs");
  r.outputs = specs_from_json(j.value("outputs", nlohmann::json()), "outputs");
  const auto& p = j.at("progress");
  r.progress.step = p.value("step", int64_t{0});
  r.progress.total_steps = p.value("total_steps", int64_t{0});
  r.progress.epoch = p.value("epoch", int64_t{0});
  r.progress.samples = p.value("samples", int64_t{0});
  r.progress.loss = num_of(p, "loss");
  r.progress.validation_loss = num_of(p, "validation_loss");
  r.progress.validation_accuracy = num_of(p, "validation_accuracy");
  r.progress.learning_rate = p.value("learning_rate", 0.0);
  r.progress.batch_size = p.value("batch_size", int64_t{0});
  r.progress.checkpoint_step = p.value("checkpoint_step", int64_t{-1});
  if (j.contains("result")) {
    const auto& x = j["result"];
    r.result = JobResult{x.at("model_name"), x.at("model_version"), num_of(x, "final_loss"),
                         num_of(x, "validation_loss"), num_of(x, "validation_accuracy"),
                         x.value("steps", int64_t{0}), x.value("stop_reason", std::string())};
  }
  if (j.contains("error"))
    r.error = std::make_pair(static_cast<Code>(j["error"].at("code").get<int>()),
                             j["error"].at("message").get<std::string>());
  return r;
}

std::string strip_prefix(const std::string& id) {
  return id.rfind("jobs/", 0) == 0 ? id.substr(5) : id;
}

}  // namespace

const std::vector<double>& allreduce_seconds_buckets() {
  static const std::vector<double> b{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                     0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return b;
}

std::string job_state_name(JobState s) {
  switch (s) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

bool is_terminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}

JobRunner::JobRunner(fs::path data_dir, ModelRegistry& models, DatasetStore& datasets, int workers,
                     int max_queued, CoordinatorOptions distributed)
    : dir_(data_dir / "jobs"), models_(models), datasets_(datasets), workers_count_(workers),
      max_queued_(max_queued), coordinator_(std::move(distributed)) {
  make_dirs(dir_);
}

JobRunner::~JobRunner() { shutdown(); }

void JobRunner::start() {
  // A kill between naming a temporary file and renaming it leaves job.json.tmp.* or checkpoint
  // temporaries behind; nothing reads them, so clear them before anything is written again.
  if (const int n = remove_stale_temp_files(dir_, /*recursive=*/true))
    LOG_INFO("removed " << n << " temporary file(s) left in " << dir_ << " by an interrupted write");
  std::vector<std::shared_ptr<Job>> loaded;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (!e.is_directory() || !fs::exists(e.path() / "job.json")) continue;
    try {
      auto job = std::make_shared<Job>();
      job->rec = record_from_json(nlohmann::json::parse(read_file(e.path() / "job.json")));
      loaded.push_back(job);
    } catch (const std::exception& ex) {
      LOG_ERROR("job " << e.path() << " is unreadable, skipping: " << ex.what());
    }
  }
  std::sort(loaded.begin(), loaded.end(),
            [](const auto& a, const auto& b) { return a->rec.created < b->rec.created; });
  int resumed = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& job : loaded) {
      if (!is_terminal(job->rec.state)) {
        if (job->rec.state == JobState::kRunning) ++job->rec.resumes;
        job->rec.state = JobState::kQueued;
        queue_.push_back(job->rec.id);
        ++resumed;
      }
      add_event_locked(*job, EventKind::kState, "", is_terminal(job->rec.state));
      jobs_[job->rec.id] = job;
    }
    update_gauges_locked();
  }
  for (const auto& job : loaded)
    if (!is_terminal(job->rec.state)) persist(job->rec);
  LOG_INFO("restored " << loaded.size() << " training job(s), " << resumed << " to resume");
  for (int i = 0; i < workers_count_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void JobRunner::check_compatible(const JobSpec& s) const {
  const DatasetInfo data = datasets_.info(s.dataset);
  if (!s.validation_dataset.empty()) datasets_.info(s.validation_dataset);
  const LossKind loss = resolve_loss(s.loss, data);
  std::vector<TensorSpec> inputs, outputs;
  if (s.architecture) {
    // Cheap for the sizes users pick; building proves the spec is valid before queueing.
    const auto built = build_architecture(*s.architecture, 0);
    inputs = built.inputs;
    outputs = built.outputs;
  } else {
    const auto model = models_.resolve(s.model_name, s.model_version);
    inputs = model->info().inputs;
    outputs = model->info().outputs;
  }
  if (inputs.size() != 1)
    throw FailedPrecondition("training needs a model with exactly one input; the model has " +
                             std::to_string(inputs.size()));
  const auto& in = inputs[0].shape;
  if (!in.empty()) {
    bool ok = in.size() == data.features.shape.size() + 1;
    for (size_t i = 1; ok && i < in.size(); ++i) ok = in[i] < 0 || in[i] == data.features.shape[i - 1];
    if (!ok)
      throw InvalidArgument("dataset '" + s.dataset + "': features " + shape_str(data.features.shape) +
                            " per sample do not match the model input " + shape_str(in));
  }
  if (loss == LossKind::kCrossEntropy && !outputs.empty() && outputs[0].shape.size() == 2 &&
      outputs[0].shape[1] > 0 && outputs[0].shape[1] < data.classes)
    throw InvalidArgument("dataset '" + s.dataset + "' has " + std::to_string(data.classes) +
                          " classes but the model outputs " + std::to_string(outputs[0].shape[1]) +
                          " logits");
}

JobRecord JobRunner::submit(JobSpec spec) {
  validate(spec);
  check_compatible(spec);
  auto job = std::make_shared<Job>();
  job->rec.id = new_job_id();
  job->rec.spec = std::move(spec);
  job->rec.state = JobState::kQueued;
  job->rec.created = now_unix();
  job->rec.model = job->rec.spec.publish_name.empty() ? job->rec.spec.model_name : job->rec.spec.publish_name;
  job->rec.progress.batch_size = job->rec.spec.batch_size;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) throw Unavailable("server is shutting down; submit the job to another replica");
    if (static_cast<int>(queue_.size()) >= max_queued_)
      throw ResourceExhausted("training queue is full: " + std::to_string(queue_.size()) +
                              " jobs waiting (--max-queued-jobs " + std::to_string(max_queued_) +
                              "); wait for jobs to finish or cancel some");
  }
  make_dirs(dir_ / job->rec.id);
  persist(job->rec);
  std::lock_guard<std::mutex> lock(mu_);
  jobs_[job->rec.id] = job;
  queue_.push_back(job->rec.id);
  add_event_locked(*job, EventKind::kState, "queued", false);
  update_gauges_locked();
  queue_cv_.notify_one();
  LOG_INFO("job " << job->rec.id << " queued: train " << job->rec.model << " on " << job->rec.spec.dataset
                  << " with " << job->rec.spec.optimizer.name);
  return job->rec;
}

std::shared_ptr<JobRunner::Job> JobRunner::find_locked(const std::string& id) const {
  auto it = jobs_.find(strip_prefix(id));
  if (it == jobs_.end()) throw NotFound("job '" + id + "' not found (ListJobs shows every job)");
  return it->second;
}

JobRecord JobRunner::get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return find_locked(id)->rec;
}

std::vector<JobRecord> JobRunner::list(std::optional<JobState> state) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobRecord> out;
  for (const auto& [_, j] : jobs_)
    if (!state || j->rec.state == *state) out.push_back(j->rec);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  return out;
}

JobRecord JobRunner::cancel(const std::string& id) {
  std::shared_ptr<Job> job;
  bool was_queued = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    job = find_locked(id);
    if (is_terminal(job->rec.state))
      throw FailedPrecondition("job '" + id + "' already ended (" + job_state_name(job->rec.state) + ")");
    job->cancel = true;
    if (job->rec.state == JobState::kQueued) {
      queue_.erase(std::remove(queue_.begin(), queue_.end(), job->rec.id), queue_.end());
      was_queued = true;
    }
  }
  if (was_queued) set_state(job, JobState::kCancelled, "cancelled before it started");
  std::lock_guard<std::mutex> lock(mu_);
  return job->rec;
}

JobRecord JobRunner::restart(const std::string& id) {
  std::shared_ptr<Job> job;
  JobRecord snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    job = find_locked(id);
    if (job->rec.state != JobState::kFailed && job->rec.state != JobState::kCancelled)
      throw FailedPrecondition("job '" + id + "' is " + job_state_name(job->rec.state) +
                               "; only failed or cancelled jobs can be restarted");
    if (stopping_) throw Unavailable("server is shutting down; restart the job on the next start");
    if (static_cast<int>(queue_.size()) >= max_queued_)
      throw ResourceExhausted("training queue is full: " + std::to_string(queue_.size()) +
                              " jobs waiting (--max-queued-jobs " + std::to_string(max_queued_) + ")");
    job->cancel = false;
    job->rec.error.reset();
    job->rec.result.reset();
    job->rec.finished = 0;
    ++job->rec.resumes;
    job->rec.state = JobState::kQueued;
    snapshot = job->rec;
  }
  persist(snapshot);  // before a worker can take it and persist RUNNING
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(job->rec.id);
  const int64_t from = job->rec.progress.checkpoint_step;
  add_event_locked(*job, EventKind::kState,
                   from >= 0 ? "restarted; resumes from checkpoint step " + std::to_string(from) : "restarted", false);
  update_gauges_locked();
  queue_cv_.notify_one();
  LOG_INFO("job " << job->rec.id << " restarted");
  return job->rec;
}

void JobRunner::note(const std::shared_ptr<Job>& job, const std::string& message) {
  LOG_INFO("job " << job->rec.id << ": " << message);
  std::lock_guard<std::mutex> lock(mu_);
  add_event_locked(*job, EventKind::kState, message, false);
}

WatchBatch JobRunner::watch(const std::string& id, int64_t after, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  auto job = find_locked(id);
  auto ready = [&] {
    return stopping_ || is_terminal(job->rec.state) ||
           (!job->events.empty() && job->events.back().sequence > after);
  };
  events_cv_.wait_for(lock, timeout, ready);
  WatchBatch out;
  for (const auto& e : job->events)
    if (e.sequence > after) out.events.push_back(e);
  out.job = job->rec;
  out.last_sequence = job->next_sequence - 1;
  out.done = is_terminal(job->rec.state);
  out.stopping = stopping_;
  return out;
}

bool JobRunner::dataset_in_use(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [_, j] : jobs_)
    if (!is_terminal(j->rec.state) && (j->rec.spec.dataset == name || j->rec.spec.validation_dataset == name))
      return true;
  return false;
}

int JobRunner::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size());
}

void JobRunner::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  interrupt_ = true;
  queue_cv_.notify_all();
  events_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void JobRunner::worker_loop() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = jobs_.at(queue_.front());
      queue_.pop_front();
      update_gauges_locked();
    }
    run(job);
  }
}

void JobRunner::persist(const JobRecord& rec) const {
  atomic_write(dir_ / rec.id / "job.json", to_json(rec).dump(1));
}

void JobRunner::add_event_locked(Job& job, EventKind kind, const std::string& message, bool done) {
  JobEventRecord e;
  e.sequence = job.next_sequence++;
  e.kind = kind;
  e.state = job.rec.state;
  e.progress = job.rec.progress;
  e.message = message;
  e.done = done;
  job.events.push_back(std::move(e));
  while (job.events.size() > kEventsKept) job.events.pop_front();
  events_cv_.notify_all();
}

void JobRunner::set_state(const std::shared_ptr<Job>& job, JobState state, const std::string& message) {
  JobRecord snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    job->rec.state = state;
    if (state == JobState::kRunning && job->rec.started == 0) job->rec.started = now_unix();
    if (is_terminal(state)) job->rec.finished = now_unix();
    snapshot = job->rec;
  }
  persist(snapshot);
  std::lock_guard<std::mutex> lock(mu_);
  add_event_locked(*job, EventKind::kState, message, is_terminal(state));
  update_gauges_locked();
}

void JobRunner::update_gauges_locked() const {
  std::map<JobState, int> counts;
  for (const auto& [_, j] : jobs_) ++counts[j->rec.state];
  auto& fam = metrics::catalog().train_jobs;
  for (auto s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed, JobState::kCancelled})
    fam.Add({{"state", job_state_name(s)}}).Set(counts[s]);
  metrics::catalog().train_queue_depth.Add({}).Set(static_cast<double>(queue_.size()));
}

void JobRunner::run(const std::shared_ptr<Job>& job) {
  if (job->cancel) return;
  set_state(job, JobState::kRunning, job->rec.resumes > 0 ? "resuming from the last checkpoint" : "started");
  try {
    execute(job);
  } catch (const Error& e) {
    std::lock_guard<std::mutex> lock(mu_);
    job->rec.error = std::make_pair(e.code(), std::string(e.what()));
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mu_);
    job->rec.error = std::make_pair(Code::kInternal, torch_error_message(e));
  }
  // Copied under the lock: once the state is FAILED, RestartJob may reset `error` at any time
  // (AddressSanitizer caught set_state reading the message after such a reset).
  std::optional<std::string> failure;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (job->rec.error) failure = job->rec.error->second;
  }
  if (failure) {
    LOG_WARN("job " << job->rec.id << " failed: " << *failure);
    set_state(job, JobState::kFailed, *failure);
  }
}

void JobRunner::execute(const std::shared_ptr<Job>& job) {
  const JobSpec spec = job->rec.spec;
  const fs::path job_dir = dir_ / job->rec.id;
  TrainInputs in;
  in.spec = spec;
  in.job_dir = job_dir;
  const bool has_checkpoint = fs::exists(job_dir / "CURRENT");
  if (!has_checkpoint) {
    if (spec.architecture) {
      auto built = build_architecture(*spec.architecture, static_cast<uint64_t>(spec.seed));
      in.initial_model = built.module;
      job->rec.inputs = built.inputs;
      job->rec.outputs = built.outputs;
    } else {
      const auto source = models_.resolve(spec.model_name, spec.model_version);
      in.initial_model = source->clone_module();
      job->rec.inputs = source->info().inputs;
      job->rec.outputs = source->info().outputs;
    }
  }
  const auto& inputs = job->rec.inputs;
  in.input_dtype = !inputs.empty() && is_floating(inputs[0].dtype) ? to_scalar_type(inputs[0].dtype) : torch::kFloat32;
  in.train = datasets_.get(spec.dataset);
  const int64_t n = in.train->info.samples;
  in.loss = resolve_loss(spec.loss, in.train->info);
  if (!spec.validation_dataset.empty()) {
    in.validation = datasets_.get(spec.validation_dataset);
    in.train_end = n;
    in.val_begin = 0;
    in.val_end = in.validation->info.samples;
  } else if (spec.validation_split > 0) {
    const int64_t held = std::max<int64_t>(1, static_cast<int64_t>(std::llround(n * spec.validation_split)));
    in.train_end = n - held;
    in.validation = in.train;
    in.val_begin = in.train_end;
    in.val_end = n;
  } else {
    in.train_end = n;
  }
  in.cancel = &job->cancel;
  in.interrupt = &interrupt_;

  const auto& cat = metrics::catalog();
  const std::map<std::string, std::string> labels{{"model", job->rec.model}};
  auto& steps = cat.train_steps.Add(labels);
  auto& samples = cat.train_samples.Add(labels);
  auto& loss_gauge = cat.train_loss.Add(labels);
  auto& lr_gauge = cat.train_learning_rate.Add(labels);
  auto& batch_gauge = cat.train_batch_size.Add(labels);
  auto& step_hist = cat.train_step_seconds.Add({}, metrics::buckets::step_seconds());
  auto& ckpt_hist = cat.checkpoint_seconds.Add({}, metrics::buckets::step_seconds());
  auto& allreduce_hist = cat.train_allreduce_seconds.Add({}, allreduce_seconds_buckets());
  auto& world_gauge = cat.train_world_size.Add({});
  int64_t last_samples = job->rec.progress.samples;
  in.emit = [&](EventKind kind, const Progress& p, const std::string& message) {
    if (kind == EventKind::kProgress) {
      steps.Increment();
      samples.Increment(static_cast<double>(p.samples - last_samples));
      last_samples = p.samples;
      step_hist.Observe(p.step_seconds);
      if (p.world_size > 1) allreduce_hist.Observe(p.allreduce_seconds);
      loss_gauge.Set(p.loss);
      lr_gauge.Set(p.learning_rate);
      batch_gauge.Set(static_cast<double>(p.batch_size));
    } else if (kind == EventKind::kCheckpoint) {
      ckpt_hist.Observe(p.checkpoint_seconds);
      // Created at the first checkpoint: a 0 before it would look like a stale checkpoint.
      cat.checkpoint_last_success.Add({}).Set(now_unix());
    }
    JobRecord snapshot;
    bool write = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job->rec.progress = p;
      const auto now = std::chrono::steady_clock::now();
      if (kind != EventKind::kProgress || now - job->last_progress_event >= kProgressEventInterval ||
          p.step >= p.total_steps) {
        if (kind == EventKind::kProgress) job->last_progress_event = now;
        add_event_locked(*job, kind, message, false);
      }
      write = kind == EventKind::kCheckpoint;
      if (write) snapshot = job->rec;
    }
    if (write) persist(snapshot);  // job.json's progress follows the checkpoints
  };

  // Distributed (world_size > 1): this server is rank 0; the attempt's worker slots stay open
  // until every rank joined, and its sessions end when this scope does.
  const int world = static_cast<int>(spec.world_size);
  world_gauge.Set(world);
  std::shared_ptr<Coordinator::Attempt> attempt;
  struct Cleanup {
    Coordinator& coordinator;
    std::shared_ptr<Coordinator::Attempt>& attempt;
    prometheus::Gauge& world;
    std::string outcome = "ended";
    ~Cleanup() {
      if (attempt) coordinator.close(attempt, outcome);
      world.Set(0);
    }
  } cleanup{coordinator_, attempt, world_gauge};
  if (world > 1) {
    DistributedRole role;
    role.rank = 0;
    role.world_size = world;
    role.has_validation = in.validation && in.val_end > in.val_begin;
    role.bucket_bytes = coordinator_.options().bucket_bytes;
    const bool has_validation = role.has_validation;
    role.connect = [this, job, world, has_validation, &in, &attempt, &spec, job_dir](int64_t step) {
      Assignment base;
      base.job = job->rec.id;
      base.world_size = world;
      base.spec_json = to_json(spec).dump();
      base.checkpoint_step = step;
      base.train_rows = in.train_end;
      base.loss = static_cast<int>(in.loss);
      base.input_dtype = static_cast<int>(in.input_dtype);
      base.has_validation = has_validation;
      attempt = coordinator_.open(base, job_dir / ("ckpt-" + std::to_string(step)), in.train,
                                  [this, job](const std::string& m) { note(job, m); });
      const Assignment a = coordinator_.assignment(attempt);
      note(job, "waiting for " + std::to_string(world - 1) + " worker rank(s) to join (attempt " +
                    std::to_string(a.attempt) + ", rendezvous store port " + std::to_string(a.store_port) + ")");
      const auto& o = coordinator_.options();
      dist::GroupOptions g;
      g.store_host = "127.0.0.1";
      g.store_port = a.store_port;
      g.prefix = a.prefix;
      g.rank = 0;
      g.world_size = world;
      g.device_host = o.device_host;
      g.join_timeout = o.join_timeout;
      g.timeout = o.timeout;
      g.abort = [this, job] { return job->cancel.load() || interrupt_.load(); };
      auto group = dist::Group::join(g);
      coordinator_.formed(attempt);
      note(job, "all " + std::to_string(world) + " ranks joined; training from step " + std::to_string(step));
      return group;
    };
    role.explain = [this, &attempt](const std::string& what) { return coordinator_.explain(attempt, what); };
    in.distributed = role;
  }

  TrainOutcome outcome;
  try {
    outcome = run_training(in);
  } catch (const std::exception& e) {
    cleanup.outcome = std::string("failed: ") + e.what();
    throw;
  }
  cleanup.outcome = stop_reason_name(outcome.reason);
  if (outcome.reason == StopReason::kInterrupted) {
    LOG_INFO("job " << job->rec.id << " interrupted at step " << outcome.progress.step << "; it resumes on restart");
    return;  // stays RUNNING on disk, so the next start resumes it
  }
  if (outcome.reason == StopReason::kCancelled) {
    set_state(job, JobState::kCancelled, "cancelled at step " + std::to_string(outcome.progress.step));
    return;
  }
  if (outcome.reason == StopReason::kRankShutdown) {
    // A worker rank is being shut down (e.g. its pod evicted): wait for the ranks again.
    JobRecord snapshot;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;  // this server is stopping too: resume on restart
      job->rec.state = JobState::kQueued;
      ++job->rec.resumes;
      snapshot = job->rec;
    }
    persist(snapshot);
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_front(job->rec.id);
    add_event_locked(*job, EventKind::kState,
                     "a worker rank is shutting down; checkpointed at step " + std::to_string(outcome.progress.step) +
                         ", queued to resume when " + std::to_string(world) + " ranks are back", false);
    update_gauges_locked();
    queue_cv_.notify_one();
    return;
  }
  outcome.model.eval();
  const auto published = models_.publish(job->rec.model, outcome.model, job->rec.inputs, job->rec.outputs,
                                         "training:" + job->rec.id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    JobResult r;
    r.model_name = job->rec.model;
    r.model_version = published.versions.back().version;
    for (const auto& v : published.versions)
      if (v.origin == "training:" + job->rec.id) r.model_version = v.version;
    r.final_loss = outcome.progress.loss;
    r.validation_loss = outcome.progress.validation_loss;
    r.validation_accuracy = outcome.progress.validation_accuracy;
    r.steps = outcome.progress.step;
    r.stop_reason = stop_reason_name(outcome.reason);
    job->rec.result = r;
    job->rec.progress = outcome.progress;
  }
  set_state(job, JobState::kSucceeded,
            "published " + job->rec.model + " version " + std::to_string(job->rec.result->model_version));
}

}  // namespace attune::train

// Crash safety under SIGKILL: 20 runs of mixed work (training jobs with checkpoints, model loads
// and unloads, nowcast ingest), each ended by SIGKILL at a random moment, then a restart. After
// every kill the data dir holds only complete, readable files; after every restart every
// acknowledged model and observation is there, nothing acknowledged as unloaded came back,
// leftovers of interrupted writes are gone and running jobs resumed from a checkpoint at most
// one checkpoint interval behind; at the end every job finishes.
//
// Seeded: ATTUNE_CRASH_SEED=<n> replays a run (the seed is printed); ATTUNE_CRASH_RUNS changes
// the number of runs.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "attune/v1/nowcast_service.grpc.pb.h"
#include "data_dir_check.h"
#include "training_helpers.h"

namespace attune::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kCheckpointEvery = 10;
constexpr int64_t kMaxSteps = 400;
constexpr int kMaxUnfinishedJobs = 3;
constexpr int64_t kT0 = 1'700'000'000;
constexpr int kObsPerMessage = 5;

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoll(v) : fallback;
}

// Observation i of the stream, the same every time it is sent.
v1::Observation observation(int64_t i) {
  v1::Observation o;
  o.set_time(kT0 + 3600 * i);
  (*o.mutable_values())["a"] = std::sin(0.1 * static_cast<double>(i)) + 0.01 * static_cast<double>(i % 7);
  (*o.mutable_values())["b"] = std::cos(0.07 * static_cast<double>(i));
  return o;
}

struct JobTrack {
  int64_t max_seen_step = 0;    // highest step reported before the kill
  int64_t resumes = 0;          // JobMetadata.resumes last seen
  bool running_at_kill = false;
};

// What the clients were told before a kill (acknowledged) and what they sent.
struct Ledger {
  std::mutex mu;
  std::map<std::string, std::set<int64_t>> models;    // acknowledged loads still expected
  std::map<std::string, std::set<int64_t>> unloaded;  // acknowledged unloads
  // Unloads sent but never answered (the server died mid-call): the server may or may not have
  // done them; the restart decides, and either outcome is correct.
  std::map<std::string, std::set<int64_t>> unload_unknown;
  int64_t obs_acked = 0;  // durable count the last Ingest reply reported
  int64_t obs_sent = 0;   // observations written to the stream (acknowledged or not)
  std::map<std::string, JobTrack> jobs;
};

struct Totals {
  int runs = 0, kills = 0, resumes = 0, jobs_finished = 0;
  int64_t steps_lost = 0, max_steps_lost = 0, files_checked = 0, models_verified = 0,
          observations_verified = 0, leftovers_removed = 0, unloads_undone = 0, unloads_kept = 0;
};

class CrashSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = static_cast<uint64_t>(env_int("ATTUNE_CRASH_SEED", static_cast<int64_t>(std::random_device{}() & 0x7fffffff)));
    runs_ = static_cast<int>(env_int("ATTUNE_CRASH_RUNS", 20));
    std::printf("crash safety: seed %llu, %d runs (rerun with ATTUNE_CRASH_SEED=%llu)\n",
                static_cast<unsigned long long>(seed_), runs_, static_cast<unsigned long long>(seed_));
    RecordProperty("seed", std::to_string(seed_));
    rng_.seed(seed_);
    mlp_bytes_ = read_bytes(models_dir() / "mlp/1/model.pt");
  }

  fs::path data() const { return dir_.path() / "data"; }

  void start_server() {
    server_ = std::make_unique<ServerProcess>(data(), std::vector<std::string>{
                                                          "--load-model", "mlp", "--train-workers", "1",
                                                          "--max-queued-jobs", "64", "--max-models", "256"});
    server_->start();
    client_ = std::make_unique<TrainingClient>(*server_);
    nowcast_ = v1::NowcastService::NewStub(server_->channel());
  }

  void first_start() {
    start_server();
    auto [x, y] = synthetic_classes(512, torch::kFloat32);
    ASSERT_TRUE(client_->upload("syn", x, y).ok());
    v1::CreateStreamRequest req;
    auto* c = req.mutable_config();
    c->set_name("obs");
    c->add_variables("a");
    c->add_variables("b");
    c->add_targets("a");
    c->set_resolution_seconds(3600);
    c->mutable_model()->set_kind("ridge");
    c->set_retrain_mode("background");
    v1::NowcastStream out;
    grpc::ClientContext ctx;
    const auto st = nowcast_->CreateStream(with_deadline(&ctx), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // ---- the workload --------------------------------------------------------------------------

  void submit_job_if_room() {
    int unfinished = 0;
    for (const auto& [name, _] : ledger_.jobs) unfinished += client_->get(name).done() ? 0 : 1;
    if (unfinished >= kMaxUnfinishedJobs) return;
    v1::JobSpec s;
    s.mutable_model()->set_name("mlp");
    s.set_dataset("syn");
    s.mutable_optimizer()->set_name("adam");
    s.mutable_optimizer()->set_lr(1e-3);
    s.mutable_batch()->set_size(16);
    s.set_max_steps(kMaxSteps);
    s.set_checkpoint_every_steps(kCheckpointEvery);
    s.set_deterministic(true);
    v1::Job job;
    const auto st = client_->start(s, &job);
    ASSERT_TRUE(st.ok()) << st.error_message();
    std::lock_guard<std::mutex> lock(ledger_.mu);
    ledger_.jobs[job.name()] = JobTrack{};
  }

  void model_worker(std::atomic<bool>& stop, uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto stub = v1::ModelService::NewStub(server_->channel());
    while (!stop) {
      const std::string name = "m" + std::to_string(rng() % 3);
      std::set<int64_t> have;
      {
        std::lock_guard<std::mutex> lock(ledger_.mu);
        have = ledger_.models[name];
      }
      if (have.size() >= 3 && rng() % 2 == 0) {
        const int64_t v = *have.begin();
        v1::UnloadModelRequest req;
        req.set_name(name);
        req.set_version(v);
        v1::UnloadModelResponse resp;
        grpc::ClientContext ctx;
        const bool ok = stub->UnloadModel(with_deadline(&ctx, 10), req, &resp).ok();
        std::lock_guard<std::mutex> lock(ledger_.mu);
        ledger_.models[name].erase(v);
        (ok ? ledger_.unloaded : ledger_.unload_unknown)[name].insert(v);
        if (!ok) return;  // the server is gone (nothing else fails here); stop until the restart
        continue;
      }
      v1::LoadModelRequest req;
      req.set_name(name);
      req.set_torchscript(mlp_bytes_);
      v1::Model resp;
      grpc::ClientContext ctx;
      if (stub->LoadModel(with_deadline(&ctx, 10), req, &resp).ok()) {
        int64_t newest = 0;
        for (const auto& v : resp.versions())
          if (v.state() == v1::READY) newest = std::max(newest, v.version());
        std::lock_guard<std::mutex> lock(ledger_.mu);
        ledger_.models[name].insert(newest);
      } else {
        return;  // the server is gone: an unanswered load may or may not be there after the restart
      }
    }
  }

  void ingest_worker(std::atomic<bool>& stop) {
    grpc::ClientContext ctx;
    with_deadline(&ctx, 60);
    auto call = nowcast_->Ingest(&ctx);
    int64_t next;
    {
      std::lock_guard<std::mutex> lock(ledger_.mu);
      next = ledger_.obs_sent;
    }
    while (!stop) {
      v1::IngestRequest req;
      req.set_stream("obs");
      for (int k = 0; k < kObsPerMessage; ++k) *req.add_observations() = observation(next + k);
      {
        std::lock_guard<std::mutex> lock(ledger_.mu);
        ledger_.obs_sent = next + kObsPerMessage;
      }
      if (!call->Write(req)) break;
      v1::IngestResponse resp;
      if (!call->Read(&resp)) break;
      next += kObsPerMessage;
      std::lock_guard<std::mutex> lock(ledger_.mu);
      ledger_.obs_acked = resp.observations();
    }
    ctx.TryCancel();
    (void)call->Finish();
  }

  void job_watcher(std::atomic<bool>& stop) {
    while (!stop) {
      std::vector<std::string> names;
      {
        std::lock_guard<std::mutex> lock(ledger_.mu);
        for (const auto& [n, _] : ledger_.jobs) names.push_back(n);
      }
      for (const auto& n : names) {
        v1::GetJobRequest req;
        req.set_name(n);
        v1::Job job;
        grpc::ClientContext ctx;
        if (!client_->training->GetJob(with_deadline(&ctx, 5), req, &job).ok()) continue;
        std::lock_guard<std::mutex> lock(ledger_.mu);
        auto& t = ledger_.jobs[n];
        t.max_seen_step = std::max(t.max_seen_step, job.metadata().step());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // ---- checks --------------------------------------------------------------------------------

  // Server dead: every file that is not a leftover of an interrupted write is complete.
  void check_after_kill(int run) {
    const auto r = inspect_data_dir(data(), /*allow_job_staging=*/true);
    totals_.files_checked += r.files_checked;
    EXPECT_TRUE(r.corrupt.empty()) << "run " << run << ": corrupt files after SIGKILL:\n" << join(r.corrupt);
    totals_.leftovers_removed += static_cast<int64_t>(r.leftovers.size());
    kill_leftovers_ = r.leftovers;

    // Steps lost: the checkpoint a job resumes from vs the newest step it reported. A job is
    // resumed when its job.json says RUNNING (what the server itself goes by).
    std::lock_guard<std::mutex> lock(ledger_.mu);
    for (auto& [name, t] : ledger_.jobs) {
      const fs::path job_dir = data() / "jobs" / name.substr(5);
      t.running_at_kill = false;
      try {
        t.running_at_kill = nlohmann::json::parse(read_bytes(job_dir / "job.json")).at("state").get<int>() ==
                            static_cast<int>(v1::JOB_RUNNING);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "run " << run << ": " << name << "/job.json: " << e.what();
      }
      const fs::path current = job_dir / "CURRENT";
      if (!t.running_at_kill || !fs::exists(current)) continue;
      const std::string ckpt = read_bytes(current);
      const int64_t resume_step = std::stoll(ckpt.substr(ckpt.find('-') + 1));
      const int64_t lost = std::max<int64_t>(0, t.max_seen_step - resume_step);
      EXPECT_LE(lost, kCheckpointEvery) << "run " << run << ": job " << name << " reported step "
                                        << t.max_seen_step << " but resumes from " << ckpt;
      totals_.steps_lost += lost;
      totals_.max_steps_lost = std::max(totals_.max_steps_lost, lost);
    }
  }

  // Server restarted: everything acknowledged is back, the leftovers the kill left are gone, jobs
  // resumed. The server is live meanwhile (resumed jobs write and prune checkpoints and may publish
  // a model through a staging folder), so new temporaries of its own are not judged here, nor is
  // jobs/; both are judged while the server is down (after each kill and at the end).
  void check_after_restart(int run) {
    std::vector<std::string> remaining;
    for (const auto& rel : kill_leftovers_)
      if (fs::exists(data() / rel)) remaining.push_back(rel);
    EXPECT_TRUE(remaining.empty()) << "run " << run << ": leftovers of the kill still there after the restart:\n"
                                   << join(remaining);
    kill_leftovers_.clear();
    const auto r = inspect_data_dir(data(), /*allow_job_staging=*/true, /*include_jobs=*/false);
    EXPECT_TRUE(r.corrupt.empty()) << "run " << run << ": corrupt files after the restart:\n" << join(r.corrupt);

    std::lock_guard<std::mutex> lock(ledger_.mu);
    for (const auto& [name, versions] : ledger_.models) {
      v1::GetModelRequest req;
      req.set_name(name);
      v1::Model m;
      grpc::ClientContext ctx;
      const auto st = client_->models->GetModel(with_deadline(&ctx), req, &m);
      if (versions.empty() && !st.ok()) continue;
      ASSERT_TRUE(st.ok()) << "run " << run << ": model " << name << ": " << st.error_message();
      std::map<int64_t, v1::ModelState> state;
      for (const auto& v : m.versions()) state[v.version()] = v.state();
      for (int64_t v : versions) {
        EXPECT_EQ(state.count(v) ? state[v] : v1::MODEL_STATE_UNSPECIFIED, v1::READY)
            << "run " << run << ": acknowledged " << name << " version " << v << " is not READY after the restart";
        ++totals_.models_verified;
      }
      for (int64_t v : ledger_.unloaded[name])
        EXPECT_EQ(state.count(v), 0u) << "run " << run << ": unloaded " << name << " version " << v << " came back";
    }
    // Unanswered unloads: the version is either still READY (the kill came first) or gone.
    for (const auto& [name, versions] : ledger_.unload_unknown) {
      v1::GetModelRequest req;
      req.set_name(name);
      v1::Model m;
      grpc::ClientContext ctx;
      const auto st = client_->models->GetModel(with_deadline(&ctx), req, &m);
      ASSERT_TRUE(st.ok() || st.error_code() == grpc::StatusCode::NOT_FOUND) << st.error_message();
      std::map<int64_t, v1::ModelState> state;
      for (const auto& v : m.versions()) state[v.version()] = v.state();
      for (int64_t v : versions) {
        if (!state.count(v)) {
          ledger_.unloaded[name].insert(v);
          ++totals_.unloads_undone;
          continue;
        }
        EXPECT_EQ(state[v], v1::READY) << "run " << run << ": " << name << " version " << v
                                       << " survived an unanswered unload but is not READY";
        ledger_.models[name].insert(v);
        ++totals_.unloads_kept;
      }
    }
    ledger_.unload_unknown.clear();

    v1::GetStreamRequest req;
    req.set_name("obs");
    v1::NowcastStream s;
    grpc::ClientContext ctx;
    const auto st = nowcast_->GetStream(with_deadline(&ctx), req, &s);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_GE(s.observations(), ledger_.obs_acked) << "run " << run << ": acknowledged observations lost";
    EXPECT_LE(s.observations(), ledger_.obs_sent) << "run " << run << ": more observations than were sent";
    if (s.observations() > 0)
      EXPECT_EQ(s.last_time(), kT0 + 3600 * (s.observations() - 1)) << "run " << run;
    totals_.observations_verified = ledger_.obs_acked;
    // The next run continues right after what is durable (an unacknowledged tail may or may not be).
    ledger_.obs_sent = ledger_.obs_acked = s.observations();

    for (auto& [name, t] : ledger_.jobs) {
      const auto job = client_->get(name);
      if (t.running_at_kill) {
        EXPECT_EQ(job.metadata().resumes(), t.resumes + 1) << "run " << run << ": job " << name << " did not resume";
        ++totals_.resumes;
      }
      t.running_at_kill = false;
      t.resumes = job.metadata().resumes();
      t.max_seen_step = job.metadata().step();
    }
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<TrainingClient> client_;
  std::unique_ptr<v1::NowcastService::Stub> nowcast_;
  std::string mlp_bytes_;
  uint64_t seed_ = 0;
  int runs_ = 20;
  std::mt19937_64 rng_;
  Ledger ledger_;
  Totals totals_;
  std::vector<std::string> kill_leftovers_;  // what the last kill left, relative to data()
};

TEST_F(CrashSafety, SigkillAtRandomMomentsLosesNothingAcknowledged) {
  ASSERT_NO_FATAL_FAILURE(first_start());
  std::uniform_int_distribution<int> delay_ms(250, 2500);
  for (int run = 1; run <= runs_; ++run) {
    if (run > 1) {
      start_server();
      ASSERT_NO_FATAL_FAILURE(check_after_restart(run - 1)) << server_->log();
    }
    ASSERT_NO_FATAL_FAILURE(submit_job_if_room());
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    workers.emplace_back([&, s = rng_()] { model_worker(stop, s); });
    workers.emplace_back([&] { ingest_worker(stop); });
    workers.emplace_back([&] { job_watcher(stop); });
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng_)));
    EXPECT_EQ(server_->kill9(), -9);
    stop = true;
    for (auto& w : workers) w.join();
    ++totals_.kills;
    ++totals_.runs;
    check_after_kill(run);
    if (HasFatalFailure() || ::testing::Test::HasFailure()) {
      std::printf("server log of the failing run:\n%s\n", server_->log().c_str());
      break;
    }
  }

  // Last start: nothing is killed any more; every job runs to its end.
  start_server();
  ASSERT_NO_FATAL_FAILURE(check_after_restart(runs_));
  for (const auto& [name, _] : ledger_.jobs) {
    const auto job = client_->wait_until(name, [](const v1::Job& j) { return j.done(); }, 240);
    ASSERT_TRUE(job.done()) << name << " did not finish";
    EXPECT_EQ(job.metadata().state(), v1::JOB_SUCCEEDED) << name << ": " << job.error().message();
    EXPECT_EQ(job.response().steps(), kMaxSteps) << name;
    // The published version is hosted.
    v1::GetModelRequest req;
    req.set_name(job.response().model_name());
    v1::Model m;
    grpc::ClientContext ctx;
    ASSERT_TRUE(client_->models->GetModel(with_deadline(&ctx), req, &m).ok());
    bool found = false;
    for (const auto& v : m.versions()) found |= v.version() == job.response().model_version() && v.state() == v1::READY;
    EXPECT_TRUE(found) << name << ": published version " << job.response().model_version() << " is not READY";
    ++totals_.jobs_finished;
  }
  EXPECT_EQ(server_->stop(SIGTERM), 0);
  const auto final_report = inspect_data_dir(data(), /*allow_job_staging=*/false);
  EXPECT_TRUE(final_report.leftovers.empty()) << "leftovers once every job finished:\n" << join(final_report.leftovers);
  EXPECT_TRUE(final_report.corrupt.empty()) << join(final_report.corrupt);

  std::printf(
      "crash safety (seed %llu): %d runs, %d SIGKILLs, %d job resumes, %d jobs finished, %lld steps lost in "
      "total (max %lld per resume, checkpoint interval %lld), %lld acknowledged model versions and %lld "
      "acknowledged observations verified, %lld files verified intact, %lld leftovers of interrupted writes "
      "seen after kills (all gone after restarts), %lld unanswered unloads (%lld done, %lld not)\n",
      static_cast<unsigned long long>(seed_), totals_.runs, totals_.kills, totals_.resumes, totals_.jobs_finished,
      static_cast<long long>(totals_.steps_lost), static_cast<long long>(totals_.max_steps_lost),
      static_cast<long long>(kCheckpointEvery), static_cast<long long>(totals_.models_verified),
      static_cast<long long>(totals_.observations_verified), static_cast<long long>(totals_.files_checked),
      static_cast<long long>(totals_.leftovers_removed),
      static_cast<long long>(totals_.unloads_undone + totals_.unloads_kept),
      static_cast<long long>(totals_.unloads_undone), static_cast<long long>(totals_.unloads_kept));
  RecordProperty("runs", totals_.runs);
  RecordProperty("kills", totals_.kills);
  RecordProperty("resumes", totals_.resumes);
  RecordProperty("steps_lost", static_cast<int>(totals_.steps_lost));
  RecordProperty("observations_verified", static_cast<int>(totals_.observations_verified));
}

}  // namespace
}  // namespace attune::test

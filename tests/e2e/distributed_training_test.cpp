// Distributed data-parallel training (c10d + Gloo) with every rank a separate process on
// loopback: rank 0 is the attune-server that accepted the job, ranks 1..W−1 are
// `attune-server --worker` processes. Deterministic jobs at world size 2 and 3 end with the
// parameters of the same job in one process (float ≤ 1e-6; double to the last bits the changed
// summation order allows), every rank holds bit-identical parameters, AdAdaGrad grows the batch
// as in one process, a killed rank fails the job quickly with an error naming it, and the
// restarted job resumes from its checkpoint to the bit-identical result of an uninterrupted run.
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "training_helpers.h"

namespace attune::test {
namespace {

using Clock = std::chrono::steady_clock;

// Rank 0 with short distributed timeouts (the defaults are minutes).
std::vector<std::string> rank0_flags(const std::string& model, const std::string& join_timeout = "60") {
  return {"--load-model", model, "--dist-host", "127.0.0.1", "--dist-timeout-seconds", "10",
          "--dist-join-timeout-seconds", join_timeout};
}

std::vector<std::string> worker_flags(const ServerProcess& rank0) {
  return {"--worker", "--coordinator", rank0.address(), "--dist-host", "127.0.0.1"};
}

// A deterministic job on 500 rows in batches of 48: each epoch ends with a partial batch of 20,
// so the shards of three ranks are uneven (16/16/16, then 6/7/7).
v1::JobSpec deterministic_job(const std::string& model, const std::string& optimizer, int64_t world,
                              int64_t steps, const std::string& publish) {
  v1::JobSpec s;
  s.mutable_model()->set_name(model);
  s.set_dataset("syn");
  s.mutable_optimizer()->set_name(optimizer);
  s.mutable_optimizer()->set_lr(optimizer == "sgd" ? 0.05 : 5e-3);
  s.mutable_batch()->set_size(48);
  s.set_max_steps(steps);
  s.set_checkpoint_every_steps(20);
  s.mutable_schedule()->set_kind(v1::ScheduleSpec::WARMUP_COSINE);
  s.mutable_schedule()->set_warmup_steps(5);
  s.set_clip_grad_norm(5.0);
  s.set_seed(11);
  s.set_deterministic(true);
  s.set_world_size(world);
  s.set_publish_name(publish);
  return s;
}

struct Run {
  v1::Job job;
  std::vector<v1::JobEvent> events;
  torch::Tensor params;
};

Run train(TrainingClient& c, const v1::JobSpec& spec) {
  Run r;
  v1::Job started;
  const auto s = c.start(spec, &started);
  if (!s.ok()) throw std::runtime_error("StartTraining: " + s.error_message());
  r.events = c.watch(started.name(), 300);
  if (r.events.empty() || !r.events.back().done()) throw std::runtime_error("watch ended early");
  r.job = r.events.back().job();
  if (r.job.metadata().state() == v1::JOB_SUCCEEDED)
    r.params = flat_parameters(c.export_model(r.job.response().model_name(), r.job.response().model_version()));
  return r;
}

std::string event_messages(const std::vector<v1::JobEvent>& events) {
  std::string out;
  for (const auto& e : events)
    if (!e.message().empty()) out += e.message() + "\n";
  return out;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// The fingerprint rank 0 announced once every rank compared parameters.
std::string fingerprint_of(const std::vector<v1::JobEvent>& events) {
  std::smatch m;
  const std::string text = event_messages(events);
  if (std::regex_search(text, m, std::regex("ranks hold identical parameters \\(fingerprint ([0-9a-f]{16})\\)")))
    return m[1];
  return "";
}

class Cluster {
 public:
  Cluster(const std::string& model, int workers, const std::string& join_timeout = "60")
      : rank0_(dir_.path() / "rank0", rank0_flags(model, join_timeout)) {
    rank0_.start();
    for (int w = 0; w < workers; ++w) add_worker();
  }
  ServerProcess& rank0() { return rank0_; }
  ServerProcess& worker(size_t i) { return *workers_.at(i); }
  ServerProcess& add_worker() {
    workers_.push_back(std::make_unique<ServerProcess>(dir_.path() / ("worker" + std::to_string(next_++)),
                                                       worker_flags(rank0_)));
    workers_.back()->start();
    return *workers_.back();
  }
  std::string logs() {
    std::string out = "---- rank 0\n" + rank0_.log();
    for (size_t i = 0; i < workers_.size(); ++i) out += "---- worker " + std::to_string(i) + "\n" + workers_[i]->log();
    return out;
  }

 private:
  TempDir dir_;
  ServerProcess rank0_;
  std::vector<std::unique_ptr<ServerProcess>> workers_;
  int next_ = 0;
};

// Two workers serve one job after another: world size 1 (rank 0 alone), 2 and 3, for every
// optimizer attune offers, in double; then float.
TEST(DistributedTraining, TwoAndThreeRanksEqualOneProcessForEveryOptimizer) {
  Cluster cluster("mlp64", 2);
  TrainingClient c(cluster.rank0());
  const auto [x, y] = synthetic_classes(500, torch::kFloat64);
  ASSERT_TRUE(c.upload("syn", x, y).ok());

  for (const std::string opt : {"exadam", "adan", "adabelief", "adam", "adamw", "sgd", "adagrad", "adagradnorm"}) {
    SCOPED_TRACE(opt);
    const auto one = train(c, deterministic_job("mlp64", opt, 1, 24, opt + "_1"));
    ASSERT_EQ(one.job.metadata().state(), v1::JOB_SUCCEEDED) << one.job.error().message();
    for (int64_t world : {2, 3}) {
      if (world == 3 && opt != "exadam" && opt != "adagradnorm") continue;  // CI time: two at three ranks
      const auto many = train(c, deterministic_job("mlp64", opt, world, 24, opt + "_" + std::to_string(world)));
      ASSERT_EQ(many.job.metadata().state(), v1::JOB_SUCCEEDED) << many.job.error().message() << cluster.logs();
      EXPECT_EQ(many.job.response().steps(), 24);
      EXPECT_EQ(many.job.metadata().world_size(), world);
      // WatchJob's view is global: the loss of the whole last batch, every rank's samples.
      EXPECT_NEAR(many.job.metadata().loss(), one.job.metadata().loss(), 1e-12);
      EXPECT_EQ(many.job.metadata().samples(), one.job.metadata().samples());
      EXPECT_EQ(many.job.metadata().batch_size(), one.job.metadata().batch_size());
      EXPECT_FALSE(fingerprint_of(many.events).empty()) << event_messages(many.events);
      const double diff = max_abs_diff(many.params, one.params);
      std::cout << "[ measured ] " << opt << " double, world size " << world << ": max |Δθ| = " << diff
                << " over " << one.params.numel() << " parameters after 24 steps\n";
      // The sum over a global batch becomes a sum of per-rank sums: a few ulps per step.
      EXPECT_LE(diff, 1e-12);
      EXPECT_GT(max_abs_diff(many.params, flat_parameters(read_bytes(models_dir() / "mlp64/1/model.pt"))), 1e-3)
          << "the job did not train";
    }
  }

  // Float: the same model in float32 on float32 rows.
  ASSERT_TRUE(c.load_repository("mlp", "mlp").ok());
  const auto [xf, yf] = synthetic_classes(500, torch::kFloat32);
  ASSERT_TRUE(c.upload("synf", xf, yf).ok());
  auto float_job = [&](int64_t world) {
    auto s = deterministic_job("mlp", "adamw", world, 60, "f" + std::to_string(world));
    s.set_dataset("synf");
    return s;
  };
  const auto one = train(c, float_job(1));
  ASSERT_EQ(one.job.metadata().state(), v1::JOB_SUCCEEDED) << one.job.error().message();
  for (int64_t world : {2, 3}) {
    const auto many = train(c, float_job(world));
    ASSERT_EQ(many.job.metadata().state(), v1::JOB_SUCCEEDED) << many.job.error().message();
    const double diff = max_abs_diff(many.params, one.params);
    std::cout << "[ measured ] adamw float, world size " << world << ": max |Δθ| = " << diff << " after 60 steps\n";
    EXPECT_LE(diff, 1e-6);
  }

  // Every rank's metrics: world size and all-reduce times on rank 0 and on a worker.
  for (auto* p : {&cluster.rank0(), &cluster.worker(0)}) {
    const std::string m = "\n" + http_get(p->metrics_port(), "/metrics");
    EXPECT_NE(m.find("\nattune_train_world_size "), std::string::npos);
    std::smatch count;
    ASSERT_TRUE(std::regex_search(m, count, std::regex("\nattune_train_allreduce_seconds_count (\\d+)"))) << m;
    EXPECT_GT(std::stoll(count[1]), 0);
  }
}

// Global batch statistics: each rank's per-sample moments are all-reduced in sum form (law of
// total variance), so every rank takes the batch-size decisions one process takes.
TEST(DistributedTraining, AdAdaGradGrowsTheBatchAsInOneProcess) {
  Cluster cluster("mlp64", 1);
  TrainingClient c(cluster.rank0());
  const auto [x, y] = synthetic_classes(256, torch::kFloat64);
  ASSERT_TRUE(c.upload("syn", x, y).ok());
  for (auto test : {v1::BatchSpec::NORM, v1::BatchSpec::INNER_PRODUCT_ORTHOGONALITY}) {
    SCOPED_TRACE(test);
    std::vector<std::vector<std::pair<int64_t, int64_t>>> growth;
    for (int64_t world : {1, 2}) {
      auto spec = deterministic_job("mlp64", "adagrad", world, 12, "ada" + std::to_string(world) + "_" + std::to_string(test));
      spec.mutable_optimizer()->set_lr(0.1);
      spec.clear_schedule();
      spec.set_clip_grad_norm(0);
      spec.mutable_batch()->set_size(4);
      spec.mutable_batch()->set_policy(v1::BatchSpec::ADADAGRAD);
      spec.mutable_batch()->set_test(test);
      spec.mutable_batch()->set_eta(1.0);
      spec.mutable_batch()->set_theta(1.0);
      spec.mutable_batch()->set_nu(1.0);
      spec.mutable_batch()->set_max_batch_size(128);
      const auto r = train(c, spec);
      ASSERT_EQ(r.job.metadata().state(), v1::JOB_SUCCEEDED) << r.job.error().message() << cluster.logs();
      growth.emplace_back();
      for (const auto& e : r.events)
        if (e.kind() == v1::JobEvent::BATCH_SIZE) growth.back().emplace_back(e.metadata().step(), e.metadata().batch_size());
    }
    ASSERT_FALSE(growth[0].empty()) << "no growth in one process; the comparison would prove nothing";
    EXPECT_EQ(growth[1], growth[0]);
  }
}

// A worker killed mid-job: rank 0's next all-reduce fails at once (the peer's sockets close),
// the job fails naming the rank, no process hangs; a new worker and RestartJob resume the job
// from its last checkpoint, and it ends bit-identical (double) to an uninterrupted run.
TEST(DistributedTraining, KilledRankFailsTheJobAndRestartResumesBitIdentically) {
  Cluster cluster("mlp64", 1);
  TrainingClient c(cluster.rank0());
  const auto [x, y] = synthetic_classes(500, torch::kFloat64);
  ASSERT_TRUE(c.upload("syn", x, y).ok());
  auto spec = deterministic_job("mlp64", "exadam", 2, 2500, "straight");
  spec.set_checkpoint_every_steps(100);
  const auto straight = train(c, spec);
  ASSERT_EQ(straight.job.metadata().state(), v1::JOB_SUCCEEDED) << straight.job.error().message() << cluster.logs();

  spec.set_publish_name("resumed");
  v1::Job job;
  ASSERT_TRUE(c.start(spec, &job).ok());
  const auto at = c.wait_until(job.name(), [](const v1::Job& j) { return j.metadata().checkpoint_step() >= 300 || j.done(); });
  ASSERT_FALSE(at.done()) << "the job ended before the kill";
  const auto killed = Clock::now();
  EXPECT_EQ(cluster.worker(0).kill9(), -SIGKILL);
  const auto failed = c.wait_until(job.name(), [](const v1::Job& j) { return j.done(); }, 60);
  const double seconds = std::chrono::duration<double>(Clock::now() - killed).count();
  std::cout << "[ measured ] the job failed " << seconds << " s after the worker was killed\n";
  ASSERT_EQ(failed.metadata().state(), v1::JOB_FAILED);
  const std::string error = failed.error().message();
  EXPECT_EQ(failed.error().code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(error.find("rank 1 ("), std::string::npos) << error;
  EXPECT_NE(error.find("left"), std::string::npos) << error;
  EXPECT_NE(error.find("the last checkpoint is at step"), std::string::npos) << error;
  EXPECT_LT(seconds, 10.0) << "within the collective timeout (10 s)";
  const int64_t checkpoint = failed.metadata().checkpoint_step();
  EXPECT_GE(checkpoint, 300);
  EXPECT_LT(checkpoint, 2500);

  // Restarting without a second rank waits for one; a new worker joins and the job resumes.
  v1::RestartJobRequest req;
  req.set_name(job.name());
  v1::Job restarted;
  grpc::ClientContext ctx;
  ASSERT_TRUE(c.training->RestartJob(with_deadline(&ctx), req, &restarted).ok());
  EXPECT_EQ(restarted.metadata().state(), v1::JOB_QUEUED);
  cluster.add_worker();
  const auto events = c.watch(job.name(), 300);
  ASSERT_FALSE(events.empty());
  const auto done = events.back().job();
  ASSERT_EQ(done.metadata().state(), v1::JOB_SUCCEEDED) << done.error().message() << cluster.logs();
  EXPECT_EQ(done.metadata().resumes(), 1);
  EXPECT_EQ(done.response().steps(), 2500);
  const std::string messages = event_messages(events);
  EXPECT_NE(messages.find("training from step " + std::to_string(checkpoint)), std::string::npos) << messages;
  const auto resumed = flat_parameters(c.export_model("resumed", done.response().model_version()));
  EXPECT_TRUE(torch::equal(resumed, straight.params)) << max_abs_diff(resumed, straight.params);
  EXPECT_EQ(fingerprint_of(events), fingerprint_of(straight.events));

  // A restart is for ended jobs only.
  grpc::ClientContext ctx2;
  EXPECT_EQ(c.training->RestartJob(with_deadline(&ctx2), req, &restarted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// Too few ranks: the job fails after the join timeout, naming the missing rank; a cancelled
// distributed job stops every rank.
TEST(DistributedTraining, MissingRankTimesOutAndCancelStopsEveryRank) {
  Cluster cluster("mlp64", 1, "3");
  TrainingClient c(cluster.rank0());
  const auto [x, y] = synthetic_classes(500, torch::kFloat64);
  ASSERT_TRUE(c.upload("syn", x, y).ok());

  const auto t0 = Clock::now();
  const auto lonely = train(c, deterministic_job("mlp64", "adam", 3, 10, "lonely"));
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 30);
  ASSERT_EQ(lonely.job.metadata().state(), v1::JOB_FAILED);
  const std::string error = lonely.job.error().message();
  EXPECT_NE(error.find("only 2 of 3 ranks joined within 3 s (missing rank(s) 2)"), std::string::npos) << error;

  // The worker is free again: a world-size-2 job runs, then is cancelled mid-way.
  v1::Job job;
  ASSERT_TRUE(c.start(deterministic_job("mlp64", "adam", 2, 1000000, "cancelled"), &job).ok());
  c.wait_until(job.name(), [](const v1::Job& j) { return j.metadata().step() >= 50; });
  v1::CancelJobRequest req;
  req.set_name(job.name());
  grpc::ClientContext ctx;
  ASSERT_TRUE(c.training->CancelJob(with_deadline(&ctx), req, &job).ok());
  const auto done = c.wait_until(job.name(), [](const v1::Job& j) { return j.done(); }, 60);
  EXPECT_EQ(done.metadata().state(), v1::JOB_CANCELLED);
  EXPECT_EQ(done.metadata().checkpoint_step(), done.metadata().step());
  // The worker left the job after the same step and serves the next one.
  const auto next = train(c, deterministic_job("mlp64", "adam", 2, 10, "after_cancel"));
  EXPECT_EQ(next.job.metadata().state(), v1::JOB_SUCCEEDED) << next.job.error().message() << cluster.logs();
}

}  // namespace
}  // namespace attune::test

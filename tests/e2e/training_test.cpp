// Training over gRPC against a live server: jobs train a private copy and publish a new version,
// progress streams, cancellation, a bounded queue, resume after SIGKILL with identical results,
// online TrainStream equal to an in-process loop, and AdAdaGrad batch growth equal to the
// optimizer library's prediction.
#include <gtest/gtest.h>

#include <sstream>

#include "kserve_helpers.h"
#include "optim/adadagrad/batch_policy.h"
#include "optim/factory.h"
#include "optim/param_groups.h"
#include "training_helpers.h"

namespace attune::test {
namespace {

v1::JobSpec mlp_job(const std::string& model, const std::string& dataset) {
  v1::JobSpec s;
  s.mutable_model()->set_name(model);
  s.set_dataset(dataset);
  s.mutable_optimizer()->set_name("adan");
  s.mutable_optimizer()->set_lr(0.01);
  s.mutable_batch()->set_size(32);
  s.set_epochs(5);
  s.set_checkpoint_every_steps(10);
  return s;
}

torch::Tensor forward_bytes(const std::string& bytes, const torch::Tensor& x) {
  std::istringstream in(bytes);
  auto m = torch::jit::load(in);
  m.eval();
  torch::NoGradGuard g;
  return m.forward({x}).toTensor();
}

torch::Tensor infer(ServerProcess& server, const std::string& model, const torch::Tensor& x,
                    const std::string& version = "") {
  auto stub = inference::GRPCInferenceService::NewStub(server.channel());
  auto req = infer_request(model, "input", x);
  req.set_model_version(version);
  inference::ModelInferResponse r;
  grpc::ClientContext ctx;
  auto s = stub->ModelInfer(with_deadline(&ctx), req, &r);
  if (!s.ok()) throw std::runtime_error(s.error_message());
  return output_tensor(r);
}

TEST(Training, UploadTrainWatchAndTheNewVersionServes) {
  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--load-model", "mlp"});
  server.start();
  TrainingClient c(server);
  auto [x, y] = synthetic_classes(512, torch::kFloat32);
  v1::Dataset d;
  ASSERT_TRUE(c.upload("syn", x, y, &d).ok());
  EXPECT_EQ(d.samples(), 512);
  EXPECT_EQ(d.classes(), 4);

  auto spec = mlp_job("mlp", "syn");
  spec.set_validation_split(0.25);
  v1::Job job;
  ASSERT_TRUE(c.start(spec, &job).ok());
  EXPECT_EQ(job.metadata().state(), v1::JOB_QUEUED);
  EXPECT_FALSE(job.done());
  const auto events = c.watch(job.name());
  ASSERT_FALSE(events.empty());
  const auto& last = events.back();
  ASSERT_TRUE(last.done());
  ASSERT_EQ(last.job().metadata().state(), v1::JOB_SUCCEEDED) << last.job().error().message();
  const int64_t steps_per_epoch = (384 + 31) / 32;
  EXPECT_EQ(last.job().response().steps(), 5 * steps_per_epoch);
  EXPECT_EQ(last.job().response().model_version(), 2);
  EXPECT_EQ(last.job().response().stop_reason(), "completed");

  std::vector<double> validation_losses;
  int64_t last_step = -1, checkpoints = 0;
  for (const auto& e : events) {
    if (e.kind() == v1::JobEvent::PROGRESS) {
      EXPECT_GT(e.metadata().step(), last_step);  // progress only moves forward
      last_step = e.metadata().step();
      EXPECT_GT(e.metadata().learning_rate(), 0);
      EXPECT_EQ(e.metadata().batch_size(), 32);
    }
    if (e.kind() == v1::JobEvent::VALIDATION) validation_losses.push_back(e.metadata().validation_loss());
    if (e.kind() == v1::JobEvent::CHECKPOINT) ++checkpoints;
  }
  ASSERT_EQ(validation_losses.size(), 5u);  // once per epoch
  EXPECT_LT(validation_losses.back(), validation_losses.front());
  EXPECT_GT(last.job().response().validation_accuracy(), 0.5);  // 4 classes: chance is 0.25
  EXPECT_GE(checkpoints, 5 * steps_per_epoch / 10);

  // v2 serves by default and equals its exported weights; v1 is untouched.
  const auto probe = x.narrow(0, 0, 16);
  const std::string v2 = c.export_model("mlp", 2);
  EXPECT_TRUE(torch::allclose(infer(server, "mlp", probe), forward_bytes(v2, probe), 0, 1e-6));
  const auto original = forward_bytes(read_bytes(models_dir() / "mlp/1/model.pt"), probe);
  EXPECT_TRUE(torch::allclose(infer(server, "mlp", probe, "1"), original, 0, 1e-6));
  EXPECT_FALSE(torch::allclose(infer(server, "mlp", probe, "2"), original, 0, 1e-3));

  const std::string metrics = "\n" + http_get(server.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("\nattune_train_steps_total{model=\"mlp\"} " + std::to_string(5 * steps_per_epoch)),
            std::string::npos);
  EXPECT_NE(metrics.find("\nattune_train_jobs{state=\"succeeded\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("\nattune_checkpoint_last_success_timestamp_seconds "), std::string::npos);
  EXPECT_NE(metrics.find("\nattune_train_learning_rate{model=\"mlp\"} "), std::string::npos);
}

TEST(Training, CancelStopsWithACheckpointAndPublishesNothing) {
  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--load-model", "mlp"});
  server.start();
  TrainingClient c(server);
  auto [x, y] = synthetic_classes(512, torch::kFloat32);
  ASSERT_TRUE(c.upload("syn", x, y).ok());
  const auto before = infer(server, "mlp", x.narrow(0, 0, 8));
  auto spec = mlp_job("mlp", "syn");
  spec.set_epochs(100000);
  v1::Job job;
  ASSERT_TRUE(c.start(spec, &job).ok());
  c.wait_until(job.name(), [](const v1::Job& j) { return j.metadata().step() >= 20; });
  // The serving model keeps answering, unchanged, while a copy trains.
  EXPECT_TRUE(torch::equal(infer(server, "mlp", x.narrow(0, 0, 8)), before));
  {
    v1::CancelJobRequest req;
    req.set_name(job.name());
    grpc::ClientContext ctx;
    ASSERT_TRUE(c.training->CancelJob(with_deadline(&ctx), req, &job).ok());
  }
  const auto done = c.wait_until(job.name(), [](const v1::Job& j) { return j.done(); }, 60);
  EXPECT_EQ(done.metadata().state(), v1::JOB_CANCELLED);
  EXPECT_EQ(done.metadata().checkpoint_step(), done.metadata().step());  // final checkpoint
  EXPECT_FALSE(done.has_response());
  v1::GetModelRequest req;
  req.set_name("mlp");
  v1::Model m;
  grpc::ClientContext ctx;
  ASSERT_TRUE(c.models->GetModel(with_deadline(&ctx), req, &m).ok());
  EXPECT_EQ(m.versions_size(), 1);
  // Cancelling an ended job is a precondition failure.
  v1::CancelJobRequest again;
  again.set_name(job.name());
  grpc::ClientContext ctx2;
  EXPECT_EQ(c.training->CancelJob(with_deadline(&ctx2), again, &job).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST(Training, FullQueueIsResourceExhausted) {
  TempDir dir;
  ServerProcess server(dir.path() / "data",
                       {"--load-model", "mlp", "--train-workers", "1", "--max-queued-jobs", "1"});
  server.start();
  TrainingClient c(server);
  auto [x, y] = synthetic_classes(256, torch::kFloat32);
  ASSERT_TRUE(c.upload("syn", x, y).ok());
  auto spec = mlp_job("mlp", "syn");
  spec.set_epochs(100000);
  v1::Job a, b, third;
  ASSERT_TRUE(c.start(spec, &a).ok());
  c.wait_until(a.name(), [](const v1::Job& j) { return j.metadata().state() == v1::JOB_RUNNING; });
  ASSERT_TRUE(c.start(spec, &b).ok());
  const auto s = c.start(spec, &third);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("training queue is full: 1 jobs waiting"), std::string::npos) << s.error_message();
  for (const auto& j : {b, a}) {
    v1::CancelJobRequest req;
    req.set_name(j.name());
    v1::Job out;
    grpc::ClientContext ctx;
    ASSERT_TRUE(c.training->CancelJob(with_deadline(&ctx), req, &out).ok());
  }
  EXPECT_EQ(c.wait_until(b.name(), [](const v1::Job& j) { return j.done(); }).metadata().state(), v1::JOB_CANCELLED);
  EXPECT_EQ(c.wait_until(a.name(), [](const v1::Job& j) { return j.done(); }).metadata().state(), v1::JOB_CANCELLED);
}

// Trains the same deterministic job twice: once straight through, once SIGKILLed mid-run and
// resumed by a restarted server. The published parameters must agree (bit for bit in double).
void kill_nine_resume(const std::string& model, torch::ScalarType dtype, double tolerance) {
  const auto data = synthetic_classes(2048, dtype);
  const auto& x = data.first;
  const auto& y = data.second;
  auto spec = mlp_job(model, "syn");
  spec.set_deterministic(true);
  spec.mutable_optimizer()->set_name("exadam");
  spec.mutable_optimizer()->set_lr(1e-3);
  spec.mutable_batch()->set_size(16);
  spec.set_epochs(40);  // 5120 steps
  spec.set_checkpoint_every_steps(100);
  spec.set_validation_split(0);
  spec.mutable_schedule()->set_kind(v1::ScheduleSpec::WARMUP_COSINE);
  spec.mutable_schedule()->set_warmup_steps(50);
  spec.set_seed(7);

  auto run = [&](bool kill) {
    TempDir dir;
    ServerProcess server(dir.path() / "data", {"--load-model", model});
    server.start();
    TrainingClient c(server);
    EXPECT_TRUE(c.upload("syn", x, y).ok());
    v1::Job job;
    EXPECT_TRUE(c.start(spec, &job).ok());
    if (kill) {
      const auto at = c.wait_until(job.name(), [](const v1::Job& j) {
        return j.metadata().checkpoint_step() >= 500 || j.done();
      });
      EXPECT_FALSE(at.done()) << "the job finished before it could be killed";
      EXPECT_EQ(server.kill9(), -SIGKILL);
      server.start();
      c = TrainingClient(server);
    }
    const auto done = c.wait_until(job.name(), [](const v1::Job& j) { return j.done(); }, 600);
    EXPECT_EQ(done.metadata().state(), v1::JOB_SUCCEEDED) << done.error().message() << server.log();
    EXPECT_EQ(done.metadata().resumes(), kill ? 1 : 0);
    EXPECT_EQ(done.response().steps(), 40 * 2048 / 16);
    return flat_parameters(c.export_model(model, done.response().model_version()));
  };
  const auto straight = run(false);
  const auto resumed = run(true);
  ASSERT_EQ(straight.sizes(), resumed.sizes());
  if (tolerance == 0)
    EXPECT_TRUE(torch::equal(straight, resumed)) << (straight - resumed).abs().max().item<double>();
  else
    EXPECT_LE((straight - resumed).abs().max().item<double>(), tolerance);
}

TEST(Training, KillNineMidRunThenResumeEqualsUninterruptedDouble) {
  kill_nine_resume("mlp64", torch::kFloat64, 0.0);
}

TEST(Training, KillNineMidRunThenResumeEqualsUninterruptedFloat) {
  kill_nine_resume("mlp", torch::kFloat32, 1e-6);
}

TEST(Training, TrainStreamLossesEqualAnInProcessLoop) {
  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--load-model", "mlp"});
  server.start();
  TrainingClient c(server);
  auto [x, y] = synthetic_classes(160, torch::kFloat32);

  grpc::ClientContext ctx;
  auto stream = c.training->TrainStream(with_deadline(&ctx, 120));
  v1::TrainStreamRequest start;
  start.mutable_start()->mutable_model()->set_name("mlp");
  start.mutable_start()->mutable_optimizer()->set_name("adam");
  start.mutable_start()->mutable_optimizer()->set_lr(0.01);
  start.mutable_start()->set_publish_name("mlp_online");
  ASSERT_TRUE(stream->Write(start));
  std::vector<double> remote;
  for (int b = 0; b < 10; ++b) {
    v1::TrainStreamRequest req;
    fill_tensor(x.narrow(0, b * 16, 16), req.mutable_batch()->mutable_features());
    fill_tensor(y.narrow(0, b * 16, 16), req.mutable_batch()->mutable_labels());
    ASSERT_TRUE(stream->Write(req));
    v1::TrainStreamResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_EQ(resp.step(), b + 1);
    remote.push_back(resp.loss());
  }
  stream->WritesDone();
  v1::TrainStreamResponse final_resp;
  ASSERT_TRUE(stream->Read(&final_resp));
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(final_resp.published().name(), "mlp_online");

  // The same loop in this process: same file, same optimizer from the same library, same batches.
  torch::set_num_threads(1);
  auto model = torch::jit::load((models_dir() / "mlp/1/model.pt").string());
  model.train();
  optim::OptimizerConfig cfg;
  cfg.name = "adam";
  cfg.lr = 0.01;
  auto opt = optim::make_optimizer(cfg, optim::named_parameters(model));
  for (int b = 0; b < 10; ++b) {
    opt->zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model.forward({x.narrow(0, b * 16, 16)}).toTensor(),
                                                     y.narrow(0, b * 16, 16));
    EXPECT_NEAR(remote[b], loss.item<double>(), 1e-6 * std::abs(loss.item<double>())) << "batch " << b;
    loss.backward();
    opt->step();
  }
  std::vector<torch::Tensor> parts;
  for (const auto& p : model.named_parameters(true)) parts.push_back(p.value.detach().reshape({-1}).to(torch::kFloat64));
  EXPECT_LE((flat_parameters(c.export_model("mlp_online", 0)) - torch::cat(parts)).abs().max().item<double>(), 1e-6);
}

TEST(Training, AdAdaGradGrowsTheBatchAsTheLibraryPredicts) {
  TempDir dir;
  ServerProcess server(dir.path() / "data", {"--load-model", "mlp64"});
  server.start();
  TrainingClient c(server);
  auto [x, y] = synthetic_classes(64, torch::kFloat64);
  ASSERT_TRUE(c.upload("syn", x, y).ok());
  v1::JobSpec spec;
  spec.mutable_model()->set_name("mlp64");
  spec.set_dataset("syn");
  spec.mutable_optimizer()->set_name("adagrad");
  spec.mutable_optimizer()->set_lr(0.1);
  spec.mutable_batch()->set_size(2);
  spec.mutable_batch()->set_policy(v1::BatchSpec::ADADAGRAD);
  spec.mutable_batch()->set_test(v1::BatchSpec::NORM);
  spec.mutable_batch()->set_eta(1.0);
  spec.mutable_batch()->set_max_batch_size(64);
  spec.set_max_steps(12);
  spec.set_deterministic(true);
  v1::Job job;
  ASSERT_TRUE(c.start(spec, &job).ok());
  std::vector<std::pair<int64_t, int64_t>> remote;  // (step, new batch size)
  const auto events = c.watch(job.name());
  for (const auto& e : events)
    if (e.kind() == v1::JobEvent::BATCH_SIZE) remote.emplace_back(e.metadata().step(), e.metadata().batch_size());
  ASSERT_EQ(events.back().job().metadata().state(), v1::JOB_SUCCEEDED) << events.back().job().error().message();

  // The library's own loop on the same model, data, order and optimizer.
  torch::set_num_threads(1);
  auto model = torch::jit::load((models_dir() / "mlp64/1/model.pt").string());
  model.train();
  optim::OptimizerConfig cfg;
  cfg.name = "adagrad";
  cfg.lr = 0.1;
  const auto params = optim::named_parameters(model);
  auto opt = optim::make_optimizer(cfg, params);
  optim::adadagrad::AdAdaGradOptions options;
  options.test = optim::adadagrad::BatchTest::kNorm;
  options.eta = 1.0;
  options.max_batch_size = 64;
  const optim::adadagrad::AdAdaGradPolicy policy(options);
  std::vector<std::pair<int64_t, int64_t>> local;
  int64_t b = 2, pos = 0;
  for (int64_t step = 0; step < 12; ++step) {
    const int64_t take = std::min(b, 64 - pos);
    const auto xb = x.narrow(0, pos, take), yb = y.narrow(0, pos, take);
    std::optional<optim::adadagrad::BatchDecision> decision;
    if (take > 1 && policy.should_test(step, b))
      decision = policy.evaluate(optim::tensors_of(params), take, [&](int64_t i) {
        return torch::nn::functional::cross_entropy(model.forward({xb.narrow(0, i, 1)}).toTensor(), yb.narrow(0, i, 1));
      });
    opt->zero_grad();
    torch::nn::functional::cross_entropy(model.forward({xb}).toTensor(), yb).backward();
    opt->step();
    pos = (pos + take) % 64;
    if (decision && std::max(decision->next_batch_size, b) != b) {
      b = std::max(decision->next_batch_size, b);
      local.emplace_back(step + 1, b);
    }
  }
  ASSERT_FALSE(local.empty()) << "the library predicts no growth; the test would prove nothing";
  EXPECT_EQ(remote, local);
}

}  // namespace
}  // namespace attune::test

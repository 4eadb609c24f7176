// attune train --model M|--architecture ... --dataset D --optimizer NAME --lr X [--watch]
// attune train --restart JOB [--watch]
#include <iostream>
#include <sstream>

#include "architecture_args.h"
#include "args.h"
#include "attune/v1/training_service.grpc.pb.h"
#include "commands.h"
#include "connection.h"
#include "job_watch.h"
#include "output.h"

namespace attune::cli {
namespace {

const std::string kUsage = std::string(
    "usage: attune train (--model NAME[:VERSION] | --architecture KIND ...) --dataset NAME\n"
    "                    [--optimizer exadam|adan|adabelief|adam|adamw|sgd|adagrad|adagradnorm]\n"
    "                    [--lr X] [--weight-decay X] [--betas b1,b2[,b3]] [--eps X] [--momentum X]\n"
    "                    [--option NAME=VALUE]... [--epochs N] [--max-steps N] [--batch-size N]\n"
    "                    [--validation-split F | --validation-dataset NAME] [--loss ce|mse|l1]\n"
    "                    [--schedule constant|warmup_cosine|warmup_linear|step] [--warmup-steps N]\n"
    "                    [--min-lr-ratio F] [--step-size N] [--gamma F] [--clip-grad-norm X]\n"
    "                    [--adadagrad [--test norm|ip|orth|ip_orth] [--eta X] [--theta X] [--nu X]\n"
    "                     [--max-batch-size N] [--microbatch N]] [--scale-lr]\n"
    "                    [--patience N] [--eval-every N] [--checkpoint-every N] [--seed N]\n"
    "                    [--deterministic] [--publish NAME] [--world-size N] [--watch]\n"
    "       attune train --restart JOB [--watch]   (a failed or cancelled job resumes from its\n"
    "                                               last checkpoint)\n"
    "       attune train --list-optimizers\n"
    "--world-size N: data-parallel ranks; this server is rank 0 and N-1 workers join it\n"
    "(attune-server --worker --coordinator <this server>).\n"
    "architectures (with --publish NAME):\n") + kArchitectureUsage;

std::vector<double> parse_doubles(const std::string& s, const std::string& flag) {
  std::vector<double> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) {
    try {
      out.push_back(std::stod(x));
    } catch (const std::exception&) {
      throw UsageError(flag + ": expected comma-separated numbers, received '" + s + "'");
    }
  }
  return out;
}

int list_optimizers(const Global& g) {
  auto stub = v1::TrainingService::NewStub(channel(g));
  grpc::ClientContext ctx;
  prepare(ctx, g);
  v1::ListOptimizersResponse resp;
  check(stub->ListOptimizers(&ctx, {}, &resp));
  if (g.json) {
    std::cout << to_json(resp) << "\n";
    return 0;
  }
  for (const auto& o : resp.optimizers()) {
    std::cout << o.name() << ": " << o.description() << "\n";
    Table t({"  OPTION", "DEFAULT", "DESCRIPTION"});
    for (const auto& x : o.options()) t.row({"  " + x.name(), x.default_value(), x.description()});
    t.print();
    std::cout << "\n";
  }
  return 0;
}

int follow(const Global& g, const v1::Job& job, bool watch, const char* verb) {
  if (!watch) {
    if (g.json) std::cout << to_json(job) << "\n";
    else std::cout << verb << " " << job.name() << " (follow it with `attune jobs watch " << job.name() << "`)\n";
    return 0;
  }
  if (!g.json) std::cerr << verb << " " << job.name() << "\n";
  const auto done = watch_job(g, job.name());
  print_job(done, g);
  return done.metadata().state() == v1::JOB_SUCCEEDED ? 0 : 1;
}

int restart_job(const Global& g, const std::string& name, bool watch) {
  auto stub = v1::TrainingService::NewStub(channel(g));
  v1::RestartJobRequest req;
  req.set_name(name);
  v1::Job job;
  grpc::ClientContext ctx;
  prepare(ctx, g);
  check(stub->RestartJob(&ctx, req, &job));
  return follow(g, job, watch, "restarted");
}

int cmd_train(const Argv& argv) {
  auto flags = global_flags();
  flags.insert({"watch", "adadagrad", "scale-lr", "deterministic", "list-optimizers", "no-decay-exclusion"});
  auto opts = global_options();
  for (const auto& o : architecture_options()) opts.insert(o);
  opts.insert({"model", "dataset", "optimizer", "lr", "weight-decay", "betas", "eps", "momentum",
               "option", "epochs", "max-steps", "batch-size", "validation-split", "validation-dataset",
               "loss", "schedule", "warmup-steps", "min-lr-ratio", "step-size", "gamma",
               "clip-grad-norm", "test", "eta", "theta", "nu", "max-batch-size", "microbatch",
               "patience", "eval-every", "checkpoint-every", "seed", "publish", "world-size", "restart"});
  Args a(argv, flags, opts);
  const Global g = global_from(a);
  if (a.has("list-optimizers")) return list_optimizers(g);
  if (auto job = a.get("restart")) return restart_job(g, *job, a.has("watch"));
  if (!a.has("dataset") || (!a.has("model") && !a.has("architecture"))) {
    std::cerr << kUsage;
    return 2;
  }
  v1::JobSpec spec;
  if (auto m = a.get("model")) {
    const auto colon = m->find(':');
    spec.mutable_model()->set_name(m->substr(0, colon));
    if (colon != std::string::npos) spec.mutable_model()->set_version(std::stoll(m->substr(colon + 1)));
  } else {
    *spec.mutable_architecture() = parse_architecture(a);
  }
  spec.set_dataset(*a.get("dataset"));
  spec.set_validation_split(a.get_double("validation-split", 0));
  spec.set_validation_dataset(a.get_or("validation-dataset", ""));
  const std::string loss = a.get_or("loss", "");
  if (loss == "ce") spec.set_loss(v1::CROSS_ENTROPY);
  else if (loss == "mse") spec.set_loss(v1::MSE);
  else if (loss == "l1") spec.set_loss(v1::L1);
  else if (!loss.empty()) throw UsageError("--loss: expected ce, mse or l1, received '" + loss + "'");
  auto* o = spec.mutable_optimizer();
  o->set_name(a.get_or("optimizer", "adam"));
  if (a.has("lr")) o->set_lr(a.get_double("lr", 0));
  if (a.has("weight-decay")) o->set_weight_decay(a.get_double("weight-decay", 0));
  if (auto b = a.get("betas"))
    for (double v : parse_doubles(*b, "--betas")) o->add_betas(v);
  if (a.has("eps")) o->set_eps(a.get_double("eps", 0));
  if (a.has("momentum")) o->set_momentum(a.get_double("momentum", 0));
  if (a.has("no-decay-exclusion")) o->set_exclude_bias_and_norm_from_decay(false);
  for (const auto& kv : a.all("option")) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) throw UsageError("--option: expected NAME=VALUE, received '" + kv + "'");
    (*o->mutable_options())[kv.substr(0, eq)] = parse_doubles(kv.substr(eq + 1), "--option")[0];
  }
  spec.set_epochs(a.get_int("epochs", 0));
  spec.set_max_steps(a.get_int("max-steps", 0));
  auto* b = spec.mutable_batch();
  b->set_size(a.get_int("batch-size", 64));
  if (a.has("adadagrad")) {
    b->set_policy(v1::BatchSpec::ADADAGRAD);
    const std::string t = a.get_or("test", "norm");
    static const std::map<std::string, v1::BatchSpec::Test> tests{
        {"norm", v1::BatchSpec::NORM}, {"ip", v1::BatchSpec::INNER_PRODUCT},
        {"orth", v1::BatchSpec::ORTHOGONALITY}, {"ip_orth", v1::BatchSpec::INNER_PRODUCT_ORTHOGONALITY}};
    if (!tests.count(t)) throw UsageError("--test: expected norm, ip, orth or ip_orth");
    b->set_test(tests.at(t));
    b->set_eta(a.get_double("eta", 0));
    b->set_theta(a.get_double("theta", 0));
    b->set_nu(a.get_double("nu", 0));
    b->set_max_batch_size(a.get_int("max-batch-size", 0));
    if (a.has("microbatch")) {
      b->set_microbatch_estimate(true);
      b->set_micro_batch_size(a.get_int("microbatch", 0));
    }
  }
  b->set_scale_lr(a.has("scale-lr"));
  const std::string sched = a.get_or("schedule", "constant");
  static const std::map<std::string, v1::ScheduleSpec::Kind> kinds{
      {"constant", v1::ScheduleSpec::CONSTANT}, {"warmup_cosine", v1::ScheduleSpec::WARMUP_COSINE},
      {"warmup_linear", v1::ScheduleSpec::WARMUP_LINEAR}, {"step", v1::ScheduleSpec::STEP}};
  if (!kinds.count(sched)) throw UsageError("--schedule: expected constant, warmup_cosine, warmup_linear or step");
  spec.mutable_schedule()->set_kind(kinds.at(sched));
  spec.mutable_schedule()->set_warmup_steps(a.get_int("warmup-steps", 0));
  spec.mutable_schedule()->set_min_lr_ratio(a.get_double("min-lr-ratio", 0));
  spec.mutable_schedule()->set_step_size(a.get_int("step-size", 0));
  spec.mutable_schedule()->set_gamma(a.get_double("gamma", 0));
  spec.set_clip_grad_norm(a.get_double("clip-grad-norm", 0));
  spec.mutable_early_stopping()->set_patience(a.get_int("patience", 0));
  spec.set_eval_every_steps(a.get_int("eval-every", 0));
  spec.set_checkpoint_every_steps(a.get_int("checkpoint-every", 0));
  spec.set_seed(a.get_int("seed", 0));
  spec.set_deterministic(a.has("deterministic"));
  spec.set_publish_name(a.get_or("publish", ""));
  spec.set_world_size(a.get_int("world-size", 0));

  auto stub = v1::TrainingService::NewStub(channel(g));
  v1::StartTrainingRequest req;
  *req.mutable_spec() = spec;
  v1::Job job;
  grpc::ClientContext ctx;
  prepare(ctx, g);
  check(stub->StartTraining(&ctx, req, &job));
  return follow(g, job, a.has("watch"), "started");
}

}  // namespace

const RegisterCommand kRegister("train", cmd_train, "fine-tune a model as a job (--watch: progress bar)", 40);

}  // namespace attune::cli

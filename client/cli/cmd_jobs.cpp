// attune jobs list|get|watch|cancel
#include <iostream>

#include "args.h"
#include "attune/v1/training_service.grpc.pb.h"
#include "commands.h"
#include "connection.h"
#include "job_watch.h"
#include "output.h"

namespace attune::cli {
namespace {

const char* kUsage =
    "usage: attune jobs list [--state queued|running|succeeded|failed|cancelled]\n"
    "       attune jobs get JOB | watch JOB | cancel JOB      (JOB: jobs/<id> or <id>)\n";

int cmd_jobs(const Argv& argv) {
  auto flags = global_flags();
  auto opts = global_options();
  opts.insert("state");
  Args a(argv, flags, opts);
  const Global g = global_from(a);
  const std::string sub = a.positional().empty() ? "" : a.positional()[0];
  auto stub = v1::TrainingService::NewStub(channel(g));
  if (sub == "list") {
    v1::ListJobsRequest req;
    if (auto s = a.get("state")) {
      v1::JobState st;
      std::string upper = "JOB_";
      for (char c : *s) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (!v1::JobState_Parse(upper, &st)) throw UsageError("--state: unknown state '" + *s + "'");
      req.set_state(st);
    }
    grpc::ClientContext ctx;
    prepare(ctx, g);
    v1::ListJobsResponse resp;
    check(stub->ListJobs(&ctx, req, &resp));
    if (g.json) {
      std::cout << to_json(resp) << "\n";
      return 0;
    }
    Table t({"JOB", "STATE", "MODEL", "DATASET", "OPTIMIZER", "STEP", "LOSS", "VAL ACC", "RESULT"});
    for (const auto& j : resp.jobs()) {
      const auto& m = j.metadata();
      t.row({j.name(), job_state_name(m.state()), m.model(), j.spec().dataset(), j.spec().optimizer().name(),
             std::to_string(m.step()) + "/" + std::to_string(m.total_steps()), fixed(m.loss(), 4),
             m.validation_accuracy() > 0 ? fixed(m.validation_accuracy(), 3) : "",
             j.has_response() ? "v" + std::to_string(j.response().model_version())
                              : (j.has_error() ? j.error().message().substr(0, 40) : "")});
    }
    t.print();
    if (resp.jobs().empty()) std::cout << "(no jobs; start one with `attune train`)\n";
    return 0;
  }
  if (sub == "get" || sub == "cancel") {
    grpc::ClientContext ctx;
    prepare(ctx, g);
    v1::Job job;
    if (sub == "get") {
      v1::GetJobRequest req;
      req.set_name(a.pos(1, "JOB"));
      check(stub->GetJob(&ctx, req, &job));
    } else {
      v1::CancelJobRequest req;
      req.set_name(a.pos(1, "JOB"));
      check(stub->CancelJob(&ctx, req, &job));
    }
    print_job(job, g);
    return 0;
  }
  if (sub == "watch") {
    const auto job = watch_job(g, a.pos(1, "JOB"));
    print_job(job, g);
    return job.metadata().state() == v1::JOB_SUCCEEDED ? 0 : 1;
  }
  std::cerr << kUsage;
  return 2;
}

}  // namespace

const RegisterCommand kRegister("jobs", cmd_jobs, "list|get|watch|cancel: training jobs", 50);

}  // namespace attune::cli

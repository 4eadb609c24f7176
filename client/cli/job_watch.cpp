#include "job_watch.h"

#include <iostream>

#include "output.h"

namespace attune::cli {

std::string job_state_name(int state) {
  std::string s = v1::JobState_Name(static_cast<v1::JobState>(state));
  return s.rfind("JOB_", 0) == 0 ? s.substr(4) : s;
}

v1::Job watch_job(const Global& g, const std::string& name) {
  auto stub = v1::TrainingService::NewStub(channel(g));
  grpc::ClientContext ctx;
  prepare(ctx, g, /*streaming=*/true);
  v1::WatchJobRequest req;
  req.set_name(name);
  auto reader = stub->WatchJob(&ctx, req);
  v1::JobEvent ev;
  v1::Job last;
  std::unique_ptr<ProgressBar> bar;
  while (reader->Read(&ev)) {
    const auto& m = ev.metadata();
    if (g.json) {
      std::cout << to_json(ev) << std::endl;
    } else {
      if (!bar && m.total_steps() > 0) bar = std::make_unique<ProgressBar>("train", m.total_steps());
      if (bar && (ev.kind() == v1::JobEvent::PROGRESS || ev.kind() == v1::JobEvent::CHECKPOINT))
        bar->update(m.step(), "loss " + fixed(m.loss(), 4) + "  lr " + fixed(m.learning_rate(), 6) +
                                  "  " + fixed(m.samples_per_second(), 0) + " samples/s");
      if (ev.kind() == v1::JobEvent::VALIDATION)
        std::cerr << "\n  step " << m.step() << ": validation loss " << fixed(m.validation_loss(), 4)
                  << (m.validation_accuracy() > 0 ? ", accuracy " + fixed(m.validation_accuracy(), 4) : "")
                  << "\n";
      if (ev.kind() == v1::JobEvent::BATCH_SIZE) std::cerr << "\n  " << ev.message() << "\n";
      if (ev.kind() == v1::JobEvent::STATE && !ev.message().empty())
        std::cerr << (bar ? "\n" : "") << "  " << job_state_name(m.state()) << ": " << ev.message() << "\n";
    }
    if (ev.done()) {
      last = ev.job();
      if (bar) bar->finish();
      break;
    }
  }
  ctx.TryCancel();
  const auto status = reader->Finish();
  if (!last.done()) check(status);
  return last;
}

void print_job(const v1::Job& j, const Global& g) {
  if (g.json) {
    std::cout << to_json(j) << "\n";
    return;
  }
  const auto& m = j.metadata();
  Table t({"FIELD", "VALUE"});
  t.row({"job", j.name()});
  t.row({"state", job_state_name(m.state())});
  t.row({"model", m.model()});
  t.row({"step", std::to_string(m.step()) + " / " + std::to_string(m.total_steps())});
  t.row({"epoch", std::to_string(m.epoch())});
  t.row({"loss", fixed(m.loss(), 5)});
  if (m.validation_loss() > 0) t.row({"validation loss", fixed(m.validation_loss(), 5)});
  if (m.validation_accuracy() > 0) t.row({"validation accuracy", fixed(m.validation_accuracy(), 4)});
  t.row({"learning rate", fixed(m.learning_rate(), 8)});
  t.row({"batch size", std::to_string(m.batch_size())});
  t.row({"checkpoint step", std::to_string(m.checkpoint_step())});
  if (m.resumes() > 0) t.row({"resumes", std::to_string(m.resumes())});
  if (m.world_size() > 1) {
    t.row({"world size", std::to_string(m.world_size())});
    t.row({"all-reduce (last step)", fixed(m.allreduce_seconds() * 1e3, 2) + " ms of " + fixed(m.step_seconds() * 1e3, 2) + " ms"});
  }
  if (j.has_response())
    t.row({"result", j.response().model_name() + " version " + std::to_string(j.response().model_version()) +
                         " (" + j.response().stop_reason() + ")"});
  if (j.has_error()) t.row({"error", j.error().message()});
  t.print();
}

}  // namespace attune::cli

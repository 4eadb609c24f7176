// attune adapt --model M --method eata --input X.npy [...]   and   attune sessions ...
#include <cmath>
#include <cstring>
#include <iostream>
#include <sstream>

#include "args.h"
#include "attune/v1/adaptation_service.grpc.pb.h"
#include "commands.h"
#include "connection.h"
#include "npy.h"
#include "output.h"

namespace attune::cli {
namespace {

const char* kAdaptUsage =
    "usage: attune adapt --model NAME[:VERSION] --method source|norm|tent|eta|eata|lame\n"
    "                    --input X.npy [--labels Y.npy] [--batch-size 64]\n"
    "                    [--fisher-dataset NAME [--fisher-size 2000] | --fisher-input F.npy]\n"
    "                    [--optimizer sgd|adam] [--lr X] [--momentum X] [--episodic] [--steps N]\n"
    "                    [--e-margin-factor X] [--d-margin X] [--fisher-alpha X]\n"
    "                    [--affinity knn|rbf|linear] [--knn K] [--symmetric]\n"
    "                    [--publish NAME] [--keep]\n"
    "Streams X in batches through a new session and prints a summary (accuracy with --labels).\n";

const char* kSessionsUsage =
    "usage: attune sessions list | get ID | reset ID | close ID | publish ID [--name NAME]\n";

v1::Tensor slice_tensor(const Array& a, int64_t begin, int64_t count) {
  v1::Tensor t;
  static const std::map<std::string, v1::DataType> dt{{"FP32", v1::FLOAT32}, {"FP64", v1::FLOAT64},
                                                      {"INT64", v1::INT64}, {"UINT8", v1::UINT8}};
  if (!dt.count(a.datatype)) throw UsageError("unsupported input dtype " + a.datatype);
  t.set_dtype(dt.at(a.datatype));
  t.add_shape(count);
  for (size_t i = 1; i < a.shape.size(); ++i) t.add_shape(a.shape[i]);
  const size_t row = a.data.size() / static_cast<size_t>(a.shape[0]);
  t.set_data(a.data.substr(static_cast<size_t>(begin) * row, static_cast<size_t>(count) * row));
  return t;
}

std::vector<int64_t> labels_of(const Array& a) {
  std::vector<int64_t> out(static_cast<size_t>(a.shape.empty() ? 0 : a.shape[0]));
  for (size_t i = 0; i < out.size(); ++i) {
    if (a.datatype == "INT64") std::memcpy(&out[i], a.data.data() + 8 * i, 8);
    else if (a.datatype == "INT32") { int32_t v; std::memcpy(&v, a.data.data() + 4 * i, 4); out[i] = v; }
    else if (a.datatype == "UINT8") out[i] = static_cast<unsigned char>(a.data[i]);
    else throw UsageError("--labels: expected integer class ids, received " + a.datatype);
  }
  return out;
}

void print_session(const v1::Session& s, const Global& g) {
  if (g.json) {
    std::cout << to_json(s) << "\n";
    return;
  }
  const auto& st = s.stats();
  Table t({"FIELD", "VALUE"});
  t.row({"session", s.id()});
  t.row({"model", s.model().name() + " version " + std::to_string(s.model().version())});
  t.row({"method", s.options().method() + (s.options().episodic() ? " (episodic)" : "")});
  t.row({"batches / samples", std::to_string(st.batches()) + " / " + std::to_string(st.samples())});
  t.row({"optimizer steps", std::to_string(st.updates())});
  t.row({"reliable (n1) / used (n2)", std::to_string(st.reliable()) + " / " + std::to_string(st.used())});
  t.row({"filtered: entropy / redundant", std::to_string(st.filtered_entropy()) + " / " + std::to_string(st.filtered_redundant())});
  t.row({"|theta - theta0|", fixed(st.param_distance(), 6)});
  if (s.has_fisher()) t.row({"Fisher samples / drift", std::to_string(s.fisher_samples()) + " / " + fixed(st.fisher_drift(), 8)});
  t.row({"resets", std::to_string(st.resets())});
  t.row({"idle", fixed(s.idle_seconds(), 1) + " s"});
  t.print();
}

int cmd_adapt(const Argv& argv) {
  auto flags = global_flags();
  flags.insert({"episodic", "symmetric", "keep"});
  auto opts = global_options();
  opts.insert({"model", "method", "input", "labels", "batch-size", "fisher-dataset", "fisher-size", "fisher-input",
               "optimizer", "lr", "momentum", "steps", "e-margin-factor", "d-margin", "fisher-alpha",
               "affinity", "knn", "publish"});
  Args a(argv, flags, opts);
  const Global g = global_from(a);
  if (!a.has("model") || !a.has("input")) {
    std::cerr << kAdaptUsage;
    return 2;
  }
  const Array x = read_npy(*a.get("input"));
  std::vector<int64_t> labels;
  if (auto l = a.get("labels")) labels = labels_of(read_npy(*l));
  if (!labels.empty() && static_cast<int64_t>(labels.size()) != x.shape[0])
    throw UsageError("--labels: expected " + std::to_string(x.shape[0]) + " labels, received " + std::to_string(labels.size()));
  const int64_t batch = a.get_int("batch-size", 64);
  if (batch < 1) throw UsageError("--batch-size: expected >= 1");

  auto stub = v1::AdaptationService::NewStub(channel(g));
  v1::CreateSessionRequest create;
  const std::string model = *a.get("model");
  const auto colon = model.find(':');
  create.mutable_model()->set_name(model.substr(0, colon));
  if (colon != std::string::npos) create.mutable_model()->set_version(std::stoll(model.substr(colon + 1)));
  auto* o = create.mutable_options();
  o->set_method(a.get_or("method", "eta"));
  o->set_episodic(a.has("episodic"));
  o->set_steps(a.get_int("steps", 0));
  o->set_optimizer(a.get_or("optimizer", ""));
  if (a.has("lr")) o->set_lr(a.get_double("lr", 0));
  if (a.has("momentum")) o->set_momentum(a.get_double("momentum", 0));
  if (a.has("e-margin-factor")) o->set_e_margin_factor(a.get_double("e-margin-factor", 0));
  if (a.has("d-margin")) o->set_d_margin(a.get_double("d-margin", 0));
  if (a.has("fisher-alpha")) o->set_fisher_alpha(a.get_double("fisher-alpha", 0));
  o->set_affinity(a.get_or("affinity", ""));
  if (a.has("knn")) o->set_knn(a.get_int("knn", 5));
  o->set_force_symmetry(a.has("symmetric"));
  v1::Session session;
  {
    grpc::ClientContext ctx;
    prepare(ctx, g);
    check(stub->CreateSession(&ctx, create, &session));
  }
  if (a.has("fisher-dataset") || a.has("fisher-input")) {
    grpc::ClientContext ctx;
    prepare(ctx, g, true);
    auto w = stub->ComputeFisher(&ctx, &session);
    v1::ComputeFisherRequest head;
    head.mutable_header()->set_session(session.id());
    head.mutable_header()->set_dataset(a.get_or("fisher-dataset", ""));
    head.mutable_header()->set_size(a.get_int("fisher-size", 2000));
    head.mutable_header()->set_batch_size(batch);
    w->Write(head);
    if (auto f = a.get("fisher-input")) {
      const Array fx = read_npy(*f);
      for (int64_t r = 0; r < fx.shape[0]; r += 256) {
        v1::ComputeFisherRequest c;
        *c.mutable_samples() = slice_tensor(fx, r, std::min<int64_t>(256, fx.shape[0] - r));
        if (!w->Write(c)) break;
      }
    }
    w->WritesDone();
    check(w->Finish());
    if (!g.json) std::cerr << "Fisher information from " << session.fisher_samples() << " clean samples\n";
  }

  grpc::ClientContext ctx;
  prepare(ctx, g, true);
  auto stream = stub->Adapt(&ctx);
  ProgressBar bar("adapt " + o->method(), x.shape[0]);
  int64_t correct = 0, seen = 0;
  double entropy_sum = 0;
  for (int64_t r = 0; r < x.shape[0]; r += batch) {
    const int64_t k = std::min(batch, x.shape[0] - r);
    v1::AdaptRequest req;
    req.set_session(session.id());
    *req.mutable_batch() = slice_tensor(x, r, k);
    if (!stream->Write(req)) break;
    v1::AdaptResponse resp;
    if (!stream->Read(&resp)) break;
    for (int i = 0; i < resp.predictions_size(); ++i)
      if (!labels.empty() && resp.predictions(i) == labels[static_cast<size_t>(r + i)]) ++correct;
    seen += k;
    entropy_sum += resp.stats().mean_entropy() * static_cast<double>(k);
    bar.update(seen, labels.empty() ? "" : "accuracy " + fixed(static_cast<double>(correct) / seen, 4));
  }
  stream->WritesDone();
  check(stream->Finish());
  bar.finish();
  {
    grpc::ClientContext c2;
    prepare(c2, g);
    v1::GetSessionRequest req;
    req.set_session(session.id());
    check(stub->GetSession(&c2, req, &session));
  }
  if (g.json) {
    std::cout << "{\"session\": " << to_json(session) << ", \"accuracy\": "
              << (labels.empty() ? std::string("null") : fixed(static_cast<double>(correct) / seen, 6))
              << ", \"mean_entropy\": " << fixed(entropy_sum / std::max<int64_t>(seen, 1), 6) << "}\n";
  } else {
    print_session(session, g);
    if (!labels.empty())
      std::cout << "\naccuracy " << fixed(100.0 * correct / seen, 2) << "% on " << seen << " samples\n";
  }
  if (auto name = a.get("publish")) {
    grpc::ClientContext c3;
    prepare(c3, g);
    v1::PublishSessionRequest req;
    req.set_session(session.id());
    req.set_name(*name);
    v1::Model m;
    check(stub->PublishSession(&c3, req, &m));
    if (!g.json) std::cout << "published " << m.name() << " version " << m.serving_version() << "\n";
  }
  if (!a.has("keep")) {
    grpc::ClientContext c4;
    prepare(c4, g);
    v1::CloseSessionRequest req;
    req.set_session(session.id());
    v1::CloseSessionResponse r;
    check(stub->CloseSession(&c4, req, &r));
  } else if (!g.json) {
    std::cout << "session " << session.id() << " kept open (attune sessions close " << session.id() << ")\n";
  }
  return 0;
}

int cmd_sessions(const Argv& argv) {
  auto flags = global_flags();
  auto opts = global_options();
  opts.insert("name");
  Args a(argv, flags, opts);
  const Global g = global_from(a);
  const std::string sub = a.positional().empty() ? "" : a.positional()[0];
  auto stub = v1::AdaptationService::NewStub(channel(g));
  grpc::ClientContext ctx;
  prepare(ctx, g);
  if (sub == "list") {
    v1::ListSessionsResponse resp;
    check(stub->ListSessions(&ctx, {}, &resp));
    if (g.json) {
      std::cout << to_json(resp) << "\n";
      return 0;
    }
    Table t({"SESSION", "MODEL", "METHOD", "BATCHES", "SAMPLES", "USED", "IDLE"});
    for (const auto& s : resp.sessions())
      t.row({s.id(), s.model().name() + ":" + std::to_string(s.model().version()), s.options().method(),
             std::to_string(s.stats().batches()), std::to_string(s.stats().samples()),
             std::to_string(s.stats().used()), fixed(s.idle_seconds(), 0) + " s"});
    t.print();
    if (resp.sessions().empty()) std::cout << "(no open sessions; start one with `attune adapt`)\n";
    return 0;
  }
  if (sub == "get" || sub == "reset") {
    v1::Session s;
    if (sub == "get") {
      v1::GetSessionRequest req;
      req.set_session(a.pos(1, "session ID"));
      check(stub->GetSession(&ctx, req, &s));
    } else {
      v1::ResetSessionRequest req;
      req.set_session(a.pos(1, "session ID"));
      check(stub->ResetSession(&ctx, req, &s));
    }
    print_session(s, g);
    return 0;
  }
  if (sub == "close") {
    v1::CloseSessionRequest req;
    req.set_session(a.pos(1, "session ID"));
    v1::CloseSessionResponse r;
    check(stub->CloseSession(&ctx, req, &r));
    std::cout << "closed " << req.session() << "\n";
    return 0;
  }
  if (sub == "publish") {
    v1::PublishSessionRequest req;
    req.set_session(a.pos(1, "session ID"));
    req.set_name(a.get_or("name", ""));
    v1::Model m;
    check(stub->PublishSession(&ctx, req, &m));
    std::cout << "published " << m.name() << " version " << m.serving_version() << "\n";
    return 0;
  }
  std::cerr << kSessionsUsage;
  return 2;
}

}  // namespace

const RegisterCommand kAdapt("adapt", cmd_adapt, "adapt a model at test time on unlabelled data (progress bar, summary)", 60);
const RegisterCommand kSessions("sessions", cmd_sessions, "list|get|reset|close|publish: adaptation sessions", 61);

}  // namespace attune::cli

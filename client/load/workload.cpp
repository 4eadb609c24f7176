#include "workload.h"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <cmath>
#include <stdexcept>

namespace attune::load {
namespace {

using Clock = std::chrono::steady_clock;

void set_deadline(grpc::ClientContext& ctx, double seconds) {
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
}

void check(const grpc::Status& s, const std::string& what) {
  if (!s.ok()) throw std::runtime_error(what + ": " + code_name(s.error_code()) + ": " + s.error_message());
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Deterministic pseudo-random float32 bytes in [0, 1).
std::string float_bytes(int64_t n, std::mt19937_64& rng) {
  std::string out(static_cast<size_t>(n) * 4, '\0');
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (int64_t i = 0; i < n; ++i) {
    const float v = u(rng);
    std::memcpy(out.data() + 4 * i, &v, 4);
  }
  return out;
}

// The model's declared input shape with the batch (and any other -1) set.
std::vector<int64_t> input_shape(inference::GRPCInferenceService::Stub& stub, const std::string& model, int batch) {
  inference::ModelMetadataRequest req;
  req.set_name(model);
  inference::ModelMetadataResponse resp;
  grpc::ClientContext ctx;
  set_deadline(ctx, 30);
  check(stub.ModelMetadata(&ctx, req, &resp), "ModelMetadata " + model);
  if (resp.inputs_size() != 1 || resp.inputs(0).datatype() != "FP32")
    throw std::runtime_error("model " + model + ": attune-load drives models with one FP32 input");
  std::vector<int64_t> shape(resp.inputs(0).shape().begin(), resp.inputs(0).shape().end());
  if (shape.empty()) throw std::runtime_error("model " + model + " declares no input shape");
  shape[0] = batch;
  for (auto& d : shape)
    if (d < 0) d = 1;
  return shape;
}

}  // namespace

const char* op_name(Op op) {
  switch (op) {
    case Op::kInfer: return "infer";
    case Op::kAdapt: return "adapt";
    case Op::kIngest: return "ingest";
    case Op::kJob: return "job_status";
  }
  return "?";
}

struct Workload::Client {
  std::mt19937_64 rng;
  std::unique_ptr<inference::GRPCInferenceService::Stub> infer;
  std::unique_ptr<v1::AdaptationService::Stub> adapt;
  std::unique_ptr<v1::NowcastService::Stub> nowcast;
  std::unique_ptr<v1::TrainingService::Stub> training;
  std::string session;
  inference::ModelInferRequest infer_req;
  v1::AdaptRequest adapt_req;
  // Open bidi calls, reused across operations (reopened after an error).
  std::unique_ptr<grpc::ClientContext> adapt_ctx, ingest_ctx;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AdaptRequest, v1::AdaptResponse>> adapt_call;
  std::unique_ptr<grpc::ClientReaderWriter<v1::IngestRequest, v1::IngestResponse>> ingest_call;
  bool adapt_named = false;

  void close_adapt() {
    if (!adapt_call) return;
    adapt_call->WritesDone();
    (void)adapt_call->Finish();
    adapt_call.reset();
    adapt_ctx.reset();
  }
  void close_ingest() {
    if (!ingest_call) return;
    ingest_call->WritesDone();
    (void)ingest_call->Finish();
    ingest_call.reset();
    ingest_ctx.reset();
  }
};

Workload::Workload(Options o) : o_(std::move(o)) {
  prefix_ = "load-" + std::to_string(::getpid());
  const int n = std::max(1, (o_.clients + 7) / 8);  // one HTTP/2 connection per 8 clients
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct args: distinct connections
    args.SetMaxReceiveMessageSize(64 << 20);
    channels_.push_back(grpc::CreateCustomChannel(o_.server, grpc::InsecureChannelCredentials(), args));
  }
}

std::shared_ptr<grpc::Channel> Workload::channel(int index) { return channels_[static_cast<size_t>(index) % channels_.size()]; }

void Workload::setup() {
  auto infer = inference::GRPCInferenceService::NewStub(channel(0));
  if (o_.weights[Op::kInfer] > 0) infer_shape_ = input_shape(*infer, o_.infer_model, o_.batch);
  if (o_.weights[Op::kAdapt] > 0) {
    adapt_shape_ = input_shape(*infer, o_.adapt_model, o_.batch);
    auto adapt = v1::AdaptationService::NewStub(channel(0));
    for (int i = 0; i < o_.clients; ++i) {
      v1::CreateSessionRequest req;
      req.mutable_model()->set_name(o_.adapt_model);
      req.mutable_options()->set_method(o_.adapt_method);
      v1::Session s;
      grpc::ClientContext ctx;
      set_deadline(ctx, 30);
      check(adapt->CreateSession(&ctx, req, &s), "CreateSession");
      sessions_.push_back(s.id());
    }
  }
  if (o_.weights[Op::kIngest] > 0) {
    auto nowcast = v1::NowcastService::NewStub(channel(0));
    for (int i = 0; i < o_.streams; ++i) {
      auto s = std::make_unique<Stream>();
      s->name = prefix_ + "-s" + std::to_string(i);
      v1::CreateStreamRequest req;
      auto* c = req.mutable_config();
      c->set_name(s->name);
      c->add_variables("load");
      c->add_variables("temp");
      c->add_targets("load");
      c->set_resolution_seconds(3600);
      c->mutable_model()->set_kind("ridge");
      v1::NowcastStream out;
      grpc::ClientContext ctx;
      set_deadline(ctx, 30);
      check(nowcast->CreateStream(&ctx, req, &out), "CreateStream");
      streams_.push_back(std::move(s));
    }
  }
  if (o_.weights[Op::kJob] > 0) {
    auto training = v1::TrainingService::NewStub(channel(0));
    if (o_.train) {
      // A small dataset for the infer model and a long job on it, cancelled at cleanup.
      dataset_ = prefix_ + "-data";
      auto datasets = v1::DatasetService::NewStub(channel(0));
      v1::Dataset d;
      grpc::ClientContext ctx;
      set_deadline(ctx, 60);
      auto w = datasets->UploadDataset(&ctx, &d);
      v1::UploadDatasetChunk head;
      head.mutable_header()->set_name(dataset_);
      head.mutable_header()->set_feature_dtype(v1::FLOAT32);
      for (size_t k = 1; k < infer_shape_.size(); ++k) head.mutable_header()->add_feature_shape(infer_shape_[k]);
      head.mutable_header()->set_label_dtype(v1::INT64);
      w->Write(head);
      std::mt19937_64 rng(o_.seed);
      const int64_t rows = 256;
      const int64_t per_row = numel(infer_shape_) / infer_shape_[0];
      v1::UploadDatasetChunk b;
      auto* f = b.mutable_batch()->mutable_features();
      f->set_dtype(v1::FLOAT32);
      f->add_shape(rows);
      for (size_t k = 1; k < infer_shape_.size(); ++k) f->add_shape(infer_shape_[k]);
      f->set_data(float_bytes(rows * per_row, rng));
      auto* l = b.mutable_batch()->mutable_labels();
      l->set_dtype(v1::INT64);
      l->add_shape(rows);
      std::string labels(static_cast<size_t>(rows) * 8, '\0');
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t y = r % 2;
        std::memcpy(labels.data() + 8 * r, &y, 8);
      }
      l->set_data(labels);
      w->Write(b);
      w->WritesDone();
      check(w->Finish(), "UploadDataset");
      v1::StartTrainingRequest req;
      auto* spec = req.mutable_spec();
      spec->mutable_model()->set_name(o_.infer_model);
      spec->set_dataset(dataset_);
      spec->mutable_optimizer()->set_name("adam");
      spec->set_epochs(100000);
      spec->set_checkpoint_every_steps(1000);
      spec->set_publish_name(prefix_ + "-trained");
      v1::Job job;
      grpc::ClientContext c2;
      set_deadline(c2, 30);
      check(training->StartTraining(&c2, req, &job), "StartTraining");
      job_ = job.name();
    } else {
      v1::ListJobsResponse all;
      grpc::ClientContext ctx;
      set_deadline(ctx, 30);
      check(training->ListJobs(&ctx, {}, &all), "ListJobs");
      if (all.jobs().empty()) throw std::runtime_error("--no-train: the server has no job to poll");
      job_ = all.jobs(0).name();
    }
  }
}

void Workload::cleanup() {
  if (!job_.empty() && o_.train) {
    auto training = v1::TrainingService::NewStub(channel(0));
    v1::CancelJobRequest req;
    req.set_name(job_);
    v1::Job j;
    grpc::ClientContext ctx;
    set_deadline(ctx, 30);
    (void)training->CancelJob(&ctx, req, &j);
    for (int i = 0; i < 600; ++i) {  // the dataset can be deleted once the job has ended
      v1::GetJobRequest g;
      g.set_name(job_);
      grpc::ClientContext c;
      set_deadline(c, 10);
      if (!training->GetJob(&c, g, &j).ok() || j.done()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (!dataset_.empty()) {
    auto datasets = v1::DatasetService::NewStub(channel(0));
    v1::DeleteDatasetRequest req;
    req.set_name(dataset_);
    v1::DeleteDatasetResponse r;
    grpc::ClientContext ctx;
    set_deadline(ctx, 30);
    (void)datasets->DeleteDataset(&ctx, req, &r);
  }
  auto adapt = v1::AdaptationService::NewStub(channel(0));
  for (const auto& id : sessions_) {
    v1::CloseSessionRequest req;
    req.set_session(id);
    v1::CloseSessionResponse r;
    grpc::ClientContext ctx;
    set_deadline(ctx, 30);
    (void)adapt->CloseSession(&ctx, req, &r);
  }
  auto nowcast = v1::NowcastService::NewStub(channel(0));
  for (const auto& s : streams_) {
    v1::DeleteStreamRequest req;
    req.set_name(s->name);
    v1::DeleteStreamResponse r;
    grpc::ClientContext ctx;
    set_deadline(ctx, 30);
    (void)nowcast->DeleteStream(&ctx, req, &r);
  }
}

grpc::Status Workload::infer(Client& c) {
  inference::ModelInferResponse resp;
  grpc::ClientContext ctx;
  set_deadline(ctx, o_.deadline_seconds);
  return c.infer->ModelInfer(&ctx, c.infer_req, &resp);
}

grpc::Status Workload::adapt(Client& c) {
  if (!c.adapt_call) {
    c.adapt_ctx = std::make_unique<grpc::ClientContext>();
    c.adapt_call = c.adapt->Adapt(c.adapt_ctx.get());
    c.adapt_named = false;
  }
  c.adapt_req.set_session(c.adapt_named ? "" : c.session);
  v1::AdaptResponse resp;
  if (c.adapt_call->Write(c.adapt_req) && c.adapt_call->Read(&resp)) {
    c.adapt_named = true;
    return grpc::Status::OK;
  }
  c.adapt_call->WritesDone();
  auto st = c.adapt_call->Finish();
  c.adapt_call.reset();
  c.adapt_ctx.reset();
  return st.ok() ? grpc::Status(grpc::StatusCode::UNKNOWN, "Adapt stream ended without a reply") : st;
}

grpc::Status Workload::ingest(Client& c) {
  auto& s = *streams_[c.rng() % streams_.size()];
  std::lock_guard<std::mutex> lock(s.mu);
  if (!c.ingest_call) {
    c.ingest_ctx = std::make_unique<grpc::ClientContext>();
    c.ingest_call = c.nowcast->Ingest(c.ingest_ctx.get());
  }
  v1::IngestRequest req;
  req.set_stream(s.name);
  for (int k = 0; k < o_.observations; ++k) {
    const int64_t i = s.next + k;
    auto* obs = req.add_observations();
    obs->set_time(1'600'000'000 + 3600 * i);
    (*obs->mutable_values())["load"] = 100 + 20 * std::sin(2 * M_PI * static_cast<double>(i) / 24.0);
    (*obs->mutable_values())["temp"] = 15 + 5 * std::cos(2 * M_PI * static_cast<double>(i) / 24.0);
  }
  v1::IngestResponse resp;
  if (c.ingest_call->Write(req) && c.ingest_call->Read(&resp)) {
    s.next += o_.observations;
    return grpc::Status::OK;
  }
  c.ingest_call->WritesDone();
  auto st = c.ingest_call->Finish();
  c.ingest_call.reset();
  c.ingest_ctx.reset();
  return st.ok() ? grpc::Status(grpc::StatusCode::UNKNOWN, "Ingest stream ended without a reply") : st;
}

grpc::Status Workload::job(Client& c) {
  v1::GetJobRequest req;
  req.set_name(job_);
  v1::Job j;
  grpc::ClientContext ctx;
  set_deadline(ctx, o_.deadline_seconds);
  return c.training->GetJob(&ctx, req, &j);
}

void Workload::client(int index, const std::atomic<bool>& stop, const std::atomic<bool>& measure,
                      std::map<Op, OpStats>* out) {
  Client c;
  c.rng.seed(o_.seed * 1000003 + static_cast<uint64_t>(index));
  const auto ch = channel(index);
  c.infer = inference::GRPCInferenceService::NewStub(ch);
  c.adapt = v1::AdaptationService::NewStub(ch);
  c.nowcast = v1::NowcastService::NewStub(ch);
  c.training = v1::TrainingService::NewStub(ch);
  if (!infer_shape_.empty()) {
    c.infer_req.set_model_name(o_.infer_model);
    auto* in = c.infer_req.add_inputs();
    in->set_name("input");
    in->set_datatype("FP32");
    for (auto d : infer_shape_) in->add_shape(d);
    c.infer_req.add_raw_input_contents(float_bytes(numel(infer_shape_), c.rng));
  }
  if (!adapt_shape_.empty()) {
    c.session = sessions_[static_cast<size_t>(index)];
    auto* t = c.adapt_req.mutable_batch();
    t->set_dtype(v1::FLOAT32);
    for (auto d : adapt_shape_) t->add_shape(d);
    t->set_data(float_bytes(numel(adapt_shape_), c.rng));
  }
  std::vector<Op> ops;
  std::vector<int> weights;
  for (const auto& [op, w] : o_.weights)
    if (w > 0) {
      ops.push_back(op);
      weights.push_back(w);
    }
  std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
  while (!stop) {
    const Op op = ops[pick(c.rng)];
    const auto t0 = Clock::now();
    grpc::Status st;
    switch (op) {
      case Op::kInfer: st = infer(c); break;
      case Op::kAdapt: st = adapt(c); break;
      case Op::kIngest: st = ingest(c); break;
      case Op::kJob: st = job(c); break;
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!measure) continue;
    auto& s = (*out)[op];
    if (st.ok())
      s.latencies_ms.push_back(ms);
    else
      ++s.errors[st.error_code()];
  }
  c.close_adapt();
  c.close_ingest();
}

}  // namespace attune::load

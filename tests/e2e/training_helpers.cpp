#include "training_helpers.h"

#include <sstream>
#include <thread>

namespace attune::test {

void fill_tensor(const torch::Tensor& t_in, v1::Tensor* p) {
  auto t = t_in.contiguous();
  switch (t.scalar_type()) {
    case torch::kFloat32: p->set_dtype(v1::FLOAT32); break;
    case torch::kFloat64: p->set_dtype(v1::FLOAT64); break;
    case torch::kInt64: p->set_dtype(v1::INT64); break;
    case torch::kUInt8: p->set_dtype(v1::UINT8); break;
    default: p->set_dtype(v1::INT32);
  }
  for (auto d : t.sizes()) p->add_shape(d);
  p->set_data(std::string(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size()));
}

grpc::Status TrainingClient::upload(const std::string& name, const torch::Tensor& x,
                                    const torch::Tensor& y, v1::Dataset* out, int64_t rows) {
  v1::Dataset local;
  grpc::ClientContext ctx;
  auto w = datasets->UploadDataset(with_deadline(&ctx, 120), out ? out : &local);
  v1::UploadDatasetChunk head;
  auto* h = head.mutable_header();
  h->set_name(name);
  v1::Tensor probe;
  fill_tensor(x.narrow(0, 0, 1), &probe);
  h->set_feature_dtype(probe.dtype());
  for (int64_t i = 1; i < x.dim(); ++i) h->add_feature_shape(x.size(i));
  fill_tensor(y.narrow(0, 0, 1), &probe);
  h->set_label_dtype(probe.dtype());
  for (int64_t i = 1; i < y.dim(); ++i) h->add_label_shape(y.size(i));
  w->Write(head);
  for (int64_t r = 0; r < x.size(0); r += rows) {
    const int64_t k = std::min(rows, x.size(0) - r);
    v1::UploadDatasetChunk c;
    fill_tensor(x.narrow(0, r, k), c.mutable_batch()->mutable_features());
    fill_tensor(y.narrow(0, r, k), c.mutable_batch()->mutable_labels());
    if (!w->Write(c)) break;
  }
  w->WritesDone();
  return w->Finish();
}

grpc::Status TrainingClient::load_repository(const std::string& name, const std::string& path) {
  v1::LoadModelRequest req;
  req.set_name(name);
  req.set_repository_path(path);
  v1::Model m;
  grpc::ClientContext ctx;
  return models->LoadModel(with_deadline(&ctx), req, &m);
}

grpc::Status TrainingClient::start(const v1::JobSpec& spec, v1::Job* job) {
  v1::StartTrainingRequest req;
  *req.mutable_spec() = spec;
  grpc::ClientContext ctx;
  return training->StartTraining(with_deadline(&ctx), req, job);
}

v1::Job TrainingClient::get(const std::string& name) {
  v1::GetJobRequest req;
  req.set_name(name);
  v1::Job job;
  grpc::ClientContext ctx;
  const auto s = training->GetJob(with_deadline(&ctx), req, &job);
  if (!s.ok()) throw std::runtime_error("GetJob: " + s.error_message());
  return job;
}

std::vector<v1::JobEvent> TrainingClient::watch(const std::string& name, double timeout) {
  v1::WatchJobRequest req;
  req.set_name(name);
  grpc::ClientContext ctx;
  auto reader = training->WatchJob(with_deadline(&ctx, timeout), req);
  std::vector<v1::JobEvent> events;
  v1::JobEvent ev;
  while (reader->Read(&ev)) {
    events.push_back(ev);
    if (ev.done()) break;
  }
  ctx.TryCancel();
  reader->Finish();
  return events;
}

v1::Job TrainingClient::wait_until(const std::string& name,
                                   const std::function<bool(const v1::Job&)>& pred, double timeout) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  v1::Job job;
  while (std::chrono::steady_clock::now() < deadline) {
    job = get(name);
    if (pred(job)) return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("timed out waiting for job " + name + "; last state " +
                           std::to_string(job.metadata().state()));
}

std::string TrainingClient::export_model(const std::string& name, int64_t version) {
  v1::ExportModelRequest req;
  req.set_name(name);
  req.set_version(version);
  grpc::ClientContext ctx;
  auto reader = models->ExportModel(with_deadline(&ctx), req);
  v1::ExportModelChunk c;
  std::string out;
  while (reader->Read(&c)) out += c.data();
  const auto s = reader->Finish();
  if (!s.ok()) throw std::runtime_error("ExportModel: " + s.error_message());
  return out;
}

std::pair<torch::Tensor, torch::Tensor> synthetic_classes(int64_t n, torch::ScalarType dtype) {
  auto x = torch::empty({n, 8}, torch::kFloat64);
  auto a = x.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < 8; ++j) a[i][j] = std::sin(0.37 * (i + 1) + 0.91 * (j + 1));
  auto w = torch::empty({8, 4}, torch::kFloat64);
  auto wa = w.accessor<double, 2>();
  for (int64_t j = 0; j < 8; ++j)
    for (int64_t k = 0; k < 4; ++k) wa[j][k] = std::cos(0.7 * j + 1.3 * k);
  auto y = x.matmul(w).argmax(1).to(torch::kInt64);
  return {x.to(dtype), y};
}

torch::Tensor flat_parameters(const std::string& bytes) {
  std::istringstream in(bytes);
  auto m = torch::jit::load(in);
  std::vector<torch::Tensor> parts;
  for (const auto& p : m.named_parameters(true)) parts.push_back(p.value.detach().reshape({-1}).to(torch::kFloat64));
  return torch::cat(parts);
}

}  // namespace attune::test

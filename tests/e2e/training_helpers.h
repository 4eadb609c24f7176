// Shared pieces of the training e2e tests: dataset uploads, job submission and watching.
#pragma once
#include <torch/script.h>

#include "attune/v1/dataset_service.grpc.pb.h"
#include "attune/v1/model_service.grpc.pb.h"
#include "attune/v1/training_service.grpc.pb.h"
#include "server_process.h"

namespace attune::test {

struct TrainingClient {
  explicit TrainingClient(const ServerProcess& server)
      : datasets(v1::DatasetService::NewStub(server.channel())),
        models(v1::ModelService::NewStub(server.channel())),
        training(v1::TrainingService::NewStub(server.channel())) {}

  grpc::Status upload(const std::string& name, const torch::Tensor& x, const torch::Tensor& y,
                      v1::Dataset* out = nullptr, int64_t rows_per_batch = 256);
  grpc::Status load_repository(const std::string& name, const std::string& path);
  grpc::Status start(const v1::JobSpec& spec, v1::Job* job);
  v1::Job get(const std::string& name);
  // Follows WatchJob until the job ends; returns every event.
  std::vector<v1::JobEvent> watch(const std::string& name, double timeout_seconds = 300);
  // Polls GetJob until `pred` holds or the timeout passes.
  v1::Job wait_until(const std::string& name, const std::function<bool(const v1::Job&)>& pred,
                     double timeout_seconds = 300);
  std::string export_model(const std::string& name, int64_t version);

  std::unique_ptr<v1::DatasetService::Stub> datasets;
  std::unique_ptr<v1::ModelService::Stub> models;
  std::unique_ptr<v1::TrainingService::Stub> training;
};

void fill_tensor(const torch::Tensor& t, v1::Tensor* p);
// A learnable 4-class problem on 8 features, from formulas (no RNG): x_ij = sin(0.37 i + 0.91 j),
// class = argmax of a fixed linear map.
std::pair<torch::Tensor, torch::Tensor> synthetic_classes(int64_t n, torch::ScalarType dtype);
// Parameters of a TorchScript file, flattened in named_parameters order (double).
torch::Tensor flat_parameters(const std::string& torchscript_bytes);

}  // namespace attune::test

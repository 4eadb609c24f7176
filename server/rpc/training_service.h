// attune.v1.TrainingService: translates requests and delegates to train::JobRunner (jobs) and
// train::OnlineTrainer (TrainStream).
#pragma once
#include "attune/v1/training_service.grpc.pb.h"
#include "core/lifecycle.h"
#include "core/model_registry.h"
#include "train/job_runner.h"

namespace attune::rpc {

class TrainingServiceImpl final : public v1::TrainingService::Service {
 public:
  TrainingServiceImpl(train::JobRunner& runner, ModelRegistry& models, const Lifecycle& life)
      : runner_(runner), models_(models), life_(life) {}

  grpc::Status StartTraining(grpc::ServerContext*, const v1::StartTrainingRequest*, v1::Job*) override;
  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest*, v1::Job*) override;
  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*, v1::ListJobsResponse*) override;
  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest*, v1::Job*) override;
  grpc::Status RestartJob(grpc::ServerContext*, const v1::RestartJobRequest*, v1::Job*) override;
  grpc::Status WatchJob(grpc::ServerContext*, const v1::WatchJobRequest*,
                        grpc::ServerWriter<v1::JobEvent>*) override;
  grpc::Status TrainStream(grpc::ServerContext*,
                           grpc::ServerReaderWriter<v1::TrainStreamResponse, v1::TrainStreamRequest>*) override;
  grpc::Status ListOptimizers(grpc::ServerContext*, const v1::ListOptimizersRequest*,
                              v1::ListOptimizersResponse*) override;

 private:
  train::JobRunner& runner_;
  ModelRegistry& models_;
  const Lifecycle& life_;
};

}  // namespace attune::rpc

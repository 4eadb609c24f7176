// attune.v1.DistributedTrainingService: the worker ranks' side door into train::Coordinator
// (sessions, the starting checkpoint, the training rows, their errors). Translates and delegates.
#pragma once
#include "attune/v1/distributed_service.grpc.pb.h"
#include "core/lifecycle.h"
#include "train/coordinator.h"

namespace attune::rpc {

class DistributedServiceImpl final : public v1::DistributedTrainingService::Service {
 public:
  DistributedServiceImpl(train::Coordinator& coordinator, const Lifecycle& life)
      : coordinator_(coordinator), life_(life) {}

  grpc::Status Join(grpc::ServerContext*, const v1::JoinRequest*, grpc::ServerWriter<v1::JoinResponse>*) override;
  grpc::Status FetchCheckpoint(grpc::ServerContext*, const v1::FetchRequest*,
                               grpc::ServerWriter<v1::FileChunk>*) override;
  grpc::Status FetchDataset(grpc::ServerContext*, const v1::FetchRequest*, grpc::ServerWriter<v1::FileChunk>*) override;
  grpc::Status ReportFailure(grpc::ServerContext*, const v1::ReportFailureRequest*,
                             v1::ReportFailureResponse*) override;

 private:
  train::Coordinator& coordinator_;
  const Lifecycle& life_;
};

}  // namespace attune::rpc

// attune.v1.ModelService: translates requests and delegates to core::ModelRegistry.
#pragma once
#include "attune/v1/model_service.grpc.pb.h"
#include "core/model_registry.h"

namespace attune::rpc {

class ModelServiceImpl final : public v1::ModelService::Service {
 public:
  explicit ModelServiceImpl(ModelRegistry& registry) : registry_(registry) {}

  grpc::Status LoadModel(grpc::ServerContext*, const v1::LoadModelRequest*, v1::Model*) override;
  grpc::Status LoadModelStream(grpc::ServerContext*, grpc::ServerReader<v1::LoadModelChunk>*,
                               v1::Model*) override;
  grpc::Status CreateModel(grpc::ServerContext*, const v1::CreateModelRequest*, v1::Model*) override;
  grpc::Status UnloadModel(grpc::ServerContext*, const v1::UnloadModelRequest*,
                           v1::UnloadModelResponse*) override;
  grpc::Status ListModels(grpc::ServerContext*, const v1::ListModelsRequest*,
                          v1::ListModelsResponse*) override;
  grpc::Status GetModel(grpc::ServerContext*, const v1::GetModelRequest*, v1::Model*) override;
  grpc::Status ExportModel(grpc::ServerContext*, const v1::ExportModelRequest*,
                           grpc::ServerWriter<v1::ExportModelChunk>*) override;

 private:
  ModelRegistry& registry_;
};

}  // namespace attune::rpc

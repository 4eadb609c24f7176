// The KServe v2 / Open Inference Protocol service (package inference) over the model registry.
#pragma once
#include "core/lifecycle.h"
#include "core/model_registry.h"
#include "inference/open_inference_grpc.grpc.pb.h"

namespace attune::rpc {

class InferenceServiceImpl final : public inference::GRPCInferenceService::Service {
 public:
  InferenceServiceImpl(ModelRegistry& registry, const Lifecycle& life)
      : registry_(registry), life_(life) {}

  grpc::Status ServerLive(grpc::ServerContext*, const inference::ServerLiveRequest*,
                          inference::ServerLiveResponse*) override;
  grpc::Status ServerReady(grpc::ServerContext*, const inference::ServerReadyRequest*,
                           inference::ServerReadyResponse*) override;
  grpc::Status ModelReady(grpc::ServerContext*, const inference::ModelReadyRequest*,
                          inference::ModelReadyResponse*) override;
  grpc::Status ServerMetadata(grpc::ServerContext*, const inference::ServerMetadataRequest*,
                              inference::ServerMetadataResponse*) override;
  grpc::Status ModelMetadata(grpc::ServerContext*, const inference::ModelMetadataRequest*,
                             inference::ModelMetadataResponse*) override;
  grpc::Status ModelInfer(grpc::ServerContext*, const inference::ModelInferRequest*,
                          inference::ModelInferResponse*) override;

 private:
  ModelRegistry& registry_;
  const Lifecycle& life_;
};

}  // namespace attune::rpc

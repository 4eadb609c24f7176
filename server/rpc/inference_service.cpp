#include "rpc/inference_service.h"

#include <torch/version.h>

#include "core/error.h"
#include "rpc/kserve_tensors.h"
#include "rpc/status.h"

namespace attune::rpc {
namespace {

int64_t parse_version(const std::string& v) {
  if (v.empty()) return 0;
  size_t pos = 0;
  int64_t x = -1;
  try {
    x = std::stoll(v, &pos);
  } catch (const std::exception&) {
  }
  if (pos != v.size() || x < 1)
    throw InvalidArgument("model_version: expected a positive integer or empty (serving version), "
                          "received '" + v + "'");
  return x;
}

}  // namespace

grpc::Status InferenceServiceImpl::ServerLive(grpc::ServerContext* ctx,
                                              const inference::ServerLiveRequest*,
                                              inference::ServerLiveResponse* resp) {
  return guard(ctx, Role::kInfer, [&] {
    resp->set_live(true);
    return grpc::Status::OK;
  });
}

grpc::Status InferenceServiceImpl::ServerReady(grpc::ServerContext* ctx,
                                               const inference::ServerReadyRequest*,
                                               inference::ServerReadyResponse* resp) {
  return guard(ctx, Role::kInfer, [&] {
    resp->set_ready(life_.ready && !life_.draining);
    return grpc::Status::OK;
  });
}

grpc::Status InferenceServiceImpl::ModelReady(grpc::ServerContext* ctx,
                                              const inference::ModelReadyRequest* req,
                                              inference::ModelReadyResponse* resp) {
  return guard(ctx, Role::kInfer, [&] {
    const int64_t version = parse_version(req->version());
    try {
      registry_.resolve(req->name(), version);
      resp->set_ready(!life_.draining);
    } catch (const Error& e) {
      if (e.code() != Code::kFailedPrecondition) throw;
      resp->set_ready(false);
    }
    return grpc::Status::OK;
  });
}

grpc::Status InferenceServiceImpl::ServerMetadata(grpc::ServerContext* ctx,
                                                  const inference::ServerMetadataRequest*,
                                                  inference::ServerMetadataResponse* resp) {
  return guard(ctx, Role::kInfer, [&] {
    resp->set_name("attune");
    resp->set_version(ATTUNE_VERSION);
    return grpc::Status::OK;
  });
}

grpc::Status InferenceServiceImpl::ModelMetadata(grpc::ServerContext* ctx,
                                                 const inference::ModelMetadataRequest* req,
                                                 inference::ModelMetadataResponse* resp) {
  return guard(ctx, Role::kInfer, [&] {
    const auto model = registry_.resolve(req->name(), parse_version(req->version()));
    const auto info = registry_.get(req->name());
    resp->set_name(req->name());
    resp->set_platform("pytorch_libtorch");
    for (const auto& v : info.versions)
      if (v.state == ModelState::kReady) resp->add_versions(std::to_string(v.version));
    auto fill = [](const TensorSpec& s, inference::ModelMetadataResponse::TensorMetadata* m) {
      m->set_name(s.name);
      m->set_datatype(kserve_name(s.dtype));
      for (auto d : s.shape) m->add_shape(d);
    };
    for (const auto& s : model->info().inputs) fill(s, resp->add_inputs());
    for (const auto& s : model->info().outputs) fill(s, resp->add_outputs());
    return grpc::Status::OK;
  });
}

grpc::Status InferenceServiceImpl::ModelInfer(grpc::ServerContext* ctx,
                                              const inference::ModelInferRequest* req,
                                              inference::ModelInferResponse* resp) {
  return guard(ctx, Role::kInfer, [&] {
    if (life_.draining) throw Unavailable("server is shutting down; retry on another replica");
    const auto model = registry_.resolve(req->model_name(), parse_version(req->model_version()));
    const auto inputs = decode_inputs(*req, model->info());
    const auto outputs = model->forward(inputs);
    resp->set_model_name(req->model_name());
    resp->set_model_version(std::to_string(model->info().version));
    resp->set_id(req->id());
    encode_outputs(*req, model->info(), outputs, req->raw_input_contents_size() > 0, resp);
    return grpc::Status::OK;
  });
}

}  // namespace attune::rpc

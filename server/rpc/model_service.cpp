#include "rpc/model_service.h"

#include <fstream>

#include "core/architectures.h"
#include "core/error.h"
#include "core/storage.h"
#include "rpc/convert.h"
#include "rpc/status.h"
#include "rpc/training_convert.h"

namespace attune::rpc {
namespace {

ModelInfo load(ModelRegistry& registry, const v1::LoadModelRequest& req) {
  switch (req.source_case()) {
    case v1::LoadModelRequest::kTorchscript:
      return registry.load_bytes(req.name(), req.torchscript(), from_proto(req.inputs()),
                                 from_proto(req.outputs()), req.version());
    case v1::LoadModelRequest::kRepositoryPath:
      return registry.load_repository(req.name(), req.repository_path(), req.version());
    default:
      throw InvalidArgument("source: set either torchscript (file bytes) or repository_path; "
                            "for files over the message limit use LoadModelStream");
  }
}

}  // namespace

grpc::Status ModelServiceImpl::LoadModel(grpc::ServerContext* ctx, const v1::LoadModelRequest* req,
                                         v1::Model* resp) {
  return guard(ctx, Role::kAdmin, [&] {
    to_proto(load(registry_, *req), resp);
    return grpc::Status::OK;
  });
}

grpc::Status ModelServiceImpl::LoadModelStream(grpc::ServerContext* ctx,
                                               grpc::ServerReader<v1::LoadModelChunk>* reader,
                                               v1::Model* resp) {
  return guard(ctx, Role::kAdmin, [&] {
    v1::LoadModelChunk chunk;
    if (!reader->Read(&chunk) || chunk.part_case() != v1::LoadModelChunk::kRequest)
      throw InvalidArgument("first message: expected `request` (name, inputs, outputs), then "
                            "`data` chunks");
    const v1::LoadModelRequest req = chunk.request();
    if (req.source_case() != v1::LoadModelRequest::SOURCE_NOT_SET)
      throw InvalidArgument("request.source: leave torchscript/repository_path empty in "
                            "LoadModelStream; send the file as `data` chunks");
    const auto staged = registry_.new_staging_file(req.name());
    int64_t bytes = 0;
    {
      std::ofstream out(staged, std::ios::binary);
      while (reader->Read(&chunk)) {
        if (ctx->IsCancelled()) break;
        if (chunk.part_case() != v1::LoadModelChunk::kData) {
          fs::remove_all(staged.parent_path());
          throw InvalidArgument("message after the first: expected `data`, received `request`");
        }
        out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
        bytes += static_cast<int64_t>(chunk.data().size());
      }
      out.flush();
      if (!out) {
        fs::remove_all(staged.parent_path());
        throw Internal("could not write the uploaded model to the data dir");
      }
    }
    if (ctx->IsCancelled() || bytes == 0) {
      fs::remove_all(staged.parent_path());
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "upload cancelled");
      throw InvalidArgument("data: no bytes received; stream the TorchScript file after the request");
    }
    fsync_path(staged);
    to_proto(registry_.load_staged(req.name(), staged, from_proto(req.inputs()),
                                   from_proto(req.outputs()), req.version()),
             resp);
    return grpc::Status::OK;
  });
}

grpc::Status ModelServiceImpl::CreateModel(grpc::ServerContext* ctx, const v1::CreateModelRequest* req,
                                           v1::Model* resp) {
  return guard(ctx, Role::kAdmin, [&] {
    check_name("name", req->name());
    const ArchitectureSpec spec = from_proto(req->architecture());
    const auto built = build_architecture(spec, static_cast<uint64_t>(req->seed()));
    const auto staged = registry_.new_staging_file(req->name());
    built.module.save(staged.string());
    to_proto(registry_.load_staged(req->name(), staged, built.inputs, built.outputs, req->version(),
                                   "architecture:" + spec.kind),
             resp);
    return grpc::Status::OK;
  });
}

grpc::Status ModelServiceImpl::UnloadModel(grpc::ServerContext* ctx, const v1::UnloadModelRequest* req,
                                           v1::UnloadModelResponse* resp) {
  return guard(ctx, Role::kAdmin, [&] {
    if (req->version() < 0)
      throw InvalidArgument("version: expected 0 (all) or a version number, received " +
                            std::to_string(req->version()));
    for (auto v : registry_.unload(req->name(), req->version())) resp->add_unloaded_versions(v);
    return grpc::Status::OK;
  });
}

grpc::Status ModelServiceImpl::ListModels(grpc::ServerContext* ctx, const v1::ListModelsRequest*,
                                          v1::ListModelsResponse* resp) {
  return guard(ctx, Role::kInfer, [&] {
    for (const auto& m : registry_.list()) to_proto(m, resp->add_models());
    return grpc::Status::OK;
  });
}

grpc::Status ModelServiceImpl::GetModel(grpc::ServerContext* ctx, const v1::GetModelRequest* req,
                                        v1::Model* resp) {
  return guard(ctx, Role::kInfer, [&] {
    to_proto(registry_.get(req->name()), resp);
    return grpc::Status::OK;
  });
}

grpc::Status ModelServiceImpl::ExportModel(grpc::ServerContext* ctx,
                                           const v1::ExportModelRequest* req,
                                           grpc::ServerWriter<v1::ExportModelChunk>* writer) {
  return guard(ctx, Role::kAdmin, [&] {
    if (req->chunk_bytes() < 0 || req->chunk_bytes() > (64 << 20))
      throw InvalidArgument("chunk_bytes: expected 0 (1 MiB) to 67108864, received " +
                            std::to_string(req->chunk_bytes()));
    if (req->version() < 0)
      throw InvalidArgument("version: expected 0 (serving version) or a version number, received " +
                            std::to_string(req->version()));
    const auto model = registry_.resolve(req->name(), req->version());
    const int64_t chunk = req->chunk_bytes() ? req->chunk_bytes() : (1 << 20);
    std::ifstream in(model->file(), std::ios::binary);
    if (!in) throw Internal("cannot read " + model->file().string());
    const int64_t total = static_cast<int64_t>(fs::file_size(model->file()));
    std::string buf(static_cast<size_t>(chunk), '\0');
    int64_t offset = 0;
    while (offset < total) {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "export cancelled");
      in.read(buf.data(), chunk);
      const auto got = in.gcount();
      v1::ExportModelChunk msg;
      msg.set_version(model->info().version);
      msg.set_offset(offset);
      msg.set_total_bytes(total);
      msg.set_data(buf.data(), static_cast<size_t>(got));
      if (!writer->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      offset += got;
      if (got == 0) break;
    }
    return grpc::Status::OK;
  });
}

}  // namespace attune::rpc

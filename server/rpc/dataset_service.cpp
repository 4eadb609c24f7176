#include "rpc/dataset_service.h"

#include "core/error.h"
#include "rpc/convert.h"
#include "rpc/status.h"

namespace attune::rpc {

void to_proto(const DatasetInfo& d, v1::Dataset* p) {
  p->set_name(d.name);
  p->set_samples(d.samples);
  to_proto(d.features, p->mutable_features());
  to_proto(d.labels, p->mutable_labels());
  p->set_feature_scale(d.feature_scale);
  p->set_size_bytes(d.size_bytes);
  p->set_origin(d.origin);
  p->set_created_unix_seconds(d.created_unix_seconds);
  p->set_classes(d.classes);
}

grpc::Status DatasetServiceImpl::UploadDataset(grpc::ServerContext* ctx,
                                               grpc::ServerReader<v1::UploadDatasetChunk>* reader,
                                               v1::Dataset* resp) {
  return guard(ctx, Role::kTrain, [&] {
    v1::UploadDatasetChunk chunk;
    if (!reader->Read(&chunk) || chunk.part_case() != v1::UploadDatasetChunk::kHeader)
      throw InvalidArgument("first message: expected `header` (name, dtypes, per-sample shapes), then `batch` messages");
    const auto h = chunk.header();
    if (!v1::DataType_IsValid(h.feature_dtype()) || h.feature_dtype() == v1::DATA_TYPE_UNSPECIFIED)
      throw InvalidArgument("header.feature_dtype: expected a data type, received " + std::to_string(h.feature_dtype()));
    if (!v1::DataType_IsValid(h.label_dtype()) || h.label_dtype() == v1::DATA_TYPE_UNSPECIFIED)
      throw InvalidArgument("header.label_dtype: expected a data type (INT64 for classes), received " +
                            std::to_string(h.label_dtype()));
    const TensorSpec fspec{"features", static_cast<DType>(h.feature_dtype()), [&] {
                             Shape s{-1};
                             s.insert(s.end(), h.feature_shape().begin(), h.feature_shape().end());
                             return s;
                           }()};
    const TensorSpec lspec{"labels", static_cast<DType>(h.label_dtype()), [&] {
                             Shape s{-1};
                             s.insert(s.end(), h.label_shape().begin(), h.label_shape().end());
                             return s;
                           }()};
    std::vector<torch::Tensor> features, labels;
    int64_t bytes = 0, batch_index = 0;
    while (reader->Read(&chunk)) {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "upload cancelled");
      const std::string field = "batch[" + std::to_string(batch_index++) + "]";
      if (chunk.part_case() != v1::UploadDatasetChunk::kBatch)
        throw InvalidArgument(field + ": expected `batch`, received another `header`");
      auto f = decode(chunk.batch().features(), field + ".features", /*copy=*/true);
      auto l = decode(chunk.batch().labels(), field + ".labels", /*copy=*/true);
      check_spec(field + ".features", fspec, dtype_of(f), f.sizes().vec());
      check_spec(field + ".labels", lspec, dtype_of(l), l.sizes().vec());
      if (f.size(0) != l.size(0))
        throw InvalidArgument(field + ": features have " + std::to_string(f.size(0)) + " rows, labels " +
                              std::to_string(l.size(0)));
      check_finite(field + ".features", f);
      check_finite(field + ".labels", l);
      bytes += f.numel() * f.element_size() + l.numel() * l.element_size();
      if (bytes > max_upload_bytes_)
        throw ResourceExhausted("upload exceeds " + std::to_string(max_upload_bytes_) +
                                " bytes; import large datasets from files with ImportDataset");
      features.push_back(f);
      labels.push_back(l);
    }
    // A cancelled or expired call also ends the reads: store nothing from a partial upload.
    if (ctx->IsCancelled())
      return grpc::Status(grpc::StatusCode::CANCELLED, "upload cancelled; nothing was stored");
    if (features.empty()) throw InvalidArgument("batch: no batches received after the header");
    const double scale = h.feature_scale() == 0 ? 1.0 : h.feature_scale();
    to_proto(store_.put(h.name(), torch::cat(features), torch::cat(labels), scale, "upload"), resp);
    return grpc::Status::OK;
  });
}

grpc::Status DatasetServiceImpl::ImportDataset(grpc::ServerContext* ctx, const v1::ImportDatasetRequest* req,
                                               v1::Dataset* resp) {
  return guard(ctx, Role::kTrain, [&] {
    if (req->limit() < 0) throw InvalidArgument("limit: expected >= 0, received " + std::to_string(req->limit()));
    const auto cancelled = [ctx] { return ctx->IsCancelled(); };
    switch (req->format()) {
      case v1::ImportDatasetRequest::IDX:
        to_proto(store_.import_idx(req->name(), req->path(), req->split(), req->labels_path(), req->limit(),
                                   cancelled),
                 resp);
        break;
      case v1::ImportDatasetRequest::CSV:
        to_proto(store_.import_csv(req->name(), req->path(), req->label_column(), req->regression(), req->limit(),
                                   cancelled),
                 resp);
        break;
      default:
        throw InvalidArgument("format: expected IDX or CSV, received " + std::to_string(req->format()));
    }
    return grpc::Status::OK;
  });
}

grpc::Status DatasetServiceImpl::ListDatasets(grpc::ServerContext* ctx, const v1::ListDatasetsRequest*,
                                              v1::ListDatasetsResponse* resp) {
  return guard(ctx, Role::kTrain, [&] {
    for (const auto& d : store_.list()) to_proto(d, resp->add_datasets());
    return grpc::Status::OK;
  });
}

grpc::Status DatasetServiceImpl::GetDataset(grpc::ServerContext* ctx, const v1::GetDatasetRequest* req,
                                            v1::Dataset* resp) {
  return guard(ctx, Role::kTrain, [&] {
    to_proto(store_.info(req->name()), resp);
    return grpc::Status::OK;
  });
}

grpc::Status DatasetServiceImpl::DeleteDataset(grpc::ServerContext* ctx, const v1::DeleteDatasetRequest* req,
                                               v1::DeleteDatasetResponse*) {
  return guard(ctx, Role::kTrain, [&] {
    store_.remove(req->name());
    return grpc::Status::OK;
  });
}

}  // namespace attune::rpc

// attune.v1.DatasetService: translates requests and delegates to core::DatasetStore.
#pragma once
#include "attune/v1/dataset_service.grpc.pb.h"
#include "core/dataset_store.h"

namespace attune::rpc {

class DatasetServiceImpl final : public v1::DatasetService::Service {
 public:
  DatasetServiceImpl(DatasetStore& store, int64_t max_upload_bytes)
      : store_(store), max_upload_bytes_(max_upload_bytes) {}

  grpc::Status UploadDataset(grpc::ServerContext*, grpc::ServerReader<v1::UploadDatasetChunk>*,
                             v1::Dataset*) override;
  grpc::Status ImportDataset(grpc::ServerContext*, const v1::ImportDatasetRequest*, v1::Dataset*) override;
  grpc::Status ListDatasets(grpc::ServerContext*, const v1::ListDatasetsRequest*,
                            v1::ListDatasetsResponse*) override;
  grpc::Status GetDataset(grpc::ServerContext*, const v1::GetDatasetRequest*, v1::Dataset*) override;
  grpc::Status DeleteDataset(grpc::ServerContext*, const v1::DeleteDatasetRequest*,
                             v1::DeleteDatasetResponse*) override;

 private:
  DatasetStore& store_;
  int64_t max_upload_bytes_;
};

void to_proto(const DatasetInfo& d, v1::Dataset* p);

}  // namespace attune::rpc

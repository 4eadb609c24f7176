// attune.v1.NowcastService: translates requests and delegates to streams::StreamStore (which
// persists the streams) and the nowcast engine behind each stream.
#pragma once
#include "attune/v1/nowcast_service.grpc.pb.h"
#include "core/lifecycle.h"
#include "streams/stream_store.h"

namespace attune::rpc {

class NowcastServiceImpl final : public v1::NowcastService::Service {
 public:
  NowcastServiceImpl(streams::StreamStore& store, const Lifecycle& life) : store_(store), life_(life) {}

  grpc::Status CreateStream(grpc::ServerContext*, const v1::CreateStreamRequest*, v1::NowcastStream*) override;
  grpc::Status Ingest(grpc::ServerContext*,
                      grpc::ServerReaderWriter<v1::IngestResponse, v1::IngestRequest>*) override;
  grpc::Status GetForecast(grpc::ServerContext*, const v1::GetForecastRequest*, v1::NowcastForecast*) override;
  grpc::Status GetStream(grpc::ServerContext*, const v1::GetStreamRequest*, v1::NowcastStream*) override;
  grpc::Status ListStreams(grpc::ServerContext*, const v1::ListStreamsRequest*, v1::ListStreamsResponse*) override;
  grpc::Status DeleteStream(grpc::ServerContext*, const v1::DeleteStreamRequest*, v1::DeleteStreamResponse*) override;
  grpc::Status ExportStreamModel(grpc::ServerContext*, const v1::ExportStreamModelRequest*,
                                 grpc::ServerWriter<v1::ExportStreamModelChunk>*) override;

 private:
  streams::StreamStore& store_;
  const Lifecycle& life_;
};

}  // namespace attune::rpc

// attune.v1.AdaptationService: translates requests and delegates to adapt::SessionManager.
#pragma once
#include "adapt/session_manager.h"
#include "attune/v1/adaptation_service.grpc.pb.h"

namespace attune::rpc {

class AdaptationServiceImpl final : public v1::AdaptationService::Service {
 public:
  explicit AdaptationServiceImpl(adapt::SessionManager& sessions) : sessions_(sessions) {}

  grpc::Status CreateSession(grpc::ServerContext*, const v1::CreateSessionRequest*, v1::Session*) override;
  grpc::Status Adapt(grpc::ServerContext*, grpc::ServerReaderWriter<v1::AdaptResponse, v1::AdaptRequest>*) override;
  grpc::Status ComputeFisher(grpc::ServerContext*, grpc::ServerReader<v1::ComputeFisherRequest>*,
                             v1::Session*) override;
  grpc::Status ResetSession(grpc::ServerContext*, const v1::ResetSessionRequest*, v1::Session*) override;
  grpc::Status GetSession(grpc::ServerContext*, const v1::GetSessionRequest*, v1::Session*) override;
  grpc::Status ListSessions(grpc::ServerContext*, const v1::ListSessionsRequest*, v1::ListSessionsResponse*) override;
  grpc::Status CloseSession(grpc::ServerContext*, const v1::CloseSessionRequest*, v1::CloseSessionResponse*) override;
  grpc::Status PublishSession(grpc::ServerContext*, const v1::PublishSessionRequest*, v1::Model*) override;

 private:
  adapt::SessionManager& sessions_;
};

tta::Options from_proto(const v1::AdaptationOptions& p);
void to_proto(const tta::Options& o, v1::AdaptationOptions* p);
void to_proto(const adapt::SessionInfo& s, v1::Session* p);

}  // namespace attune::rpc

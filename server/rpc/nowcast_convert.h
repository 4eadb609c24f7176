// attune.v1 nowcast messages <-> nowcast:: / streams:: types.
#pragma once
#include <string>
#include <vector>

#include "attune/v1/nowcast_service.pb.h"
#include "nowcast/nowcaster.h"
#include "streams/hosted_stream.h"

namespace attune::rpc {

struct StreamSpec {
  nowcast::StreamConfig config;
  nowcast::RetrainMode mode = nowcast::RetrainMode::background;
};

// Unset fields take the library's defaults for the stream's resolution. Throws
// std::invalid_argument / attune::Error naming the field as config.<path>.
StreamSpec from_proto(const v1::NowcastStreamConfig& p);
void to_proto(const nowcast::StreamConfig& c, nowcast::RetrainMode mode, v1::NowcastStreamConfig* p);

std::vector<nowcast::Observation> from_proto(
    const google::protobuf::RepeatedPtrField<v1::Observation>& observations);

void to_proto(const nowcast::Forecast& f, const nowcast::StreamConfig& c, v1::NowcastForecast* p);
void to_proto(const nowcast::FitRecord& r, v1::FitRecord* p);
void to_proto(const nowcast::Events& e, const nowcast::StreamConfig& c, v1::ObservationResult* p);
// Status, effective config, the newest `recent_fits` fit records and persistence counters.
void to_proto(const streams::HostedStream& s, int recent_fits, v1::NowcastStream* p);

}  // namespace attune::rpc

// Helpers of the NowcastService end-to-end tests: the NOAA splice as proto observations, Ingest
// calls, and a rendering of a stream's state for exact comparisons.
#pragma once

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "attune/v1/nowcast_service.grpc.pb.h"
#include "nowcast/weather_csv.h"
#include "server_process.h"

namespace attune::test {

using NowcastStub = v1::NowcastService::Stub;

inline const std::vector<nowcast::Observation>& splice() {
  static const auto obs = nowcast::seattle_new_york_splice(
      nowcast::read_weather_csv((source_dir() / "tests/fixtures/noaa/weather.csv").string()));
  return obs;
}

inline v1::Observation to_proto(const nowcast::Observation& o) {
  v1::Observation p;
  p.set_time(o.time);
  p.mutable_values()->insert(o.values.begin(), o.values.end());
  return p;
}

inline v1::IngestRequest request(const std::string& stream, size_t from, size_t to) {
  v1::IngestRequest r;
  r.set_stream(stream);
  for (size_t i = from; i < to; ++i) *r.add_observations() = to_proto(splice()[i]);
  return r;
}

// variables = the four NOAA columns; unset fields keep the server's defaults.
inline v1::NowcastStreamConfig stream_config(const std::string& name, std::vector<std::string> targets,
                                             const std::string& mode = "") {
  v1::NowcastStreamConfig c;
  c.set_name(name);
  for (const auto& v : nowcast::weather_variables()) c.add_variables(v);
  for (const auto& t : targets) c.add_targets(t);
  c.set_retrain_mode(mode);
  return c;
}

inline grpc::Status create(NowcastStub& s, const v1::NowcastStreamConfig& c, v1::NowcastStream* out = nullptr) {
  v1::CreateStreamRequest req;
  *req.mutable_config() = c;
  v1::NowcastStream resp;
  grpc::ClientContext ctx;
  return s.CreateStream(with_deadline(&ctx), req, out ? out : &resp);
}

// One Ingest call: sends `messages` in order, one reply each; stops at the first error.
struct IngestCall {
  std::vector<v1::IngestResponse> replies;
  grpc::Status status;
};

inline IngestCall ingest(NowcastStub& s, const std::vector<v1::IngestRequest>& messages) {
  IngestCall out;
  grpc::ClientContext ctx;
  with_deadline(&ctx, 300);
  auto call = s.Ingest(&ctx);
  for (const auto& m : messages) {
    v1::IngestResponse r;
    if (!call->Write(m) || !call->Read(&r)) break;
    out.replies.push_back(std::move(r));
  }
  call->WritesDone();
  out.status = call->Finish();
  return out;
}

// splice()[from, to) into `stream`, `batch` observations per message; asserts success.
inline std::vector<v1::IngestResponse> ingest_range(NowcastStub& s, const std::string& stream, size_t from,
                                                    size_t to, size_t batch) {
  std::vector<v1::IngestRequest> messages;
  for (size_t i = from; i < to; i += batch) messages.push_back(request(stream, i, std::min(to, i + batch)));
  auto call = ingest(s, messages);
  EXPECT_TRUE(call.status.ok()) << call.status.error_message();
  EXPECT_EQ(call.replies.size(), messages.size());
  return call.replies;
}

inline v1::NowcastStream get_stream(NowcastStub& s, const std::string& name, int recent_fits = 1000) {
  v1::GetStreamRequest req;
  req.set_name(name);
  req.set_recent_fits(recent_fits);
  v1::NowcastStream resp;
  grpc::ClientContext ctx;
  const auto st = s.GetStream(with_deadline(&ctx), req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp;
}

inline v1::NowcastForecast get_forecast(NowcastStub& s, const std::string& name) {
  v1::GetForecastRequest req;
  req.set_name(name);
  v1::NowcastForecast resp;
  grpc::ClientContext ctx;
  const auto st = s.GetForecast(with_deadline(&ctx), req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp;
}

// Protobuf's JSON mapping with object keys sorted (map fields serialize in no fixed order).
inline std::string json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return nlohmann::json::parse(out).dump(1);
}

// Everything GetStream reports that must survive a restart or match a twin stream: all but the
// name, creation time, persistence counters and the measured CPU-seconds of fits.
inline std::string state(v1::NowcastStream s) {
  s.mutable_config()->clear_name();
  s.clear_created_unix_seconds();
  s.clear_persistence();
  s.mutable_compute()->clear_train_cpu_seconds();
  for (auto& f : *s.mutable_recent_fits()) f.clear_cpu_seconds();
  return json(s);
}

inline std::string state(v1::NowcastForecast f) {
  f.clear_stream();
  return json(f);
}

// The status has `code` and its message contains every fragment.
inline void expect_status(const grpc::Status& st, grpc::StatusCode code, const std::vector<std::string>& fragments) {
  EXPECT_EQ(st.error_code(), code) << st.error_message();
  for (const auto& f : fragments)
    EXPECT_NE(st.error_message().find(f), std::string::npos) << "missing '" << f << "' in: " << st.error_message();
}

}  // namespace attune::test

// NowcastService input: a CreateStream config (rpc::from_proto -> nowcast::validate, then the
// config.json round trip the stream is restored from) or an Ingest message (rpc::from_proto,
// then the validation HostedStream::ingest runs on the whole batch, then the engine itself for
// the accepted observations). The first byte picks the message.
#include <cstdint>
#include <optional>

#include "attune/v1/nowcast_service.pb.h"
#include "fuzz_support.h"
#include "nowcast/nowcaster.h"
#include "rpc/nowcast_convert.h"
#include "streams/config_json.h"

namespace {

void fuzz_config(const uint8_t* data, size_t size) {
  attune::v1::NowcastStreamConfig p;
  if (!p.ParseFromArray(data, static_cast<int>(size))) return;
  attune::rpc::StreamSpec spec;
  if (!attune::fuzz::accepts("from_proto(NowcastStreamConfig)", [&] { spec = attune::rpc::from_proto(p); }))
    return;
  const attune::streams::StoredConfig stored{spec.config, spec.mode, 1.7e9};
  const std::string text = attune::streams::to_json(stored);
  attune::streams::StoredConfig back;
  FUZZ_CHECK(attune::fuzz::accepts("config.json round trip", [&] { back = attune::streams::from_json(text); }));
  FUZZ_CHECK(attune::streams::to_json(back) == text);
  attune::v1::NowcastStreamConfig echoed;
  attune::rpc::to_proto(spec.config, spec.mode, &echoed);
  attune::rpc::StreamSpec again;
  FUZZ_CHECK(attune::fuzz::accepts("from_proto(echoed config)", [&] { again = attune::rpc::from_proto(echoed); }));
}

const attune::nowcast::StreamConfig& stream() {
  static const auto c = [] {
    auto c = attune::nowcast::make_stream_config("s", {"temp", "wind"}, {"temp"}, 3600);
    c.model.kind = attune::nowcast::ModelKind::persistence;
    c.horizons = {1, 3};
    attune::nowcast::validate(c);
    return c;
  }();
  return c;
}

void fuzz_ingest(const uint8_t* data, size_t size) {
  attune::v1::IngestRequest req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return;
  if (req.observations_size() > 10000) return;  // the service rejects these before converting
  const auto batch = attune::rpc::from_proto(req.observations());
  std::optional<int64_t> last;
  const bool valid = attune::fuzz::accepts("check_observation", [&] {
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto row = attune::nowcast::check_observation(stream(), last, batch[i],
                                                          "observations[" + std::to_string(i) + "]");
      FUZZ_CHECK(row.size() == stream().variables.size());
      last = batch[i].time;
    }
  });
  if (!valid || batch.empty()) return;
  // Validated observations are never rejected by the engine (HostedStream relies on it: the log
  // already holds them when the engine sees them).
  attune::nowcast::Nowcaster engine(stream(), {});
  FUZZ_CHECK(attune::fuzz::accepts("Nowcaster::ingest_batch", [&] {
    const auto events = engine.ingest_batch(batch);
    FUZZ_CHECK(events.size() == batch.size());
  }));
  FUZZ_CHECK(engine.status().observations == static_cast<int64_t>(batch.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0)
    fuzz_config(data + 1, size - 1);
  else
    fuzz_ingest(data + 1, size - 1);
  return 0;
}

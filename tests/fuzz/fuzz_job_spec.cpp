// StartTraining's JobSpec: rpc::from_proto (training_convert) then train::validate; a spec that
// passes is persisted as job.json, and that round trip must give the same spec back (a restart
// resumes the job from it).
#include <cstdint>

#include "attune/v1/training_service.pb.h"
#include "fuzz_support.h"
#include "rpc/training_convert.h"
#include "train/job_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  attune::v1::JobSpec p;
  if (!p.ParseFromArray(data, static_cast<int>(size))) return 0;
  attune::train::JobSpec spec;
  if (!attune::fuzz::accepts("from_proto + validate", [&] {
        spec = attune::rpc::from_proto(p);
        attune::train::validate(spec);
      }))
    return 0;
  nlohmann::json stored;
  attune::train::JobSpec restored;
  FUZZ_CHECK(attune::fuzz::accepts("job.json round trip", [&] {
    stored = attune::train::to_json(spec);
    restored = attune::train::spec_from_json(nlohmann::json::parse(stored.dump(1)));
  }));
  FUZZ_CHECK(attune::train::to_json(restored) == stored);
  attune::v1::JobSpec echoed;
  attune::rpc::to_proto(spec, &echoed);  // GetJob echoes the spec
  return 0;
}

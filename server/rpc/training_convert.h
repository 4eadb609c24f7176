// attune.v1 training messages <-> train:: domain types.
#pragma once
#include "attune/v1/training_service.pb.h"
#include "core/architectures.h"
#include "train/job_runner.h"

namespace attune::rpc {

ArchitectureSpec from_proto(const v1::ArchitectureSpec& p);
void to_proto(const ArchitectureSpec& a, v1::ArchitectureSpec* p);
optim::OptimizerConfig from_proto(const v1::OptimizerSpec& p);
train::JobSpec from_proto(const v1::JobSpec& p);
void to_proto(const train::JobSpec& s, v1::JobSpec* p);
void to_proto(const train::Progress& p, train::JobState state, v1::JobMetadata* m);
void to_proto(const train::JobRecord& r, v1::Job* p);
v1::JobEvent::Kind to_proto(train::EventKind k);

}  // namespace attune::rpc

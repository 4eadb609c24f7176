// Follows a training job's WatchJob stream with a progress bar (or JSON lines with --json) and
// returns the finished job.
#pragma once
#include "attune/v1/training_service.grpc.pb.h"
#include "connection.h"

namespace attune::cli {

v1::Job watch_job(const Global& g, const std::string& name);
void print_job(const v1::Job& job, const Global& g);
std::string job_state_name(int state);

}  // namespace attune::cli

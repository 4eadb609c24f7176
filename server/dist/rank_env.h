// Where a worker's rank comes from when no flag gives it: the environment Kubernetes sets for
// Indexed Jobs (JOB_COMPLETION_INDEX) or the ordinal suffix of a StatefulSet pod's hostname
// ("attune-worker-2"). Rank 0 is always the server that owns the job, so workload indices
// 0, 1, ... become ranks 1, 2, ...
#pragma once
#include <optional>
#include <string>

namespace attune::dist {

struct RankChoice {
  int rank = -1;       // -1: any free rank, assigned by rank 0
  std::string source;  // for logs: "--rank", "JOB_COMPLETION_INDEX=1", "hostname attune-worker-0", "any"
};

// `explicit_rank` (the --rank flag or ATTUNE_RANK, -1 when unset) wins; then
// JOB_COMPLETION_INDEX + 1; then the hostname's trailing "-<n>" + 1; else any rank.
RankChoice choose_rank(int explicit_rank, const std::optional<std::string>& job_completion_index,
                       const std::string& hostname);
// The same from this process's environment and, inside Kubernetes (KUBERNETES_SERVICE_HOST set),
// gethostname().
RankChoice choose_rank_from_environment(int explicit_rank);

// "host:port" -> host ("[::1]:50051" -> "::1"). Throws std::invalid_argument when there is no port.
std::string host_of(const std::string& address);

}  // namespace attune::dist

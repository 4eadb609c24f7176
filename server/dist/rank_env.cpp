#include "dist/rank_env.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace attune::dist {
namespace {

std::optional<int> parse_index(const std::string& s) {
  if (s.empty() || s.size() > 6) return std::nullopt;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return std::stoi(s);
}

}  // namespace

RankChoice choose_rank(int explicit_rank, const std::optional<std::string>& job_completion_index,
                       const std::string& hostname) {
  if (explicit_rank >= 0) return {explicit_rank, "--rank " + std::to_string(explicit_rank)};
  if (job_completion_index) {
    const auto index = parse_index(*job_completion_index);
    if (!index)
      throw std::invalid_argument("JOB_COMPLETION_INDEX: expected an integer >= 0, received '" +
                                  *job_completion_index + "'");
    return {*index + 1, "JOB_COMPLETION_INDEX=" + *job_completion_index};
  }
  const auto dash = hostname.rfind('-');
  if (dash != std::string::npos) {
    if (const auto ordinal = parse_index(hostname.substr(dash + 1)))
      return {*ordinal + 1, "hostname " + hostname};
  }
  return {-1, "any free rank"};
}

RankChoice choose_rank_from_environment(int explicit_rank) {
  std::optional<std::string> index;
  if (const char* v = std::getenv("JOB_COMPLETION_INDEX"); v && *v) index = v;
  // Hostname ordinals only inside Kubernetes: elsewhere "laptop-2" says nothing about ranks.
  char host[256] = {};
  if (!std::getenv("KUBERNETES_SERVICE_HOST") || ::gethostname(host, sizeof host - 1) != 0) host[0] = 0;
  return choose_rank(explicit_rank, index, host);
}

std::string host_of(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size())
    throw std::invalid_argument("expected host:port, received '" + address + "'");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

}  // namespace attune::dist

// Bearer-token authorization with roles. Tokens live in a file, hashed (SHA-256, hex), one per
// line: "<name> <sha256-of-token> <role>[,<role>...]"; '#' starts a comment. Roles:
//   infer  inference, model metadata, health
//   adapt  test-time adaptation sessions
//   train  datasets, training jobs, nowcast streams
//   admin  model load/unload/create/export, and everything else
// Missing/unknown token: UNAUTHENTICATED; a valid token without the role: PERMISSION_DENIED.
// Off unless --tokens-file is set; the file is re-read on SIGHUP.
#pragma once
#include <grpcpp/server_context.h>

#include <map>
#include <mutex>
#include <set>
#include <string>

namespace attune::rpc {

enum class Role { kInfer, kAdapt, kTrain, kAdmin };
std::string role_name(Role r);

class TokenAuthority {
 public:
  static TokenAuthority& instance();

  // Loads (or replaces) the token table; throws std::invalid_argument naming the line on a
  // malformed file, leaving the previous table active.
  void load(const std::string& path);
  void reload();  // SIGHUP: load() the same file again, logging instead of throwing
  bool enabled() const;
  // Throws attune::Error(kUnauthenticated / kPermissionDenied).
  void authorize(const grpc::ServerContext& ctx, Role required) const;

  static std::string sha256_hex(const std::string& data);

 private:
  struct Entry {
    std::string name;
    std::set<Role> roles;
  };
  mutable std::mutex mu_;
  std::string path_;
  std::map<std::string, Entry> by_hash_;
  bool enabled_ = false;
};

}  // namespace attune::rpc

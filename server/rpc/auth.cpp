#include "rpc/auth.h"

#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/log.h"

namespace attune::rpc {
namespace {

Role parse_role(const std::string& s, const std::string& where) {
  if (s == "infer") return Role::kInfer;
  if (s == "adapt") return Role::kAdapt;
  if (s == "train") return Role::kTrain;
  if (s == "admin") return Role::kAdmin;
  throw std::invalid_argument(where + ": unknown role '" + s + "' (expected infer, adapt, train, admin)");
}

// Compares in time independent of where the strings differ.
bool equal_constant_time(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

std::string role_name(Role r) {
  switch (r) {
    case Role::kInfer: return "infer";
    case Role::kAdapt: return "adapt";
    case Role::kTrain: return "train";
    case Role::kAdmin: return "admin";
  }
  return "?";
}

TokenAuthority& TokenAuthority::instance() {
  static TokenAuthority a;
  return a;
}

std::string TokenAuthority::sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

void TokenAuthority::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("--tokens-file: cannot read " + path);
  std::map<std::string, Entry> table;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream ss(line);
    std::string name, digest, roles;
    if (!(ss >> name)) continue;
    const std::string where = path + " line " + std::to_string(n);
    if (!(ss >> digest >> roles))
      throw std::invalid_argument(where + ": expected '<name> <sha256-hex> <roles>'");
    if (digest.size() != 64 || digest.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw std::invalid_argument(where + ": the token must be stored as 64 lower-case hex digits of its "
                                  "SHA-256 (e.g. `printf %s TOKEN | sha256sum`)");
    Entry e{name, {}};
    std::stringstream rs(roles);
    for (std::string r; std::getline(rs, r, ',');) e.roles.insert(parse_role(r, where));
    table[digest] = e;
  }
  std::lock_guard<std::mutex> lock(mu_);
  path_ = path;
  by_hash_ = std::move(table);
  enabled_ = true;
  LOG_INFO("token authentication on: " << by_hash_.size() << " token(s) from " << path);
}

void TokenAuthority::reload() {
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    path = path_;
  }
  if (path.empty()) return;
  try {
    load(path);
  } catch (const std::exception& e) {
    LOG_ERROR("token reload failed, keeping the previous tokens: " << e.what());
  }
}

bool TokenAuthority::enabled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return enabled_;
}

void TokenAuthority::authorize(const grpc::ServerContext& ctx, Role required) const {
  if (!enabled()) return;
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end())
    throw Error(Code::kUnauthenticated,
                "missing credentials: send metadata 'authorization: Bearer <token>' (attune --token T)");
  const std::string value(it->second.data(), it->second.size());
  if (value.rfind("Bearer ", 0) != 0)
    throw Error(Code::kUnauthenticated, "authorization metadata must be 'Bearer <token>'");
  const std::string digest = sha256_hex(value.substr(7));
  std::lock_guard<std::mutex> lock(mu_);
  const Entry* found = nullptr;
  for (const auto& [hash, entry] : by_hash_)
    if (equal_constant_time(hash, digest)) found = &entry;
  if (!found) throw Error(Code::kUnauthenticated, "invalid token");
  if (found->roles.count(required) || found->roles.count(Role::kAdmin)) return;
  throw Error(Code::kPermissionDenied, "token '" + found->name + "' lacks the '" + role_name(required) +
                                           "' role this call needs");
}

}  // namespace attune::rpc

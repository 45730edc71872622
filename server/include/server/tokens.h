// Who may call ledgerd: bearer tokens from the tokens file (DESIGN 6.3), each scoped to
// tenants and allowed or not to act as `system`. Only SHA-256 digests of the tokens are
// kept; presented tokens are compared in constant time, and never logged.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/sha256.h"
#include "ledger/status.h"

namespace server {

// What a token is for (its entry's "role"). Least privilege: support and auditor tokens
// read and never write.
enum class Role {
  kUnset,    // no "role": a service token (DESIGN 6.3), or an admin one with "system": true
             // (the operator's token, e.g. ledgerd --create-dev-token's); see EffectiveRole
  kService,  // backend services: submit commands, check, state, leases
  kSupport,  // read-only: check, state, history, explain, diff, usage, rejections
  kAuditor,  // read-only: what support reads, plus digest, verify, export, the events
  kAdmin,    // everything, backups included (with every tenant)
};

// The name of a role as the tokens file spells it ("" for kUnset).
std::string_view RoleName(Role role);

// What a request needs, besides reaching its tenant.
enum class Right {
  kWrite,        // submit commands (HTTP, Cap'n Proto); lease checkout/heartbeat/checkin
  kCheck,        // access checks, the tenant's state, the lease list, the tenant list
  kSupportRead,  // history, explain, diff, usage, rejections
  kAuditRead,    // digest, verify, export, the events stream
  kBackup,       // backups of the whole ledger
};

// The name of a right, for messages ("write", "check", ...).
std::string_view RightName(Right right);

// Whether `role` carries `right` (backups also need every tenant; see AuthorizeAdmin).
// kUnset carries what kService does (a grant's own: EffectiveRole).
bool RoleAllows(Role role, Right right);

// One entry of the tokens file: {"name", "token_sha256", "tenants": ["*"] or [ids],
// "system": true|false, "role": "service"|"support"|"auditor"|"admin" (optional)}.
struct TokenGrant {
  std::string name;
  ledger::Digest token_sha256{};
  bool all_tenants = false;
  std::set<std::string> tenants;
  bool system = false;
  Role role = Role::kUnset;

  // True if the grant reaches `tenant`.
  bool Covers(std::string_view tenant) const {
    return all_tenants || tenants.count(std::string(tenant)) > 0;
  }
};

// The role a grant acts with: its own, or without one, `service` (DESIGN 6.3) — `admin`
// for a "system" grant, the operator's token.
Role EffectiveRole(const TokenGrant& grant);

// The parsed tokens file. Immutable once parsed: thread-safe.
class TokenRegistry {
 public:
  // Parses the file's text; InvalidArgument naming the entry and field on any problem
  // (duplicate names or digests included).
  static ledger::Status Parse(std::string_view json, TokenRegistry* out);
  // Reads and parses `path`.
  static ledger::Status Load(const std::string& path, TokenRegistry* out);

  // The grant of a presented secret token, or nullptr. Compares the token's SHA-256 with
  // every entry without stopping early (constant time in where it matches).
  const TokenGrant* Find(std::string_view token) const;

  size_t size() const { return grants_.size(); }

 private:
  std::vector<TokenGrant> grants_;
};

// The decision on one request: OK, or an HTTP status with a 6.1 code and message.
struct AuthDecision {
  int http_status = 200;  // 200, 401 or 403
  std::string code;       // "", "unauthorized", "forbidden"
  std::string message;

  bool ok() const { return http_status == 200; }
};

// The token of an "Authorization: Bearer <token>" header value, or nullopt.
std::optional<std::string_view> BearerToken(std::string_view authorization);

// May the holder of `token` (nullopt: none presented) do what `right` covers on `tenant`
// (empty: the global catalog) as `actor`? No or unknown token → 401; a role without the
// right, a tenant outside the grant, or actor `system` (or the catalog) without
// "system": true → 403.
AuthDecision Authorize(const TokenRegistry& tokens, std::optional<std::string_view> token,
                       std::string_view tenant, std::string_view actor, Right right);

// May the holder of `token` do what `right` covers on some tenant (a request that names
// none, such as a command without its tenant)? 401 or 403 otherwise.
AuthDecision AuthorizeAnyTenant(const TokenRegistry& tokens, std::optional<std::string_view> token,
                                Right right);

// May the holder of `token` do what `right` covers on every tenant (a grant with "*")?
// 401 or 403 otherwise.
AuthDecision AuthorizeAllTenants(const TokenRegistry& tokens, std::optional<std::string_view> token,
                                 Right right);

// May the holder of `token` run administrative operations on the whole ledger (backups)?
// That takes the admin rights of DESIGN 6.3: a grant for every tenant ("*") — a backup
// holds every tenant's data — with role admin, or without a role and "system": true.
// 401 or 403 otherwise.
AuthDecision AuthorizeAdmin(const TokenRegistry& tokens, std::optional<std::string_view> token);

// A new random token (64 hex characters) and its tokens-file entry with all tenants and
// system rights, for development setups.
struct DevelopmentToken {
  std::string token;
  std::string file_json;  // a JSON array with the one entry
};
DevelopmentToken NewDevelopmentToken(const std::string& name);

}  // namespace server

#include "server/tokens.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace server {

using ledger::Status;
using nlohmann::json;

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kUnset:
      return "";
    case Role::kService:
      return "service";
    case Role::kSupport:
      return "support";
    case Role::kAuditor:
      return "auditor";
    case Role::kAdmin:
      return "admin";
  }
  return "";
}

std::string_view RightName(Right right) {
  switch (right) {
    case Right::kWrite:
      return "submit commands";
    case Right::kCheck:
      return "check access";
    case Right::kSupportRead:
      return "read the tenant's history";
    case Right::kAuditRead:
      return "read audit data (digest, verify, export, events)";
    case Right::kBackup:
      return "run backups";
  }
  return "";
}

bool RoleAllows(Role role, Right right) {
  switch (role) {
    case Role::kUnset:  // a token without a role is a service token
    case Role::kService:
      return right == Right::kWrite || right == Right::kCheck;
    case Role::kSupport:
      return right == Right::kCheck || right == Right::kSupportRead;
    case Role::kAuditor:
      return right == Right::kCheck || right == Right::kSupportRead || right == Right::kAuditRead;
    case Role::kAdmin:
      return true;
  }
  return false;
}

Role EffectiveRole(const TokenGrant& grant) {
  if (grant.role != Role::kUnset) return grant.role;
  return grant.system ? Role::kAdmin : Role::kService;
}

namespace {

AuthDecision RoleRefusal(const TokenGrant& grant, Right right) {
  const std::string role = grant.role == Role::kUnset ? "no role, so service"
                                                      : "role " + std::string(RoleName(grant.role));
  return {403, "forbidden",
          "token '" + grant.name + "' (" + role + ") may not " + std::string(RightName(right))};
}

}  // namespace

Status TokenRegistry::Parse(std::string_view text, TokenRegistry* out) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) {
    return Status::InvalidArgument(
        "tokens: expected a JSON array of {name, token_sha256, "
        "tenants, system}");
  }
  TokenRegistry registry;
  std::set<std::string> names;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& e = j[i];
    const std::string where = "tokens[" + std::to_string(i) + "]";
    if (!e.is_object()) return Status::InvalidArgument(where + ": not an object");
    for (const auto& [key, value] : e.items()) {
      if (key != "name" && key != "token_sha256" && key != "tenants" && key != "system" &&
          key != "role") {
        return Status::InvalidArgument(where + ": unknown field '" + key + "'");
      }
    }
    TokenGrant g;
    if (!e.contains("name") || !e["name"].is_string() || e["name"].get<std::string>().empty()) {
      return Status::InvalidArgument(where + ".name: a non-empty string is required");
    }
    g.name = e["name"].get<std::string>();
    if (!names.insert(g.name).second) {
      return Status::InvalidArgument(where + ".name: '" + g.name + "' is used twice");
    }
    if (!e.contains("token_sha256") || !e["token_sha256"].is_string() ||
        !ledger::FromHex(e["token_sha256"].get<std::string>(), &g.token_sha256)) {
      return Status::InvalidArgument(where + ".token_sha256: 64 hex digits are required");
    }
    for (const auto& other : registry.grants_) {
      if (other.token_sha256 == g.token_sha256) {
        return Status::InvalidArgument(where + ".token_sha256: the same token as '" + other.name +
                                       "'");
      }
    }
    if (!e.contains("tenants") || !e["tenants"].is_array() || e["tenants"].empty()) {
      return Status::InvalidArgument(where + ".tenants: [\"*\"] or a list of tenant ids");
    }
    for (const auto& t : e["tenants"]) {
      if (!t.is_string() || t.get<std::string>().empty()) {
        return Status::InvalidArgument(where + ".tenants: tenant ids are non-empty strings");
      }
      if (t == "*") {
        g.all_tenants = true;
      } else {
        g.tenants.insert(t.get<std::string>());
      }
    }
    if (e.contains("system")) {
      if (!e["system"].is_boolean()) {
        return Status::InvalidArgument(where + ".system: true or false");
      }
      g.system = e["system"].get<bool>();
    }
    if (e.contains("role")) {
      const json& role = e["role"];
      const std::string name = role.is_string() ? role.get<std::string>() : "";
      bool known = false;
      for (Role r : {Role::kService, Role::kSupport, Role::kAuditor, Role::kAdmin}) {
        if (name == RoleName(r)) {
          g.role = r;
          known = true;
        }
      }
      if (!known) {
        return Status::InvalidArgument(where +
                                       ".role: \"service\", \"support\", \"auditor\" or \"admin\"");
      }
    }
    registry.grants_.push_back(std::move(g));
  }
  *out = std::move(registry);
  return Status::OK();
}

Status TokenRegistry::Load(const std::string& path, TokenRegistry* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("tokens: cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  Status s = Parse(text.str(), out);
  if (!s.ok()) return Status::InvalidArgument(path + ": " + s.message());
  return Status::OK();
}

const TokenGrant* TokenRegistry::Find(std::string_view token) const {
  const ledger::Digest presented = ledger::Sha256(token);
  const TokenGrant* found = nullptr;
  for (const auto& g : grants_) {
    // CRYPTO_memcmp takes the same time whatever the bytes; no early exit over entries.
    const bool equal =
        CRYPTO_memcmp(g.token_sha256.data(), presented.data(), presented.size()) == 0;
    if (equal && found == nullptr) found = &g;
  }
  return found;
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  // The scheme is case-insensitive (RFC 7235).
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char a = static_cast<char>(std::tolower(static_cast<unsigned char>(authorization[i])));
    const char b = static_cast<char>(std::tolower(static_cast<unsigned char>(kScheme[i])));
    if (a != b) return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

AuthDecision Authorize(const TokenRegistry& tokens, std::optional<std::string_view> token,
                       std::string_view tenant, std::string_view actor, Right right) {
  AuthDecision d;
  if (!token) {
    return {401, "unauthorized", "no token: send Authorization: Bearer <token>"};
  }
  const TokenGrant* grant = tokens.Find(*token);
  if (grant == nullptr) return {401, "unauthorized", "unknown token"};
  if (!RoleAllows(EffectiveRole(*grant), right)) return RoleRefusal(*grant, right);
  if (tenant.empty()) {
    if (!grant->system) {
      return {403, "forbidden", "token '" + grant->name + "' may not change the product catalog"};
    }
    return d;
  }
  if (!grant->Covers(tenant)) {
    return {403, "forbidden",
            "token '" + grant->name + "' does not reach tenant '" + std::string(tenant) + "'"};
  }
  if (actor == "system" && !grant->system) {
    return {403, "forbidden", "token '" + grant->name + "' may not act as system"};
  }
  return d;
}

AuthDecision AuthorizeAnyTenant(const TokenRegistry& tokens, std::optional<std::string_view> token,
                                Right right) {
  if (!token) return {401, "unauthorized", "no token: send Authorization: Bearer <token>"};
  const TokenGrant* grant = tokens.Find(*token);
  if (grant == nullptr) return {401, "unauthorized", "unknown token"};
  if (!RoleAllows(EffectiveRole(*grant), right)) return RoleRefusal(*grant, right);
  return {};
}

AuthDecision AuthorizeAllTenants(const TokenRegistry& tokens, std::optional<std::string_view> token,
                                 Right right) {
  if (!token) return {401, "unauthorized", "no token: send Authorization: Bearer <token>"};
  const TokenGrant* grant = tokens.Find(*token);
  if (grant == nullptr) return {401, "unauthorized", "unknown token"};
  if (!RoleAllows(EffectiveRole(*grant), right)) return RoleRefusal(*grant, right);
  if (!grant->all_tenants) {
    return {403, "forbidden",
            "token '" + grant->name + "' does not reach every tenant: name one (tenant=...)"};
  }
  return {};
}

AuthDecision AuthorizeAdmin(const TokenRegistry& tokens, std::optional<std::string_view> token) {
  if (!token) return {401, "unauthorized", "no token: send Authorization: Bearer <token>"};
  const TokenGrant* grant = tokens.Find(*token);
  if (grant == nullptr) return {401, "unauthorized", "unknown token"};
  const bool admin = EffectiveRole(*grant) == Role::kAdmin;
  if (!grant->all_tenants || !admin) {
    return {403, "forbidden",
            "token '" + grant->name +
                "' may not run backups (that needs \"tenants\": [\"*\"] and \"role\": "
                "\"admin\", or no role and \"system\": true)"};
  }
  return {};
}

DevelopmentToken NewDevelopmentToken(const std::string& name) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // no entropy: nothing is safe
  ledger::Digest raw{};
  std::copy(std::begin(bytes), std::end(bytes), raw.begin());
  DevelopmentToken t;
  t.token = ledger::ToHex(raw);
  const json entry = {{"name", name},
                      {"token_sha256", ledger::ToHex(ledger::Sha256(t.token))},
                      {"tenants", {"*"}},
                      {"system", true}};
  t.file_json = json::array({entry}).dump(2);
  return t;
}

}  // namespace server

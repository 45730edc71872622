#include "lease_routes.h"

#include <nlohmann/json.hpp>

namespace server {

using json = nlohmann::ordered_json;

bool LeaseCommandJson(std::string_view type, const std::string& tenant, const std::string& lease,
                      std::string_view body, const std::optional<std::string>& actor_param,
                      std::string* command_json, std::string* error) {
  json fields = json::object();
  if (!body.empty()) {
    fields = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!fields.is_object()) {
      *error = "body: a JSON object (or nothing)";
      return false;
    }
  }
  if (fields.contains("type")) {
    *error = "type: set by the route";
    return false;
  }
  if (fields.contains("tenant") && fields["tenant"] != tenant) {
    *error = "tenant: the path names another tenant";
    return false;
  }
  json command = json::object();
  command["type"] = type;
  command["tenant"] = tenant;
  if (!lease.empty()) {
    if (fields.contains("lease") && fields["lease"] != lease) {
      *error = "lease: the path names another lease";
      return false;
    }
    command["lease"] = lease;
  }
  if (actor_param) {
    if (fields.contains("actor") && fields["actor"] != *actor_param) {
      *error = "actor: the query and the body disagree";
      return false;
    }
    command["actor"] = *actor_param;
  } else if (type == "checkout" && !fields.contains("actor") && fields.contains("user")) {
    command["actor"] = fields["user"];  // users check out for themselves
  }
  for (auto& [key, value] : fields.items()) {
    if (!command.contains(key)) command[key] = value;
  }
  *command_json = command.dump();
  return true;
}

std::string LeasesJson(const std::string& tenant, const commands::TenantState& state,
                       const std::map<std::string, ledger::Micros>& expiries) {
  json leases = json::array();
  for (const auto& [subscription, sub] : state.subscriptions) {
    for (const auto& [id, lease] : sub.leases) {
      json row = json::object();
      row["lease"] = id;
      row["subscription"] = subscription;
      row["user"] = lease.user;
      row["device"] = lease.device;
      row["granted_at"] =
          lease.granted_at == 0 ? json(nullptr) : json(ledger::FormatRfc3339(lease.granted_at));
      auto e = expiries.find(id);
      row["expires_at"] =
          e == expiries.end() ? json(nullptr) : json(ledger::FormatRfc3339(e->second));
      leases.push_back(std::move(row));
    }
  }
  json out = json::object();
  out["tenant"] = tenant;
  out["leases"] = std::move(leases);
  return out.dump();
}

}  // namespace server

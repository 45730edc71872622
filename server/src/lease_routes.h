// The REST routes for floating seats (R19), beside POST /v1/commands:
//   POST   /v1/tenants/{t}/leases                    checkout  {subscription, user, device[, actor,
//   id]} POST   /v1/tenants/{t}/leases/{lease}/heartbeat  heartbeat {actor} DELETE
//   /v1/tenants/{t}/leases/{lease}            checkin   {actor[, id]} or ?actor= GET
//   /v1/tenants/{t}/leases                    the leases in use, with their expiries
// What they submit and list; the HTTP session does the I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "commands/state.h"
#include "ledger/time.h"

namespace server {

// The command JSON a lease route submits: the fields of `body` (a JSON object; empty means
// none) plus those the route fixes — `type`, `tenant`, and for heartbeat and checkin the
// `lease` of the path; a checkout's actor defaults to its user, `actor_param` (the ?actor=
// query) gives one otherwise. False with *error (a bad_request message naming the field)
// when the body is not an object or contradicts the path.
bool LeaseCommandJson(std::string_view type, const std::string& tenant, const std::string& lease,
                      std::string_view body, const std::optional<std::string>& actor_param,
                      std::string* command_json, std::string* error);

// {"tenant", "leases": [{lease, subscription, user, device, granted_at, expires_at}]}: the
// leases in use in `state` (the tenant's folded state), each with its latest expiry from
// `expiries` (lease id → expiry, from the lease table; null when absent).
std::string LeasesJson(const std::string& tenant, const commands::TenantState& state,
                       const std::map<std::string, ledger::Micros>& expiries);

}  // namespace server

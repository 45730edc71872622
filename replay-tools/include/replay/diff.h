// ledger-replay diff: what changed in a tenant between two points (times or positions):
// members, groups and subscriptions added, removed or changed field by field, and who
// gained or lost access to which product.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "commands/state.h"

namespace replay {

// The diff of two reconstructed states (see as_of.h), each with the time its rules were
// applied at: {"tenant","from":{version,position,at},"to":{...},"members":{"added",
// "removed","changed"},"groups":{...},"subscriptions":{...},"access":{"gained":[{user,
// product,subscription}],"lost":[{user,product,reason,subscription}]}}.
nlohmann::json Diff(const commands::TenantState& from, ledger::Micros from_at,
                    const commands::TenantState& to, ledger::Micros to_at);

// The same as text: one line per change.
void PrintDiff(const nlohmann::json& diff, std::ostream& out);

}  // namespace replay

// The state of a tenant as `ledger-replay state` prints it (DESIGN 6.2).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "commands/state.h"

namespace replay {

// {"tenant","version","position","at","members":[...],"groups":[...],"subscriptions":[...]}
// exactly as DESIGN 6.2; subscription status and violations evaluated at `at`.
nlohmann::json StateJson(const commands::TenantState& state, ledger::Micros at);

// The same as aligned tables: members, groups, subscriptions.
void PrintStateTables(const nlohmann::json& state, std::ostream& out);

}  // namespace replay

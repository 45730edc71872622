// What-if (issue 19): commands decided against a copy of a tenant's state at a time, with
// the real rules and time effects, recording nothing — "if seats drop to 5 at renewal,
// these 3 users lose pcon.planner". ledger-replay what-if and POST .../what-if share it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/store.h"
#include "projections/view_reader.h"

namespace replay {

// The tenant, the time the copy starts at (nullopt: now) and the commands (JSON objects,
// in order; each may carry "at", not before the previous one, to move the copy's clock).
struct WhatIfQuery {
  std::string tenant;
  std::optional<ledger::Micros> at;
  std::vector<std::string> commands;
};

// Most commands one what-if decides.
inline constexpr size_t kMaxWhatIfCommands = 1000;

// {"tenant","from":{"at"},"to":{"at"},"results":[{"id","type","at","status":"accepted"|
// "rejected","events":[types],"effects":[types due before it],"code","message"}...],
// "diff": the Diff (replay/diff.h) between the copy before and after}. NotFound: the
// tenant has no events; InvalidArgument: too many commands, or a time going backwards.
// A command that is malformed or names another tenant is a result rejected bad_request.
ledger::Status WhatIf(const ledger::Store& store, const projections::ViewReader& reader,
                      const WhatIfQuery& query, nlohmann::json* out);

}  // namespace replay

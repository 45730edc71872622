// ledger-replay history: everything that happened to one user, subscription or group of
// a tenant — events with actor, reason, recorded and effective times, cascades nested
// under the event that caused them, and rejected attempts from the rejection log.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "ledger/store.h"
#include "projections/view_reader.h"

namespace replay {

// Whose history, and optionally which window of recorded time (inclusive).
struct HistoryQuery {
  std::string tenant;
  char kind = 'u';  // 'u' user, 's' subscription, 'g' group
  std::string id;
  std::optional<ledger::Micros> from;
  std::optional<ledger::Micros> to;
};

// {"tenant","user"|"subscription"|"group","entries":[...]} in recorded order. An event
// entry: {"position","version","type","actor","recorded_at","effective_at","reason",
// "summary","caused":[entries it caused]}; a cause that does not itself touch the entity
// is included so its cascade can be shown under it ("context": true). A rejected attempt:
// {"rejected":true,"at","actor","command_id","command_type","code","message"}.
ledger::Status History(const ledger::Store& store, const projections::ViewReader& reader,
                       const HistoryQuery& query, nlohmann::json* out);

// The same as an aligned table, cascades indented under their cause.
void PrintHistory(const nlohmann::json& history, std::ostream& out);

}  // namespace replay

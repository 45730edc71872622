// Events as JSON for auditors: the envelope, the type and the payload's own fields, all
// derived from the Cap'n Proto schema by reflection, so a new event type needs no code.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ledger/event.h"

namespace replay {

// The payload's fields: snake_case names, times (every Int64 of the schema) as RFC 3339,
// enums as snake_case text, Data as lowercase hex, lists as arrays. {} for unknown types.
nlohmann::json PayloadJson(ledger::schema::Event::Reader event);

// {"position","tenant","version","type","event_id","command_id","caused_by" (position or
// null),"actor","recorded_at","effective_at","reason" (or null),"schema_version",
// "prev_hash","hash","payload"}.
nlohmann::json EventJson(ledger::schema::Event::Reader event);

// Compact JSON text. Bytes that are not UTF-8 (only a damaged store holds them: commands
// are UTF-8 JSON) become U+FFFD instead of throwing.
std::string DumpJson(const nlohmann::json& value);

}  // namespace replay

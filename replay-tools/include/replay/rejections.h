// ledger-replay rejections: the tenant's rejection log (R3) — every command the ledger
// refused, with who sent it, when, the code and the message — in the order received.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "ledger/store.h"

namespace replay {

// Which rejections: a tenant's, optionally in a window of time (inclusive), after a
// sequence number (a page's cursor), at most `limit` of them (0: all).
struct RejectionsQuery {
  std::string tenant;
  std::optional<ledger::Micros> from;
  std::optional<ledger::Micros> to;
  uint64_t after = 0;
  size_t limit = 0;
};

// One rejection's fields as every report shows them: {"at","actor","command_id",
// "command_type","code","message"}.
nlohmann::json RejectionJson(const ledger::RejectionRecord& r);

// {"tenant","rejections":[{"sequence","at","actor","command_id","command_type","code",
// "message"}...]} in sequence order, and "next" (the last sequence given, as text) when
// `limit` cut the list short.
ledger::Status Rejections(const ledger::Store& store, const RejectionsQuery& query,
                          nlohmann::json* out);

// The same as an aligned table.
void PrintRejections(const nlohmann::json& rejections, std::ostream& out);

}  // namespace replay

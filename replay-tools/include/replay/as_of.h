// Bitemporal reconstruction of a tenant: what was true at business time `at`, as the
// ledger knew it at `known_at`, or right after global position `position`.
#pragma once

#include <optional>
#include <string>

#include "commands/as_of.h"
#include "commands/state.h"
#include "ledger/store.h"
#include "projections/view_reader.h"

namespace replay {

// Which past to reconstruct (the point commands::CountsAsOf filters by). Empty:
// everything recorded, at "now"; with `at`, the time rules apply at it.
using AsOf = commands::AsOf;

// `tenant` folded from the events `as_of` selects, in stream order, with the time rules
// (R15) applied at *at_out: `at`, else the recorded time of `position`'s event (or of
// `known_at`), else `reader.Now()`. NotFound if the tenant has no events at all.
ledger::Status FoldAsOf(const ledger::Store& store, const projections::ViewReader& reader,
                        const std::string& tenant, const AsOf& as_of, commands::TenantState* state,
                        ledger::Micros* at_out);

// Parses "--from"/"--to" style arguments: an RFC 3339 time, or a global position (digits).
struct TimeOrPosition {
  std::optional<ledger::Micros> time;
  std::optional<uint64_t> position;
};
bool ParseTimeOrPosition(const std::string& text, TimeOrPosition* out);

}  // namespace replay

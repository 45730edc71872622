// Verification of the views: the rows of one tenant compared with the rows a fresh fold
// of its events gives (ledger-replay verify, and the tests).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/state.h"
#include "projections/views.h"

namespace projections {

// "" when the member, group, subscription (header and child rows) and entitlement rows of
// `folded.tenant` are byte for byte those computed from `folded` (the tenant folded from
// all its events); otherwise what differs first, e.g. "member row 'bob' differs".
std::string RowsMismatch(const ViewProjector& views, const commands::TenantState& folded);

// One event of a tenant as the index must know it: position and type name (as returned by
// ledger::EventTypeName, which outlives everything).
using IndexedEvent = std::pair<uint64_t, std::string_view>;

// "" when `tenant`'s index entries are exactly at its events' positions, naming their
// types, with at least one entry per event of a known type; otherwise what is wrong and
// *bad_position the position concerned. `events` ascending by position.
std::string IndexMismatch(const ViewProjector& views, const std::string& tenant,
                          const std::vector<IndexedEvent>& events, uint64_t* bad_position);

}  // namespace projections

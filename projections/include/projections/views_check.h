// Verification of the views: the rows of one tenant compared with the rows a fresh fold
// of its events gives (ledger-replay verify, and the tests).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/state.h"
#include "ledger/event.capnp.h"
#include "projections/views.h"

namespace projections {

// "" when the member, group, subscription (header and child rows) and entitlement rows of
// `folded.tenant` are byte for byte those computed from `folded` (the tenant folded from
// all its events); otherwise what differs first, e.g. "member row 'bob' differs".
std::string RowsMismatch(const ViewProjector& views, const commands::TenantState& folded);

// Calls fn(key, value) for each event-index entry the projector writes for `event` of
// `tenant` (one per user, group and subscription it names, one more if backdated), in key
// order, without duplicates.
void ForEachIndexEntry(std::string_view tenant, ledger::schema::Event::Reader event,
                       const std::function<void(std::string_view, std::string_view)>& fn);

// "" when `tenant`'s event index holds exactly `expected` (key → value: every entry its
// events give, see ForEachIndexEntry); otherwise what differs first, and *bad_position the
// position of that entry.
std::string IndexMismatch(const ViewProjector& views, const std::string& tenant,
                          const std::map<std::string, std::string>& expected,
                          uint64_t* bad_position);

}  // namespace projections

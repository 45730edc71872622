// Binary forms of folded state (Cap'n Proto, projections/schema/state.capnp): whole-tenant
// snapshots and the member, group and subscription rows of the views.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "commands/state.h"
#include "ledger/status.h"

namespace projections {

using commands::Micros;

// A whole tenant, as of its last folded event. `max_effective_at` is the latest
// effective_at among the folded events (an as-of question at T may start from this
// snapshot only if T >= it).
std::string EncodeSnapshot(const commands::TenantState& state, Micros max_effective_at);
ledger::Status DecodeSnapshot(std::string_view bytes, commands::TenantState* state,
                              Micros* max_effective_at);

std::string EncodeMember(const commands::Member& member);
ledger::Status DecodeMember(std::string_view bytes, commands::Member* member);

std::string EncodeGroup(const commands::Group& group);
ledger::Status DecodeGroup(std::string_view bytes, commands::Group* group);

// The header row of a subscription in view_subscriptions: its terms, the number of
// users holding a seat and its violations (R7, R13). Who holds, and what is assigned,
// are rows of their own (view_keys.h), so a seat change rewrites a few small rows.
std::string EncodeSubscriptionHeader(const commands::TenantState& state,
                                     const commands::Subscription& sub);
// Decodes a header row into `sub` (direct, groups and seat_since left empty).
ledger::Status DecodeSubscriptionHeader(std::string_view bytes, commands::Subscription* sub,
                                        uint32_t* assigned_count = nullptr,
                                        std::vector<std::string>* violations = nullptr);

}  // namespace projections

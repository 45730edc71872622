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

// A subscription row also carries what the fold derives for it in `state`: the users
// holding a seat and the violations (R7, R13).
std::string EncodeSubscriptionRow(const commands::TenantState& state,
                                  const commands::Subscription& sub);
// Decodes a row; `assigned` and `violations` (optional) receive the derived lists.
ledger::Status DecodeSubscriptionRow(std::string_view bytes, commands::Subscription* sub,
                                     std::vector<std::string>* assigned = nullptr,
                                     std::vector<std::string>* violations = nullptr);

}  // namespace projections

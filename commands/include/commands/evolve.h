// The one fold (DESIGN section 2): applies an event to the state. Used by command
// validation, projections and every replay tool, so they can never disagree.
#pragma once

#include "commands/state.h"
#include "ledger/event.capnp.h"

namespace commands {

// Applies one event of `state.tenant`'s stream. Events of kinds this build does not know
// only advance the version. REQUIRES: events are applied in stream order.
void Evolve(TenantState* state, ledger::schema::Event::Reader event);

// Applies one event of the catalog stream (product_defined).
void EvolveCatalog(Catalog* catalog, ledger::schema::Event::Reader event);

// Subscription status at time `t` with the time rules of R10, R11, R15 applied:
// "trial", "active", "cancelled" (renewal cancelled, usable until period end), "expired".
std::string StatusAt(const Subscription& sub, Micros t);

}  // namespace commands

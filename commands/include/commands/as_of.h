// A tenant as of a point of its past (DESIGN 4, the two time axes), and the time rules
// (R15) at a time. The one place that decides which events count as of a point, and the
// one step that stamps the effects due at a time and folds them: the command service, the
// projections, the access check and every replay tool go through here, so none can count
// an event or a due effect differently from the others.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "commands/state.h"
#include "ledger/event.h"
#include "ledger/status.h"

namespace ledger {
class Store;
}

namespace commands {

// A point of a tenant's past. Each bound is inclusive; an unset one bounds nothing, so
// AsOf{} is "everything recorded".
struct AsOf {
  std::optional<Micros> at;          // business time: events effective at or before
  std::optional<Micros> known_at;    // ledger time: events recorded at or before
  std::optional<uint64_t> position;  // events at or before this global position
  std::optional<uint64_t> version;   // events at or before this stream version
};

// Whether an event counts as of a point.
enum class Counts {
  kFold,  // it counts: fold it
  kSkip,  // not effective by then; a later (backdated) event may still count
  kStop,  // past the point, and so is every later event of the stream: stop reading
};

// Whether `event` counts as of `point`. REQUIRES: the events of a stream are asked in
// stream order (position, version and recorded_at never decrease along it).
Counts CountsAsOf(const AsOf& point, ledger::schema::Event::Reader event);

// Folds `event` into *state (Evolve) if it counts as of `point`; returns the verdict.
// REQUIRES: as CountsAsOf, and the events before it were folded the same way.
Counts FoldAsOf(const AsOf& point, ledger::schema::Event::Reader event, TenantState* state);

// `tenant`'s stream read from `store` and folded as of `point` into a fresh *state.
ledger::Status LoadTenantAsOf(const ledger::Store& store, const std::string& tenant,
                              const AsOf& point, TenantState* state);

// The one due-effects step (R15): the effects due at `t` (DueEffects), stamped as the clock
// writes them — tenant stream versions from state.version + 1 on, recorded at
// max(t, state.at), each effective when it fell due — and folded in time order into a
// copy of `state` (*out). Lease expiries only with `expire_leases`, for the writer, whose
// state knows the heartbeats. Returns the stamped events, for the writer to append; empty,
// leaving *out alone, when nothing is due.
std::vector<ledger::EventDraft> StepDueEffects(const TenantState& state, Micros t,
                                               bool expire_leases, TenantState* out);

// StepDueEffects for readers (time rules at query time): folds the effects due by `t` into
// a copy of `state` (*out), as if the clock had written them — all but lease expiries,
// which readers cannot foresee (heartbeats are not events): a lease counts until its
// lease_expired or lease_released is written. Returns false, leaving *out alone, when
// nothing is due.
bool ApplyDueEffects(const TenantState& state, Micros t, TenantState* out);

}  // namespace commands

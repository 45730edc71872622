// Which events count as of a point, and the step that brings the effects due at a time.
#include "commands/as_of.h"

#include <algorithm>

#include "commands/decide.h"
#include "commands/evolve.h"
#include "ledger/store.h"

namespace commands {

Counts CountsAsOf(const AsOf& point, ledger::schema::Event::Reader event) {
  // Position, version and recorded time only grow along a stream: once past, always past.
  if (point.position && event.getPosition() > *point.position) return Counts::kStop;
  if (point.version && event.getVersion() > *point.version) return Counts::kStop;
  if (point.known_at && event.getRecordedAt() > *point.known_at) return Counts::kStop;
  // Business time does not: a backdated correction recorded later may still count.
  if (point.at && event.getEffectiveAt() > *point.at) return Counts::kSkip;
  return Counts::kFold;
}

Counts FoldAsOf(const AsOf& point, ledger::schema::Event::Reader event, TenantState* state) {
  const Counts counts = CountsAsOf(point, event);
  if (counts == Counts::kFold) Evolve(state, event);
  return counts;
}

ledger::Status LoadTenantAsOf(const ledger::Store& store, const std::string& tenant,
                              const AsOf& point, TenantState* state) {
  *state = TenantState();
  state->tenant = tenant;
  auto c = store.ReadStream(tenant, 1, point.version.value_or(UINT64_MAX));
  for (; c->Valid(); c->Next()) {
    if (FoldAsOf(point, c->event().event(), state) == Counts::kStop) break;
  }
  return c->status();
}

std::vector<ledger::EventDraft> StepDueEffects(const TenantState& state, Micros t,
                                               bool expire_leases, TenantState* out) {
  std::vector<ledger::EventDraft> effects = DueEffects(state, t, expire_leases);
  if (effects.empty()) return effects;
  *out = state;
  // The writer's `t` is the ledger's time, never before the tenant's last event; a reader
  // may look at a time before a backdated correction it folded.
  const Micros recorded_at = std::max(t, state.at);
  for (size_t i = 0; i < effects.size(); ++i) {
    auto e = effects[i].root();
    e.setTenant(state.tenant);
    e.setVersion(state.version + i + 1);
    e.setPosition(state.position);  // the store assigns the real one
    e.setRecordedAt(recorded_at);
    // As the store stamps a draft (0: when recorded).
    e.setEffectiveAt(effects[i].effective_at != 0 ? effects[i].effective_at : recorded_at);
    Evolve(out, effects[i].reader());
  }
  return effects;
}

bool ApplyDueEffects(const TenantState& state, Micros t, TenantState* out) {
  return !StepDueEffects(state, t, /*expire_leases=*/false, out).empty();
}

}  // namespace commands

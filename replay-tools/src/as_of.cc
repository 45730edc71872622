#include "replay/as_of.h"

#include <algorithm>

#include "commands/as_of.h"

namespace replay {

bool ParseTimeOrPosition(const std::string& text, TimeOrPosition* out) {
  *out = TimeOrPosition();
  if (!text.empty() &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 19) return false;
    out->position = std::stoull(text);
    return true;
  }
  out->time = ledger::ParseRfc3339(text);
  return out->time.has_value();
}

ledger::Status FoldAsOf(const ledger::Store& store, const projections::ViewReader& reader,
                        const std::string& tenant, const AsOf& as_of, commands::TenantState* state,
                        ledger::Micros* at_out) {
  ledger::StreamHead head;
  ledger::Status s = store.GetHead(tenant, &head);
  if (!s.ok()) return s;
  if (head.version == 0) return ledger::Status::NotFound("unknown tenant " + tenant);

  ledger::Micros at = 0;
  const bool everything = !as_of.at && !as_of.known_at && !as_of.position && !as_of.version;
  if (as_of.at && !as_of.known_at && !as_of.position && !as_of.version) {
    // Business time only: the views' snapshots answer it (or a fold when they are stale).
    s = reader.StateAt(tenant, *as_of.at, state);
    if (!s.ok()) return s;
    at = *as_of.at;
  } else {
    // Fold the whole stream with the filters: exact and independent of the views.
    s = commands::LoadTenantAsOf(store, tenant, as_of, state);
    if (!s.ok()) return s;
    if (as_of.at) {
      at = *as_of.at;
    } else if (as_of.known_at) {
      at = *as_of.known_at;
    } else {
      // No business-time bound skipped an event: the last one folded is the last one read.
      at = state->at;
      if (as_of.position) {
        // The ledger's time right after that position (the tenant may not have written it).
        auto p = store.ReadLog(*as_of.position, *as_of.position);
        if (p->Valid()) at = std::max(at, p->event().event().getRecordedAt());
      }
    }
  }
  if (everything) at = reader.Now();
  // Time rules at `at` (R15): what fell due by then applies, written or not. The state
  // still reports the last event written (version, position).
  commands::TenantState due;
  if (commands::ApplyDueEffects(*state, at, &due)) {
    due.version = state->version;
    due.position = state->position;
    *state = std::move(due);
  }
  *at_out = at;
  return ledger::Status::OK();
}

}  // namespace replay

// decide(state, command, now) → events | rejection (DESIGN section 2). Pure: no I/O, no
// clock reads, no exceptions for business outcomes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "commands/command.h"
#include "commands/state.h"
#include "ledger/event.h"
#include "ledger/store.h"

namespace commands {

// The R14 report of an import: every row lands in exactly one list.
struct ImportReport {
  struct Row {
    int line = 0;   // CSV line (header = 1), or 0 for JSON rows
    int index = 0;  // 0-based position in the rows
    std::string user;
    std::string email;
    std::string problem;  // empty for valid rows
  };
  std::vector<Row> valid, incomplete, invalid, duplicates;
};

// The lease a checkout or heartbeat answers with (R19).
struct LeaseOutcome {
  std::string lease;
  std::string subscription;
  Micros expires_at = 0;
  bool ended = false;  // checkin: the lease is released (drop it from the lease table)
};

// What a command decides: its events (in order), or a rejection; for import_members the
// report; for checkout, heartbeat and checkin the lease.
struct Decided {
  std::vector<ledger::EventDraft> events;
  std::optional<ledger::Rejected> rejection;
  std::optional<ImportReport> report;
  std::optional<LeaseOutcome> lease;
};

// Decides `command` against `state` (the tenant's state with every effect due at `now`
// already applied) and the product catalog. For define_product, `state` is the catalog
// stream's (unused).
Decided Decide(const TenantState& state, const Catalog& catalog, const Command& command,
               Micros now);

// The time-driven effects (R15) due at or before `t`: trial ends, renewals (with the
// scheduled decrease and downgrade applied as their own events), expiries and, with
// `expire_leases`, lease expiries (R19; `state` must then know the latest heartbeats), in
// time order, each effective at the moment it fell due. Empty when nothing is due. To
// stamp and fold them, use StepDueEffects or ApplyDueEffects (commands/as_of.h).
std::vector<ledger::EventDraft> DueEffects(const TenantState& state, Micros t,
                                           bool expire_leases = true);

}  // namespace commands

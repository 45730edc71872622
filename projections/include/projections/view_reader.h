// ViewReader: answers questions from the materialized views — the access check (R18)
// from the entitlement rows, rows of members, groups and subscriptions, and folded
// states as of any time from the nearest snapshot. Thread-safe; reads only.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands/access.h"
#include "commands/state.h"
#include "ledger/store.h"
#include "projections/views.h"

namespace projections {

namespace internal {
class RowCache;
}

class ViewReader {
 public:
  // Reads `views`, which `store` maintains (both must outlive the reader). On a read-only
  // store, up to `cached_rows` decoded entitlement rows are kept in memory (the rows cannot
  // change under the reader); a writable store is always read through.
  ViewReader(const ViewProjector* views, const ledger::Store* store,
             size_t cached_rows = 256 * 1024);
  ~ViewReader();

  // The access check at `at` (nullopt = now: the wall clock in system mode, the ledger
  // time in manual mode). From the entitlement row when it holds at that time; otherwise
  // from the tenant folded as of `at` (nearest snapshot), with time rules applied at `at`.
  ledger::Status Check(const std::string& tenant, const std::string& user,
                       const std::string& product, std::optional<commands::Micros> at,
                       commands::AccessDecision* out) const;

  // `tenant` folded from every event effective at or before `at` (nullopt: all events).
  ledger::Status StateAt(const std::string& tenant, std::optional<commands::Micros> at,
                         commands::TenantState* state) const;

  // Global positions of `tenant`'s events that touched one entity (kind 'u' user, 'g'
  // group, 's' subscription), ascending: from the event index, or by scanning the stream
  // when the views are stale.
  ledger::Status EntityPositions(const std::string& tenant, char kind, const std::string& id,
                                 std::vector<uint64_t>* positions) const;

  // "Now" as checks see it.
  commands::Micros Now() const;

  // Counters: checks answered from rows, and by folding (for tests and benches).
  uint64_t fast_checks() const { return fast_.load(); }
  uint64_t folded_checks() const { return folded_.load(); }

 private:
  ledger::Status Get(ViewProjector::Family family, const std::string& key, std::string* value,
                     bool* found) const;

  const ViewProjector* views_;
  const ledger::Store* store_;
  std::unique_ptr<internal::RowCache> rows_;  // nullptr: no cache
  mutable std::atomic<uint64_t> fast_{0}, folded_{0};
};

}  // namespace projections

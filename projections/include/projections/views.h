// ViewProjector: maintains the materialized views of DESIGN section 5 in the store's write
// batch — members, groups, subscriptions, per-user entitlements, a per-entity event index
// and periodic per-tenant snapshots — from the one fold (commands::Evolve).
//
// Usage: create it, pass it in StoreOptions::projectors, open the store; then read the
// views with a ViewReader. The writer keeps recently used tenants folded in memory (an
// LRU bounded by ViewOptions::cache_bytes); everything else lives in the store's tables
// (ledger/rows.h). Called by the store's writer thread only; readers use the const
// accessors, which are thread-safe once the store is open.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "commands/state.h"
#include "ledger/projector.h"

namespace projections {

// Options of the views. Value type.
struct ViewOptions {
  // A tenant's folded state is snapshotted every this many of its events.
  uint64_t snapshot_every = 1000;
  // Memory for folded tenants kept by the writer (estimated bytes).
  size_t cache_bytes = 256u << 20;
};

// Small per-tenant record in view_entitlements: what a check needs besides the user row.
struct TenantMarker {
  bool exists = false;
  uint64_t version = 0;
  commands::Micros at = 0;  // recorded_at of the tenant's last event
};

// The stored form of a TenantMarker (17 bytes: exists, version, at; big-endian).
std::string EncodeTenantMarker(const TenantMarker& marker);
// Reads a stored TenantMarker; false if `bytes` is not one.
bool DecodeTenantMarker(std::string_view bytes, TenantMarker* marker);

class ViewProjector final : public ledger::Projector {
 public:
  // Bump when rows change meaning: every ledger then rebuilds its views at open.
  // 2: subscriptions keep their leases (R19). 3: entitlement rows big-endian (coding.h).
  static constexpr uint32_t kVersion = 3;

  // Family indexes, in the order of families().
  enum Family { kMembers, kGroups, kSubscriptions, kEntitlements, kIndex, kSnapshots, kCount };

  explicit ViewProjector(ViewOptions options = ViewOptions());
  ~ViewProjector() override;

  // ledger::Projector.
  std::string name() const override { return "views"; }
  uint32_t version() const override { return kVersion; }
  std::vector<std::string> families() const override;
  void Attach(const ledger::RowReader* rows, const std::vector<ledger::TableId>& tables,
              bool current, ledger::StreamReader read_stream) override;
  ledger::Status Project(ledger::schema::Event::Reader event,
                         const ledger::ProjectContext& context) override;
  void Reset() override;

  // False when the stored rows are stale (a read-only open of an older ledger).
  bool current() const { return current_; }
  // Reads of the view tables. REQUIRES: attached (the store is open).
  const ledger::RowReader& rows() const { return *rows_; }
  // The table of family `f`. REQUIRES: current().
  ledger::TableId table(Family f) const { return tables_[f]; }
  // Reads a tenant's stream from the store.
  const ledger::StreamReader& stream_reader() const { return read_stream_; }

  // Folded tenants held in memory, and their estimated bytes (for tests and benches).
  size_t cached_tenants() const { return cache_.size(); }
  size_t cached_bytes() const { return cached_bytes_; }

 private:
  struct Cached;
  // The cached tenant, folded (on a miss) up to stream version `upto`.
  ledger::Status Load(const std::string& tenant, uint64_t upto, Cached** out);
  void Evict(const ledger::ProjectContext& context);

  ViewOptions options_;
  const ledger::RowReader* rows_ = nullptr;
  std::vector<ledger::TableId> tables_;
  bool current_ = false;
  ledger::StreamReader read_stream_;
  std::list<std::string> lru_;  // front = most recently used
  std::unordered_map<std::string, std::unique_ptr<Cached>> cache_;
  size_t cached_bytes_ = 0;
};

// Loads `tenant`'s folded state from its latest snapshot at or before `at` (effective
// time; nullopt = the latest) plus the events after it up to stream version `upto`, read
// with `read_stream`. *max_effective_at gets the latest effective_at folded (optional).
// With `at`, the stream is read only up to the events recorded by `at`; backdated events
// recorded later but effective by `at` are found through the index table `index` ('b'
// entries) and read with `read_log` (one position).
ledger::Status LoadFromSnapshot(
    const ledger::RowReader& rows, ledger::TableId snapshots,
    const ledger::StreamReader& read_stream, const std::string& tenant,
    std::optional<commands::Micros> at, uint64_t upto, commands::TenantState* state,
    commands::Micros* max_effective_at = nullptr, ledger::TableId index = ledger::TableId(),
    const std::function<std::unique_ptr<ledger::EventCursor>(uint64_t)>& read_log = nullptr);

}  // namespace projections

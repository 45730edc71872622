// The live-lease table (R19): an ordinary side table of the store that the commands layer
// declares and owns. Heartbeats are not events, but the latest expiry of each lease must
// survive a restart: its rows are written with the command's group (ledger::Decision::rows).
//
//   leases   tenant \0 lease id   → expires_at (8 bytes, big-endian, ledger/coding.h)
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "ledger/store.h"

namespace commands {

// The name of the lease table among the store's side tables.
inline constexpr char kLeaseTable[] = "leases";

// Declares the side tables the commands layer keeps (the lease table). Call on the options
// of every store a CommandService will write, before Store::Open.
void AddSideTables(ledger::StoreOptions* options);

// Reads and writes the lease table of one store. Immutable after construction:
// thread-safe.
class LeaseTable {
 public:
  // The lease table of `store` (which must outlive this). A store without the table (a
  // read-only open of an older ledger) reads as empty; writes then fail their command.
  explicit LeaseTable(const ledger::Store& store);

  // The row that sets `lease`'s expiry.
  ledger::RowWrite Put(std::string_view tenant, std::string_view lease,
                       ledger::Micros expires_at) const;
  // The row that drops `lease`.
  ledger::RowWrite Delete(std::string_view tenant, std::string_view lease) const;

  // Calls `fn(tenant, lease, expires_at)` for every lease — of `tenant` only when not
  // empty — in key order, until it returns false. Corruption on a malformed row.
  ledger::Status ForEach(std::string_view tenant,
                         const std::function<bool(std::string_view tenant, std::string_view lease,
                                                  ledger::Micros expires_at)>& fn) const;

 private:
  const ledger::Store& store_;
  ledger::TableId table_;  // invalid when the store has no lease table
};

}  // namespace commands

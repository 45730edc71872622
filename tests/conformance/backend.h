// The log backends the conformance suite runs against, behind one small interface: every
// test takes a Backend, opens its ledger, submits commands through the CommandService and
// looks at what a user sees (results, the log, heads, the rejection log, the views). A new
// backend (PostgreSQL, DESIGN 7) is one more entry in Backends(); no test changes.
//
// Not thread-safe, except where a method says so: the store, the service and the reader
// of an open ledger are themselves thread-safe, and PowerOff may race with commands.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands/service.h"
#include "ledger/status.h"
#include "ledger/store.h"
#include "projections/view_reader.h"

namespace conformance {

class Backend {
 public:
  virtual ~Backend() = default;

  // The name tests show in their section names ("rocksdb-disk").
  virtual std::string name() const = 0;

  // Opens the backend's ledger, creating it empty with the manual clock on the first open.
  // With `rebuild_views` the views are dropped and rebuilt from the log. REQUIRES: closed.
  virtual ledger::Status Open(bool rebuild_views = false) = 0;
  // Shuts the ledger down (in-flight commands finish first). Nothing if already closed.
  virtual void Close() = 0;
  // Simulates a power loss now, while commands may be in flight (thread-safe): nothing
  // reaches durable storage any more and writes fail. The next Open, after Close, comes
  // back with only what was durable before this call.
  virtual void PowerOff() = 0;

  // The open ledger. REQUIRES: open.
  virtual ledger::Store& store() = 0;
  virtual commands::CommandService& service() = 0;
  virtual projections::ViewReader& reader() = 0;
  // "" when every view row of `tenant` equals what a fresh fold of its events gives;
  // otherwise what differs first. REQUIRES: open.
  virtual std::string ViewsMismatch(const std::string& tenant) = 0;
  // Every view row of every tenant, keyed "family/key" (to compare with a rebuild).
  // REQUIRES: open.
  virtual std::map<std::string, std::string> DumpViews() = 0;

  // Close, then Open.
  ledger::Status Reopen(bool rebuild_views = false) {
    Close();
    return Open(rebuild_views);
  }
};

// How to make a fresh backend (nothing stored yet; destroying it removes what it stored).
struct BackendFactory {
  std::string name;
  std::function<std::unique_ptr<Backend>()> make;
};

// Every backend the suite runs against.
const std::vector<BackendFactory>& Backends();

}  // namespace conformance

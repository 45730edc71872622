// Opening a data directory for the audit tools: read-only, as a RocksDB secondary
// instance (safe while ledgerd or ledgerctl writes), with the views attached.
#pragma once

#include <memory>
#include <string>

#include "ledger/store.h"
#include "projections/view_reader.h"
#include "projections/views.h"

namespace replay {

// A ledger opened for reading, as it stood when opened. Removes its secondary
// instance's scratch directory on destruction. Thread-safe for reads (the store and the
// views it holds are).
class AuditLedger {
 public:
  ~AuditLedger();

  // Opens `data`. NotFound if it is not a ledger.
  static ledger::Status Open(const std::string& data, std::unique_ptr<AuditLedger>* out);

  const ledger::Store& store() const { return *store_; }
  const projections::ViewProjector& views() const { return *views_; }
  const projections::ViewReader& reader() const { return *reader_; }

 private:
  AuditLedger() = default;
  std::string scratch_;  // the secondary instance's own directory
  std::shared_ptr<projections::ViewProjector> views_;
  std::unique_ptr<ledger::Store> store_;
  std::unique_ptr<projections::ViewReader> reader_;
};

}  // namespace replay

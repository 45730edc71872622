#include "replay/audit_ledger.h"

#include <cstdlib>
#include <filesystem>

namespace replay {

AuditLedger::~AuditLedger() {
  reader_.reset();
  store_.reset();
  if (!scratch_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch_, ec);
  }
}

ledger::Status AuditLedger::Open(const std::string& data, std::unique_ptr<AuditLedger>* out) {
  std::error_code ec;
  if (!std::filesystem::exists(data + "/CURRENT", ec)) {
    return ledger::Status::NotFound(data + " is not a ledger (no RocksDB database there)");
  }
  std::unique_ptr<AuditLedger> ledger(new AuditLedger());
  // A secondary instance keeps its own info log and manifest copy: a scratch directory.
  const char* base = std::getenv("TMPDIR");
  std::string scratch = std::string(base != nullptr ? base : "/tmp") + "/ledger-replay-XXXXXX";
  if (::mkdtemp(scratch.data()) == nullptr) {
    return ledger::Status::IOError("cannot create a scratch directory for the secondary instance");
  }
  ledger->scratch_ = scratch;
  ledger->views_ = std::make_shared<projections::ViewProjector>();
  ledger::StoreOptions options;
  options.read_only = true;
  options.secondary_path = scratch;
  options.projectors = {ledger->views_};
  ledger::Status s = ledger::Store::Open(options, data, &ledger->store_);
  if (!s.ok()) return s;
  ledger->reader_ =
      std::make_unique<projections::ViewReader>(ledger->views_.get(), ledger->store_.get());
  *out = std::move(ledger);
  return ledger::Status::OK();
}

}  // namespace replay

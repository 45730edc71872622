// The one mapping from RocksDB's status to ledger::Status (internal).
#pragma once

#include <rocksdb/status.h>

#include "ledger/status.h"

namespace ledger {

// RocksDB status → ledger status. Corruption stays corruption (a damaged or tampered
// file: never retried, never confused with an I/O error); busy and try-again become
// Unavailable (worth trying again); a full disk and every other failure of the file
// system are I/O errors; NotFound keeps RocksDB's message empty-safe.
Status FromRocks(const rocksdb::Status& s);

}  // namespace ledger

// RocksDB's diagnostic LOG, written so that a full disk cannot take the process down.
//
// RocksDB 7.8's own file logger (EnvLogger) asserts when it is used again after a write
// of it failed, and Debian builds the library with assertions on: on a full disk the
// first diagnostic line after the failure aborted ledgerd (tests/server/disk_full_test.cc).
// This logger writes the same file with stdio and drops lines it cannot write.
#pragma once

#include <rocksdb/env.h>

#include <memory>
#include <string>

namespace ledger {

// A logger appending to `<db_dir>/LOG` (the previous one kept as LOG.old). Never fails:
// nullptr only if the file cannot be opened at all (RocksDB then makes its own).
std::shared_ptr<rocksdb::Logger> NewInfoLog(const std::string& db_dir);

}  // namespace ledger

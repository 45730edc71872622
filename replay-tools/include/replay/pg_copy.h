// Reading the log on PostgreSQL (DESIGN section 7) with the audit tools: a local copy.
#pragma once

#include <string>

#include "ledger/status.h"

namespace replay {

// Copies the PostgreSQL log at `conninfo` (a libpq connection string) into the ledger
// directory `dir` — created, or brought up to date if it holds an earlier copy of the same
// log — with its views, without taking the right to write the log (nodes keep writing
// meanwhile; the copy is the log as of the moment it was read). `dir` then answers every
// ledger-replay verb exactly as the log's own data directory would: same events, hashes
// and views. NotFound if the database has no ledger.
ledger::Status CopyPostgresLog(const std::string& conninfo, const std::string& dir);

// A temporary directory for a copy of the log (under $TMPDIR or /tmp), removed with
// everything in it on destruction. Not thread-safe.
class TempCopyDir {
 public:
  TempCopyDir() = default;
  TempCopyDir(const TempCopyDir&) = delete;
  TempCopyDir& operator=(const TempCopyDir&) = delete;
  ~TempCopyDir();
  // Creates the directory (named after `tool`); returns the copy's path inside it, or ""
  // if it cannot be created.
  std::string Make(const std::string& tool);

 private:
  std::string dir_;
};

}  // namespace replay

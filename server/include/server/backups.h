// Backups of the server's own ledger, asked for over HTTP (POST /v1/admin/backup) or on
// the admin socket (`ledgerctl --data DIR backup DEST` while ledgerd runs on DIR). The
// store takes them (ledger::Store::Backup: RocksDB's BackupEngine, cut between two
// groups) while commands go on.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "ledger/backup.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace server {

// Runs one backup at a time on a thread of its own, so no I/O thread waits for the copy.
// Logs one line per backup on stderr. Thread-safe.
class BackupRunner {
 public:
  // Called once a backup finished: OK with what it holds, or why it failed.
  using Done = std::function<void(const ledger::Status& status, const ledger::BackupInfo& info)>;

  // `default_dir`: where POST /v1/admin/backup writes (ledgerd's --backup-dir; empty:
  // that route is refused). REQUIRES: `store` outlives the runner.
  BackupRunner(ledger::Store* store, std::string default_dir);
  // Waits for a running backup to finish.
  ~BackupRunner();

  BackupRunner(const BackupRunner&) = delete;
  BackupRunner& operator=(const BackupRunner&) = delete;

  // Starts a backup into `dir`; `done` runs on the backup's thread once it finished.
  // False, without calling `done`, when a backup is already running or after Close().
  bool Start(const std::string& dir, Done done);

  // Waits for a running backup to finish (and answer); later Starts are refused.
  void Close();

  // ledgerd's --backup-dir; empty when not configured.
  const std::string& default_dir() const { return default_dir_; }

 private:
  ledger::Store* const store_;
  const std::string default_dir_;
  std::mutex mu_;
  bool running_ = false;  // guarded by mu_
  bool closed_ = false;   // guarded by mu_
  std::thread thread_;    // guarded by mu_: the last backup's thread
};

// The answer to a backup taken into `dir`, one JSON object:
// {"backup_id", "backup_dir", "last_position", "size_bytes", "new_bytes", "files",
//  "created_at" (RFC 3339), "seconds" (how long taking it took; absent when unknown)}.
std::string BackupJson(const ledger::BackupInfo& info, const std::string& dir);

}  // namespace server

// Backups of a ledger and restores from them (issue 17): RocksDB's BackupEngine under a
// backup directory of its own layout (meta/, private/, shared_checksum/). Table files are
// immutable and shared between the backups of one directory, so a second backup into the
// same directory copies only the tables written since (plus the MANIFEST and the small
// WAL tail). Taking a backup is `Store::Backup` (store.h): the process that writes the
// ledger takes it, while appends go on.
//
// A backup holds whole groups only: every event up to its `last_position` with its index
// entries, heads, idempotency records and view rows, and nothing after.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace ledger {

// One backup of a backup directory. A plain value type.
struct BackupInfo {
  uint32_t id = 0;               // 1, 2, ... in the order the backups were taken
  uint64_t last_position = 0;    // holds every event up to here, none after
  int64_t created_at = 0;        // Unix seconds, when it was taken
  uint64_t size_bytes = 0;       // all its files, those shared with other backups included
  uint64_t new_bytes = 0;        // its files no earlier backup has: what taking it copied
  uint32_t files = 0;            // its files
  uint64_t duration_micros = 0;  // Store::Backup only: how long taking it took
};

// The backups in `backup_dir`, oldest first. Each is opened read-only in place to read its
// last position (a backup that does not open as a ledger is an error). NotFound when
// `backup_dir` holds no backup.
Status ListBackups(const std::string& backup_dir, std::vector<BackupInfo>* backups);

// Restores backup `id` of `backup_dir` (nullopt: the latest) as a ledger in `data_dir`.
// REQUIRES: `data_dir` does not exist or is an empty directory (InvalidArgument
// otherwise). The copy is made beside it and renamed into place once it opens as a
// ledger at the backup's last position, so `data_dir` is either the whole backup or left
// as it was. `restored` (may be null) describes the backup restored.
Status RestoreBackup(const std::string& backup_dir, std::optional<uint32_t> id,
                     const std::string& data_dir, BackupInfo* restored);

}  // namespace ledger

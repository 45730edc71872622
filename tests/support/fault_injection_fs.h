// A RocksDB FileSystem that simulates power loss and I/O faults, after leveldb's
// FaultInjectionTestEnv: it remembers how much of each written file was synced, and
// DropUnsyncedData() truncates every file to that size, as a crash would.
// Thread-safe.
#pragma once

#include <rocksdb/file_system.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace ledger::testing {

class FaultInjectionFs final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultInjectionFs(const std::shared_ptr<rocksdb::FileSystem>& base);

  static const char* kClassName() { return "FaultInjectionFs"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;

  // While true, every Sync/Fsync fails with an I/O error (and syncs nothing).
  void SetFailSync(bool fail);
  // While true, every Append fails with "no space left on device".
  void SetNoSpace(bool no_space);
  // While false (the machine is "off"), writes and syncs fail and reach nothing durable.
  void SetActive(bool active);

  // Truncates every file written through this FS to its last synced size (on disk, or in
  // the wrapped in-memory file system). Call after the database is closed (or abandoned)
  // with SetActive(false), then reopen. With `torn_seed` not 0, each file keeps instead a
  // pseudo-random part of its unsynced tail (none of it, all of it, or a part: about a
  // third each), as a power loss in the middle of writing may leave it.
  rocksdb::Status DropUnsyncedData(uint64_t torn_seed = 0);

  // How many syncs succeeded so far.
  uint64_t sync_count() const;

  // Bookkeeping used by the file wrapper (internal).
  struct FileState {
    uint64_t written = 0;
    uint64_t synced = 0;
  };
  rocksdb::IOStatus OnAppend(const std::string& fname, uint64_t bytes);
  rocksdb::IOStatus BeforeSync() const;
  void OnSync(const std::string& fname);
  void OnTruncate(const std::string& fname, uint64_t size);

 private:
  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;
  bool fail_sync_ = false;
  bool no_space_ = false;
  bool active_ = true;
  uint64_t syncs_ = 0;
};

}  // namespace ledger::testing

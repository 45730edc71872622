// Backups with RocksDB's BackupEngine, restores, and the listing of a backup directory.
//
// Why the writer takes the backup: RocksDB 7.8 cannot back up a live ledger from another
// process. A secondary instance refuses DisableFileDeletions, and its version set never
// records the MANIFEST's size, so BackupEngine copies the whole, newer MANIFEST next to an
// older list of table files (a backup naming tables it lacks). A read-only instance
// cannot stop the writer from deleting tables and WAL files while they are copied, which
// fails the backup or (a WAL deleted after a flush the instance did not see) silently
// drops the writes of that WAL. The writer can stop deletions and knows where its groups
// end.
#include "ledger/backup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <rocksdb/utilities/backup_engine.h>
#include <rocksdb/utilities/stackable_db.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <system_error>

#include "ledger/store.h"
#include "store_impl.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;

// The ledger's DB as BackupEngine sees it: listing the files to copy waits for the group
// being written, and keeps the syncer out until it is done, so the WAL's copied length
// ends between two groups (RocksDB copies the last WAL up to its size when listed) and
// `*position` is the last position the backup holds.
class BetweenGroupsDb final : public rocksdb::StackableDB {
 public:
  BetweenGroupsDb(Store::Impl* impl, uint64_t* position)
      // Shared ownership with a no-op deleter: the store keeps owning its DB.
      : rocksdb::StackableDB(std::shared_ptr<rocksdb::DB>(impl->db.get(), [](rocksdb::DB*) {})),
        impl_(impl),
        position_(position) {}

  rocksdb::Status GetLiveFilesStorageInfo(
      const rocksdb::LiveFilesStorageInfoOptions& opts,
      std::vector<rocksdb::LiveFileStorageInfo>* files) override {
    std::lock_guard<std::mutex> between_groups(impl_->group_write_mu);
    *position_ = impl_->last_position.load();
    return rocksdb::StackableDB::GetLiveFilesStorageInfo(opts, files);
  }

 private:
  Store::Impl* const impl_;
  uint64_t* const position_;
};

uint64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

// True when `inner` is `outer` or below it (both made absolute and normalized).
bool Within(const std::string& inner, const std::string& outer) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(fs::absolute(inner, ec), ec);
  const fs::path b = fs::weakly_canonical(fs::absolute(outer, ec), ec);
  auto ai = a.begin();
  for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
    if (bi->empty()) continue;  // a trailing separator
    if (ai == a.end() || *ai != *bi) return false;
  }
  return true;
}

// Makes a rename in `dir` durable (best effort: a failure leaves the rename as it is).
void SyncDirectory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// The last position of a backup, opened read-only where it lies (no restore).
Status BackupPosition(const rocksdb::BackupInfo& info, uint64_t* position) {
  StoreOptions options;
  options.read_only = true;
  options.env = info.env_for_open.get();
  options.read_cache_bytes = 0;
  std::unique_ptr<Store> store;
  Status s = Store::Open(options, info.name_for_open, &store);
  if (!s.ok()) {
    return Status::Corruption(
        fmt::format("backup {} does not open as a ledger: {}", info.backup_id, s.ToString()));
  }
  *position = store->LastPosition();
  return Status::OK();
}

// Fills `out` from RocksDB's description of a backup (with file details); `seen` holds
// the files of the earlier backups and gets this one's.
void Describe(const rocksdb::BackupInfo& info, std::set<std::string>* seen, BackupInfo* out) {
  out->id = info.backup_id;
  out->created_at = info.timestamp;
  out->size_bytes = info.size;
  out->files = info.number_files;
  out->new_bytes = 0;
  for (const auto& f : info.file_details) {
    if (seen->insert(f.relative_filename).second) out->new_bytes += f.size;
  }
}

// `dir` made absolute (RocksDB's Env for opening a backup in place wants absolute paths).
std::string Absolute(const std::string& dir) {
  std::error_code ec;
  const fs::path p = fs::absolute(dir, ec);
  return ec ? dir : p.lexically_normal().string();
}

// Opens the backups of `backup_dir` (absolute) for reading.
Status OpenForReading(const std::string& backup_dir,
                      std::unique_ptr<rocksdb::BackupEngineReadOnly>* engine) {
  std::error_code ec;
  if (!fs::is_directory(fs::path(backup_dir) / "meta", ec)) {
    return Status::NotFound("no backups in " + backup_dir);
  }
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  const rocksdb::IOStatus s = rocksdb::BackupEngineReadOnly::Open(
      rocksdb::BackupEngineOptions(backup_dir), rocksdb::Env::Default(), &raw);
  if (!s.ok()) return FromRocks(s);
  engine->reset(raw);
  return Status::OK();
}

}  // namespace

Status Store::Backup(const std::string& backup_dir_arg, BackupInfo* info) {
  if (read_only()) return Status::InvalidArgument("backup: the store is open read-only");
  if (backup_dir_arg.empty()) return Status::InvalidArgument("backup: no backup directory");
  const std::string backup_dir = Absolute(backup_dir_arg);
  Impl* const impl = impl_.get();
  if (Within(backup_dir, impl->db->GetName())) {
    return Status::InvalidArgument(
        fmt::format("backup: {} is inside the ledger's directory {} (a backup must survive "
                    "losing it)",
                    backup_dir, impl->db->GetName()));
  }
  std::lock_guard<std::mutex> one_at_a_time(impl->backup_mu);
  const auto start = std::chrono::steady_clock::now();

  rocksdb::BackupEngineOptions engine_options(backup_dir);
  engine_options.max_background_operations = 2;
  rocksdb::BackupEngine* raw = nullptr;
  rocksdb::IOStatus io = rocksdb::BackupEngine::Open(engine_options, rocksdb::Env::Default(), &raw);
  if (!io.ok()) return FromRocks(io);
  std::unique_ptr<rocksdb::BackupEngine> engine(raw);

  // What the earlier backups hold: the files this one shares with them are not copied.
  std::vector<rocksdb::BackupInfo> earlier;
  engine->GetBackupInfo(&earlier, /*include_file_details=*/true);
  std::set<std::string> seen;
  for (const auto& b : earlier) {
    for (const auto& f : b.file_details) seen.insert(f.relative_filename);
  }

  // Memtables to tables first, outside the pause: the WAL left to copy is what arrives
  // during the flush, and the tables are shared by the next backups.
  rocksdb::FlushOptions flush;
  flush.allow_write_stall = true;
  rocksdb::Status fs = impl->db->Flush(flush, impl->handles);
  if (!fs.ok()) return FromRocks(fs);

  uint64_t position = 0;
  BetweenGroupsDb db(impl, &position);
  rocksdb::CreateBackupOptions create;
  create.flush_before_backup = false;  // flushed above; no flush while the syncer waits
  rocksdb::BackupID id = 0;
  io = engine->CreateNewBackup(create, &db, &id);
  if (!io.ok()) return FromRocks(io);

  rocksdb::BackupInfo created;
  rocksdb::Status s = engine->GetBackupInfo(id, &created, /*include_file_details=*/true);
  if (!s.ok()) return FromRocks(s);
  // The backup opens as a ledger that ends exactly where the copy was cut.
  uint64_t opened_at = 0;
  Status ps = BackupPosition(created, &opened_at);
  if (!ps.ok()) return ps;
  if (opened_at != position) {
    return Status::Corruption(
        fmt::format("backup {} ends at position {}, expected {}", id, opened_at, position));
  }
  if (info != nullptr) {
    Describe(created, &seen, info);
    info->last_position = position;
    info->duration_micros = MicrosSince(start);
  }
  return Status::OK();
}

Status ListBackups(const std::string& backup_dir_arg, std::vector<BackupInfo>* backups) {
  const std::string backup_dir = Absolute(backup_dir_arg);
  backups->clear();
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine;
  Status s = OpenForReading(backup_dir, &engine);
  if (!s.ok()) return s;
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos, /*include_file_details=*/true);
  if (infos.empty()) return Status::NotFound("no backups in " + backup_dir);
  std::set<std::string> seen;
  for (const auto& info : infos) {
    BackupInfo b;
    Describe(info, &seen, &b);
    s = BackupPosition(info, &b.last_position);
    if (!s.ok()) return s;
    backups->push_back(b);
  }
  return Status::OK();
}

Status RestoreBackup(const std::string& backup_dir_arg, std::optional<uint32_t> id,
                     const std::string& data_dir, BackupInfo* restored) {
  const std::string backup_dir = Absolute(backup_dir_arg);
  std::error_code ec;
  const fs::path target = fs::absolute(data_dir, ec);
  if (ec || target.filename().empty()) {
    return Status::InvalidArgument("restore: bad data directory '" + data_dir + "'");
  }
  if (fs::exists(target, ec) && (!fs::is_directory(target, ec) || !fs::is_empty(target, ec))) {
    return Status::InvalidArgument("restore: " + data_dir +
                                   " is not empty (restore into a new directory)");
  }
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine;
  Status s = OpenForReading(backup_dir, &engine);
  if (!s.ok()) return s;
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos, /*include_file_details=*/true);
  if (infos.empty()) return Status::NotFound("no backups in " + backup_dir);
  std::set<std::string> seen;
  std::optional<BackupInfo> chosen;
  for (const auto& info : infos) {
    BackupInfo b;
    Describe(info, &seen, &b);
    if (!id ? &info == &infos.back() : info.backup_id == *id) chosen = b;
  }
  if (!chosen) {
    return Status::NotFound(fmt::format("no backup {} in {}", id.value_or(0), backup_dir));
  }

  // Restored beside the target, then renamed into place once it opens.
  const fs::path staging = target.parent_path() / ("." + target.filename().string() + ".restoring");
  fs::remove_all(staging, ec);
  struct Cleanup {
    const fs::path& dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{staging};
  rocksdb::IOStatus io =
      engine->RestoreDBFromBackup(rocksdb::RestoreOptions(), chosen->id, staging, staging);
  if (!io.ok()) return FromRocks(io);
  {
    StoreOptions options;
    options.read_only = true;
    options.read_cache_bytes = 0;
    std::unique_ptr<Store> store;
    s = Store::Open(options, staging, &store);
    if (!s.ok()) return Status::Corruption("restored copy does not open: " + s.ToString());
    chosen->last_position = store->LastPosition();
  }
  fs::rename(staging, target, ec);  // replaces an empty directory
  if (ec) {
    return Status::IOError("restore: cannot move the copy to " + data_dir + ": " + ec.message());
  }
  SyncDirectory(target.parent_path());
  if (restored != nullptr) *restored = *chosen;
  return Status::OK();
}

}  // namespace ledger

#include "fault_injection_fs.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace ledger::testing {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

class TrackedFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TrackedFile(std::unique_ptr<rocksdb::FSWritableFile> target, FaultInjectionFs* fs,
              std::string fname)
      : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), fname_(std::move(fname)) {}

  IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override {
    IOStatus s = fs_->OnAppend(fname_, 0);
    if (!s.ok()) return s;
    s = target()->Append(data, options, dbg);
    if (s.ok()) s = fs_->OnAppend(fname_, data.size());
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& /*info*/, IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  IOStatus PositionedAppend(const Slice&, uint64_t, const IOOptions&, IODebugContext*) override {
    return IOStatus::NotSupported("PositionedAppend");
  }
  IOStatus PositionedAppend(const Slice&, uint64_t, const IOOptions&,
                            const rocksdb::DataVerificationInfo&, IODebugContext*) override {
    return IOStatus::NotSupported("PositionedAppend");
  }
  IOStatus Truncate(uint64_t size, const IOOptions& options, IODebugContext* dbg) override {
    IOStatus s = target()->Truncate(size, options, dbg);
    if (s.ok()) fs_->OnTruncate(fname_, size);
    return s;
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    IOStatus s = fs_->BeforeSync();
    if (!s.ok()) return s;
    s = target()->Sync(options, dbg);
    if (s.ok()) fs_->OnSync(fname_);
    return s;
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    IOStatus s = fs_->BeforeSync();
    if (!s.ok()) return s;
    s = target()->Fsync(options, dbg);
    if (s.ok()) fs_->OnSync(fname_);
    return s;
  }
  IOStatus RangeSync(uint64_t, uint64_t, const IOOptions&, IODebugContext*) override {
    return IOStatus::OK();  // a hint only: it promises no durability
  }
  bool IsSyncThreadSafe() const override { return false; }

 private:
  FaultInjectionFs* fs_;
  const std::string fname_;
};

}  // namespace

FaultInjectionFs::FaultInjectionFs(const std::shared_ptr<rocksdb::FileSystem>& base)
    : FileSystemWrapper(base) {}

IOStatus FaultInjectionFs::NewWritableFile(const std::string& fname,
                                           const rocksdb::FileOptions& opts,
                                           std::unique_ptr<rocksdb::FSWritableFile>* result,
                                           IODebugContext* dbg) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!active_) return IOStatus::IOError("filesystem is off");
  }
  rocksdb::FileOptions no_mmap = opts;
  no_mmap.use_mmap_writes = false;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->NewWritableFile(fname, no_mmap, &file, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    files_[fname] = FileState{};
  }
  result->reset(new TrackedFile(std::move(file), this, fname));
  return IOStatus::OK();
}

IOStatus FaultInjectionFs::ReopenWritableFile(const std::string& fname,
                                              const rocksdb::FileOptions& opts,
                                              std::unique_ptr<rocksdb::FSWritableFile>* result,
                                              IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->ReopenWritableFile(fname, opts, &file, dbg);
  if (!s.ok()) return s;
  uint64_t size = 0;
  s = target()->GetFileSize(fname, IOOptions(), &size, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& state = files_[fname];
    state.written = size;
    state.synced = std::min(state.synced, size);
    if (state.synced == 0) state.synced = size;  // existed before we saw it: durable
  }
  result->reset(new TrackedFile(std::move(file), this, fname));
  return IOStatus::OK();
}

IOStatus FaultInjectionFs::RenameFile(const std::string& src, const std::string& dst,
                                      const IOOptions& opts, IODebugContext* dbg) {
  IOStatus s = target()->RenameFile(src, dst, opts, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(src);
    if (it != files_.end()) {
      files_[dst] = it->second;
      files_.erase(it);
    } else {
      files_.erase(dst);
    }
  }
  return s;
}

IOStatus FaultInjectionFs::DeleteFile(const std::string& fname, const IOOptions& opts,
                                      IODebugContext* dbg) {
  IOStatus s = target()->DeleteFile(fname, opts, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(fname);
  }
  return s;
}

void FaultInjectionFs::SetFailSync(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_sync_ = fail;
}

void FaultInjectionFs::SetNoSpace(bool no_space) {
  std::lock_guard<std::mutex> lock(mu_);
  no_space_ = no_space;
}

void FaultInjectionFs::SetActive(bool active) {
  std::lock_guard<std::mutex> lock(mu_);
  active_ = active;
}

uint64_t FaultInjectionFs::sync_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return syncs_;
}

IOStatus FaultInjectionFs::OnAppend(const std::string& fname, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (bytes == 0) {
    if (!active_) return IOStatus::IOError("filesystem is off");
    if (no_space_) return IOStatus::NoSpace("no space left on device (injected)");
    return IOStatus::OK();
  }
  files_[fname].written += bytes;
  return IOStatus::OK();
}

IOStatus FaultInjectionFs::BeforeSync() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!active_) return IOStatus::IOError("filesystem is off");
  if (fail_sync_) return IOStatus::IOError("fsync failed (injected)");
  return IOStatus::OK();
}

void FaultInjectionFs::OnSync(const std::string& fname) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& state = files_[fname];
  state.synced = state.written;
  ++syncs_;
}

void FaultInjectionFs::OnTruncate(const std::string& fname, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& state = files_[fname];
  state.written = size;
  state.synced = std::min(state.synced, size);
}

rocksdb::Status FaultInjectionFs::DropUnsyncedData(uint64_t torn_seed) {
  std::lock_guard<std::mutex> lock(mu_);
  std::mt19937_64 rng(torn_seed);
  for (auto& [name, state] : files_) {
    if (state.synced >= state.written) continue;
    if (torn_seed != 0) {
      // A third of the files lose the whole tail, a third keep it, the rest part of it.
      const uint64_t unsynced = state.written - state.synced;
      switch (rng() % 3) {
        case 0:
          break;
        case 1:
          state.synced = state.written;
          break;
        default:
          state.synced += rng() % (unsynced + 1);
          break;
      }
    }
    // Through the wrapped file system (an in-memory one has no files on disk); the
    // default (POSIX) one does not implement Truncate, so that one is done directly.
    IOStatus s = target()->Truncate(name, state.synced, IOOptions(), nullptr);
    if (s.IsNotSupported()) {
      if (::truncate(name.c_str(), static_cast<off_t>(state.synced)) == 0 || errno == ENOENT) {
        s = IOStatus::OK();
      } else {
        s = IOStatus::IOError(name + ": " + std::strerror(errno));
      }
    }
    if (!s.ok() && !s.IsPathNotFound() && !s.IsNotFound()) return s;
  }
  for (auto& [name, state] : files_) state.written = state.synced;
  return rocksdb::Status::OK();
}

}  // namespace ledger::testing

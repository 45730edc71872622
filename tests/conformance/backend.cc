// The backends: a RocksDB ledger directory on disk, one in an in-memory Env, and the log
// on PostgreSQL 15 (DESIGN section 7) with the node's RocksDB copy on disk. All sit on the
// fault-injecting file system of tests/support, so that a power loss drops exactly what
// was not synced locally (PostgreSQL keeps what it committed). This file is the only one
// of the suite that names RocksDB or PostgreSQL.
#include "conformance/backend.h"

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <random>
#include <utility>

#include "commands/lease_table.h"
#include "ledger/pg_upstream.h"
#include "pg/pg_cluster.h"
#include "projections/views.h"
#include "support/fault_injection_fs.h"
#include "support/temp_dir.h"
#include "support/views_check.h"

namespace conformance {
namespace {

// Opens a store's upstream log afresh (the PostgreSQL backend), or is empty.
using UpstreamFactory = std::function<ledger::Status(std::shared_ptr<ledger::UpstreamLog>*)>;

// One throwaway PostgreSQL 15 for the test process, started on first use; each backend
// gets a database of its own.
std::string FreshPostgresDatabase() {
  static ledger::testing::PgCluster cluster;
  static int databases = 0;
  const std::string name = "conformance_" + std::to_string(++databases);
  ledger::testing::PgSession(cluster.conninfo()).Query("CREATE DATABASE " + name);
  return cluster.conninfo(name);
}

class RocksDbBackend final : public Backend {
 public:
  // On disk in a fresh temporary directory, or (in_memory) in an Env of its own.
  explicit RocksDbBackend(bool in_memory) : in_memory_(in_memory) {
    if (in_memory_) {
      memory_.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
      fs_ = std::make_shared<ledger::testing::FaultInjectionFs>(memory_->GetFileSystem());
      path_ = "/ledger";
    } else {
      dir_ = std::make_unique<ledger::testing::TempDir>();
      fs_ = std::make_shared<ledger::testing::FaultInjectionFs>(rocksdb::FileSystem::Default());
      path_ = dir_->path() + "/ledger";
    }
    env_ = rocksdb::NewCompositeEnv(fs_);
  }
  // On disk, as this node's copy of the PostgreSQL log at `conninfo`.
  explicit RocksDbBackend(const std::string& conninfo) : RocksDbBackend(/*in_memory=*/false) {
    upstream_ = [conninfo](std::shared_ptr<ledger::UpstreamLog>* out) {
      ledger::PgUpstreamOptions options;
      options.node = "conformance";
      return ledger::OpenPgUpstream(conninfo, options, out);
    };
  }
  ~RocksDbBackend() override { Close(); }

  std::string name() const override {
    return upstream_ ? "postgres" : in_memory_ ? "rocksdb-memenv" : "rocksdb-disk";
  }

  ledger::Status Open(bool rebuild_views) override {
    if (powered_off_) {
      // Back from a power loss: of what was not synced, each file keeps a random part
      // (none, some or all of it: a torn write).
      const uint64_t torn_seed = (uint64_t{std::random_device{}()} << 32) | 1;
      rocksdb::Status dropped = fs_->DropUnsyncedData(torn_seed);
      if (!dropped.ok()) return ledger::Status::IOError(dropped.ToString());
      fs_->SetFailSync(false);
      powered_off_ = false;
    }
    // A small snapshot interval and cache: snapshots and evictions happen in every test.
    projections::ViewOptions view_options;
    view_options.snapshot_every = 5;
    view_options.cache_bytes = 16 << 10;
    views_ = std::make_shared<projections::ViewProjector>(view_options);
    ledger::StoreOptions options;
    options.env = env_.get();
    options.clock_mode_if_new = ledger::ClockMode::kManual;
    options.projectors = {views_};
    commands::AddSideTables(&options);
    options.rebuild_projections = rebuild_views;
    options.progress = [](const std::string&) {};
    if (upstream_) {
      ledger::Status u = upstream_(&options.upstream);
      if (!u.ok()) return u;
    }
    ledger::Status s = ledger::Store::Open(options, path_, &store_);
    if (!s.ok()) return s;
    service_ = std::make_unique<commands::CommandService>(store_.get());
    reader_ = std::make_unique<projections::ViewReader>(views_.get(), store_.get());
    return ledger::Status::OK();
  }

  void Close() override {
    reader_.reset();
    service_.reset();
    store_.reset();
    views_.reset();
  }

  void PowerOff() override {
    // Writes still reach the (volatile) page cache, but no sync succeeds any more: the
    // group being written when the power went is on its way to the disk, not on it.
    fs_->SetFailSync(true);
    powered_off_ = true;
  }

  ledger::Store& store() override { return *store_; }
  commands::CommandService& service() override { return *service_; }
  projections::ViewReader& reader() override { return *reader_; }

  std::string ViewsMismatch(const std::string& tenant) override {
    return ledger::testing::ViewsMismatch(*store_, *views_, tenant);
  }
  std::map<std::string, std::string> DumpViews() override {
    return ledger::testing::DumpViews(*views_);
  }

 private:
  const bool in_memory_;
  std::unique_ptr<ledger::testing::TempDir> dir_;  // on disk
  std::unique_ptr<rocksdb::Env> memory_;           // in memory
  std::shared_ptr<ledger::testing::FaultInjectionFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::string path_;
  UpstreamFactory upstream_;  // set: the PostgreSQL backend
  std::atomic<bool> powered_off_{false};
  // The open ledger.
  std::shared_ptr<projections::ViewProjector> views_;
  std::unique_ptr<ledger::Store> store_;
  std::unique_ptr<commands::CommandService> service_;
  std::unique_ptr<projections::ViewReader> reader_;
};

}  // namespace

const std::vector<BackendFactory>& Backends() {
  static const std::vector<BackendFactory> backends = {
      {"rocksdb-disk", [] { return std::make_unique<RocksDbBackend>(/*in_memory=*/false); }},
      {"rocksdb-memenv", [] { return std::make_unique<RocksDbBackend>(/*in_memory=*/true); }},
      {"postgres", [] { return std::make_unique<RocksDbBackend>(FreshPostgresDatabase()); }},
  };
  return backends;
}

}  // namespace conformance

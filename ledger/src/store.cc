// The write path: opening the database and the group-committed single writer.
#include <fmt/format.h>
#include <pthread.h>
#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>

#include "info_log.h"
#include "keys.h"
#include "records.h"
#include "store_impl.h"

namespace ledger {
namespace {

constexpr char kCfEvents[] = "events";
constexpr char kCfStreams[] = "streams";
constexpr char kCfCommands[] = "commands";
constexpr char kCfHeads[] = "heads";
constexpr char kCfRejections[] = "rejections";
constexpr char kCfCheckpoints[] = "checkpoints";

// Keys "<tenant>\0..." share the prefix up to and including the separator. Used as the
// memtable insert hint, so appends to one tenant's keys insert without a full search.
class TenantPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "ledger.TenantPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* sep = std::memchr(key.data(), '\0', key.size());
    if (sep == nullptr) return key;
    return rocksdb::Slice(key.data(), static_cast<const char*>(sep) - key.data() + 1);
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

// The whole key as the "prefix": lets the commands family use a hash memtable, where
// inserts and point lookups of random command ids cost O(1) instead of a skiplist search
// (the idempotency records are only ever read by key).
class WholeKey final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "ledger.WholeKey"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override { return key; }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

// Table options every family shares. Index and filter blocks live in the one bounded
// block cache (L0's pinned, they are hit on every read), so the memory a ledger uses does
// not grow with the size of its data. `bloom`: a whole-key bloom filter per table.
std::shared_ptr<rocksdb::TableFactory> Tables(const std::shared_ptr<rocksdb::Cache>& block_cache,
                                              bool bloom) {
  rocksdb::BlockBasedTableOptions table;
  if (block_cache) {
    table.block_cache = block_cache;
    table.cache_index_and_filter_blocks = true;
    table.cache_index_and_filter_blocks_with_high_priority = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    table.pin_top_level_index_and_filter = true;
  }
  if (bloom) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.whole_key_filtering = true;
  }
  return std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(table));
}

rocksdb::ColumnFamilyOptions CommandsOptions(const std::shared_ptr<rocksdb::Cache>& block_cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.prefix_extractor = std::make_shared<WholeKey>();
  cf.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(1 << 18));
  cf.table_factory = Tables(block_cache, true);
  return cf;
}

rocksdb::ColumnFamilyOptions PointLookupOptions(
    const std::shared_ptr<rocksdb::Cache>& block_cache) {
  rocksdb::ColumnFamilyOptions cf;
  // Most idempotency lookups miss: a memtable bloom filter answers those without a search.
  cf.memtable_whole_key_filtering = true;
  cf.memtable_prefix_bloom_size_ratio = 0.05;
  cf.memtable_insert_with_hint_prefix_extractor = std::make_shared<TenantPrefix>();
  cf.table_factory = Tables(block_cache, true);
  return cf;
}

// View rows: point reads by key (bloom filters) and prefix scans.
rocksdb::ColumnFamilyOptions ProjectionOptions(const std::shared_ptr<rocksdb::Cache>& block_cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory = Tables(block_cache, true);
  return cf;
}

// Families read by scans only (the log, rejections, meta).
rocksdb::ColumnFamilyOptions ScanOptions(const std::shared_ptr<rocksdb::Cache>& block_cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory = Tables(block_cache, false);
  return cf;
}

// The write-ahead log files in `dir`, by number.
std::vector<uint64_t> WalFiles(rocksdb::Env* env, const std::string& dir) {
  std::vector<std::string> names;
  env->GetChildren(dir, &names).PermitUncheckedError();
  std::vector<uint64_t> numbers;
  for (const auto& name : names) {
    if (name.size() > 4 && name.ends_with(".log") &&
        name.find_first_not_of("0123456789") == name.size() - 4) {
      numbers.push_back(std::stoull(name.substr(0, name.size() - 4)));
    }
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

// True when an open failed because a file it was reading was deleted meanwhile (a writer
// compacted the table away, or retired the WAL): worth trying again. RocksDB reports a
// table missing from the MANIFEST as a corruption naming the missing file.
bool FileVanished(const rocksdb::Status& s) {
  if (s.IsPathNotFound()) return true;
  const bool missing = s.ToString().find("No such file or directory") != std::string::npos;
  return (s.IsIOError() || s.IsCorruption()) && missing;
}

// Closes an instance opened by OpenSecondary or OpenReadOnly that is not handed out.
void CloseInstance(std::vector<rocksdb::ColumnFamilyHandle*>* handles, rocksdb::DB** db) {
  for (auto* h : *handles) (*db)->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  handles->clear();
  delete *db;
  *db = nullptr;
}

// What an open answers when a writer changed the ledger under every attempt.
rocksdb::Status ChangedUnderEveryAttempt() {
  return rocksdb::Status::Busy(
      "the ledger changed under every attempt to open it (a writer flushing or "
      "compacting); try again");
}

// Opens a RocksDB secondary instance that sees every family as of one moment.
//
// A secondary reads the primary's MANIFEST, then lists and replays its WAL files. If the
// primary flushes and deletes a WAL between those two steps, the secondary misses that
// WAL's writes for the families whose flush it did not read, while it has the others'
// from their tables: one atomic batch half visible (found by the soak: `verify` on a live
// ledger reported the stream index short of the log). A catch-up with the primary reads
// the flushes it missed (a WAL is deleted only after the flushes that empty it are in the
// MANIFEST) and replays the WALs that exist then. Every flush starts a new WAL and the
// active WAL is never deleted, so a catch-up during which the set of WAL files stayed the
// same deleted none under it: the view is whole. Otherwise it catches up again. A table
// compacted away during an open or a catch-up starts it over.
rocksdb::Status OpenSecondary(const rocksdb::DBOptions& db_options, const std::string& path,
                              const std::string& secondary_path,
                              const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors,
                              std::vector<rocksdb::ColumnFamilyHandle*>* handles,
                              rocksdb::DB** db) {
  rocksdb::Env* env = db_options.env != nullptr ? db_options.env : rocksdb::Env::Default();
  const std::string wal_dir = db_options.wal_dir.empty() ? path : db_options.wal_dir;
  constexpr int kAttempts = 100;
  handles->clear();
  *db = nullptr;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    if (attempt > 50) env->SleepForMicroseconds(1000);
    if (*db == nullptr) {
      // Table files compacted away while the open loads them fail it: tried again.
      const rocksdb::Status s =
          rocksdb::DB::OpenAsSecondary(db_options, path, secondary_path, descriptors, handles, db);
      if (!s.ok()) {
        handles->clear();
        *db = nullptr;
        if (!FileVanished(s)) return s;
        continue;
      }
    }
    const std::vector<uint64_t> before = WalFiles(env, wal_dir);
    const rocksdb::Status s = (*db)->TryCatchUpWithPrimary();
    if (s.ok() && WalFiles(env, wal_dir) == before) return s;
    if (!s.ok()) {
      // A catch-up that found a new table already compacted away leaves a view that may be
      // partial: the instance is opened again from the start.
      CloseInstance(handles, db);
      if (!FileVanished(s)) return s;
    }
  }
  if (*db != nullptr) CloseInstance(handles, db);
  return ChangedUnderEveryAttempt();
}

// Opens a read-only instance that sees whole batches. It reads the MANIFEST, then the
// WAL files, like a secondary (see OpenSecondary), and cannot catch up: when the set of
// WAL files changed during the open (a writer flushed meanwhile), it is opened again.
rocksdb::Status OpenReadOnly(const rocksdb::DBOptions& db_options, const std::string& path,
                             const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors,
                             std::vector<rocksdb::ColumnFamilyHandle*>* handles, rocksdb::DB** db) {
  rocksdb::Env* env = db_options.env != nullptr ? db_options.env : rocksdb::Env::Default();
  const std::string wal_dir = db_options.wal_dir.empty() ? path : db_options.wal_dir;
  constexpr int kAttempts = 100;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    const std::vector<uint64_t> before = WalFiles(env, wal_dir);
    handles->clear();
    *db = nullptr;
    const rocksdb::Status s =
        rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, handles, db);
    if (s.ok() && WalFiles(env, wal_dir) == before) return s;
    if (s.ok()) {
      CloseInstance(handles, db);
    } else {
      handles->clear();
      *db = nullptr;
      if (!FileVanished(s)) return s;
    }
    env->SleepForMicroseconds(1000);
  }
  return ChangedUnderEveryAttempt();
}

// The instance-wide options of a store opened with `opts` at `path`; `*block_cache` is
// the cache its families share (null without one).
rocksdb::DBOptions DbOptions(const StoreOptions& opts, const std::string& path,
                             std::shared_ptr<rocksdb::Cache>* block_cache) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !opts.read_only;
  db_options.create_missing_column_families = !opts.read_only;
  db_options.max_background_jobs = 2;
  db_options.allow_concurrent_memtable_write = false;  // one writer; hash memtables need it
  db_options.bytes_per_sync = 1 << 20;
  db_options.keep_log_file_num = 4;
  // Small families (heads, checkpoints) rarely fill a memtable and would pin every WAL
  // file: past this total, RocksDB flushes the families holding the oldest one, which
  // bounds both the disk used by WALs and the replay work of the next open — and of every
  // reader's open (a secondary or read-only instance replays the live WALs): at most
  // about the memtable budget, never 256 MiB of log under a busy writer.
  db_options.max_total_wal_size = opts.memtable_budget_bytes > 0
                                      ? std::max<size_t>(opts.memtable_budget_bytes, 4u << 20)
                                      : 256u << 20;
  db_options.max_open_files = opts.read_only ? -1 : opts.max_open_tables;
  if (opts.env != nullptr) db_options.env = opts.env;
  // Writers keep RocksDB's LOG with a logger that survives a full disk (info_log.h); only
  // on the real file system (tests with their own Env keep RocksDB's).
  if (!opts.read_only && opts.env == nullptr) db_options.info_log = NewInfoLog(path);
  block_cache->reset();
  if (opts.read_cache_bytes > 0) {
    // No row cache on read-only and secondary instances: RocksDB 7.8 answers the second
    // Get of a key NotFound there once the first one filled the row cache (reproduced with
    // plain RocksDB; tests/ledger/store_test.cc "read-only: repeated reads"). Writers are
    // not affected.
    if (!opts.read_only) db_options.row_cache = rocksdb::NewLRUCache(opts.read_cache_bytes);
    *block_cache = rocksdb::NewLRUCache(opts.read_cache_bytes);
  }
  // Every family's memtables together stay within the budget: past it, RocksDB flushes
  // the largest. Without it each family may hold its own write buffers.
  if (!opts.read_only && opts.memtable_budget_bytes > 0) {
    db_options.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(opts.memtable_budget_bytes);
  }
  return db_options;
}

// The families an open asks for, in the order their handles come back: the core ones,
// then the optional ones, then each opened projector's, then any other existing family.
struct FamilyPlan {
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<rocksdb::ColumnFamilyDescriptor> optional_families;
  std::vector<bool> projector_opened;  // per StoreOptions::projectors
};

FamilyPlan PlanFamilies(const StoreOptions& opts, const rocksdb::DBOptions& db_options,
                        const std::string& path,
                        const std::shared_ptr<rocksdb::Cache>& block_cache) {
  FamilyPlan plan;
  rocksdb::ColumnFamilyOptions events_cf = ScanOptions(block_cache);
  events_cf.write_buffer_size = 64 << 20;
  // Replays read the whole log: LZ4 decompresses several times faster than Snappy.
  events_cf.compression = rocksdb::kLZ4Compression;
  plan.descriptors = {
      {rocksdb::kDefaultColumnFamilyName, ScanOptions(block_cache)},
      {kCfEvents, events_cf},
      {kCfStreams, PointLookupOptions(block_cache)},
      {kCfCommands, CommandsOptions(block_cache)},
      {kCfHeads, PointLookupOptions(block_cache)},
      {kCfRejections, ScanOptions(block_cache)},
  };
  // A read-only open can only open families that exist; a projector missing some is stale.
  std::vector<std::string> existing;
  rocksdb::DB::ListColumnFamilies(db_options, path, &existing).PermitUncheckedError();
  auto exists = [&](const std::string& name) {
    return std::find(existing.begin(), existing.end(), name) != existing.end();
  };
  // Families later than the first ledgers (checkpoints) and the side tables of the layers
  // above (the lease table of R19): a read-only open of a ledger without them goes
  // without them.
  if (!opts.read_only || exists(kCfCheckpoints)) {
    plan.optional_families.push_back({kCfCheckpoints, PointLookupOptions(block_cache)});
  }
  for (const auto& name : opts.side_tables) {
    if (!opts.read_only || exists(name)) {
      plan.optional_families.push_back({name, PointLookupOptions(block_cache)});
    }
  }
  plan.descriptors.insert(plan.descriptors.end(), plan.optional_families.begin(),
                          plan.optional_families.end());
  for (const auto& p : opts.projectors) {
    bool all = true;
    for (const auto& f : p->families()) all = all && exists(f);
    plan.projector_opened.push_back(!opts.read_only || all);
    if (!plan.projector_opened.back()) continue;
    for (const auto& f : p->families()) {
      plan.descriptors.push_back({f, ProjectionOptions(block_cache)});
    }
  }
  // RocksDB opens a database for writing only with all its families: families of
  // projections this process does not run are opened too, and left alone.
  if (!opts.read_only) {
    for (const auto& name : existing) {
      bool listed = false;
      for (const auto& d : plan.descriptors) listed = listed || d.name == name;
      if (!listed) plan.descriptors.push_back({name, ProjectionOptions(block_cache)});
    }
  }
  return plan;
}

// Opens the instance `opts` asks for: a writer, a secondary or a read-only one.
rocksdb::Status OpenInstance(const StoreOptions& opts, const rocksdb::DBOptions& db_options,
                             const std::string& path,
                             const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors,
                             std::vector<rocksdb::ColumnFamilyHandle*>* handles,
                             rocksdb::DB** raw) {
  if (opts.read_only && !opts.secondary_path.empty()) {
    return OpenSecondary(db_options, path, opts.secondary_path, descriptors, handles, raw);
  }
  if (opts.read_only) return OpenReadOnly(db_options, path, descriptors, handles, raw);
  return rocksdb::DB::Open(db_options, path, descriptors, handles, raw);
}

}  // namespace

Status Store::Impl::Open(const StoreOptions& opts, const std::string& path) {
  options = opts;
  if (opts.upstream != nullptr && opts.read_only) {
    return Status::InvalidArgument("a store on an upstream log is opened for writing");
  }
  std::shared_ptr<rocksdb::Cache> block_cache;
  const rocksdb::DBOptions db_options = DbOptions(opts, path, &block_cache);
  const FamilyPlan plan = PlanFamilies(opts, db_options, path, block_cache);
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = OpenInstance(opts, db_options, path, plan.descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s);
  db.reset(raw);
  BindHandles(plan.optional_families, plan.projector_opened);
  rows = std::make_unique<RocksRowReader>(db.get(), &handles);
  if (options.upstream != nullptr) {
    // The log's clock decides: a new copy takes it, an old one must agree.
    Status c = AgreeClockWithUpstream();
    if (!c.ok()) return c;
  }
  Status m = LoadMeta();
  if (!m.ok()) return m;
  if (options.upstream != nullptr) {
    // This node's copy of the log: take the right to write, then catch up with the log.
    std::vector<UpstreamState> states;
    const bool placed = Placed() && options.upstream_follow && !options.upstream_read_only;
    bool taken = false;
    Status u = options.upstream_read_only ? ReadAllStates(&states)
               : placed                   ? AcquirePlaced(/*again=*/false, &states, &taken)
                                          : AcquireAll(&states);
    if (u.IsUnavailable() && options.upstream_follow && !options.upstream_read_only && !placed) {
      // Another node writes the log: follow it until the right to write is free.
      following_ = true;
      follows = true;
      follow_reason_ = u;
      u = ReadAllStates(&states);
    }
    if (u.ok()) u = PullAll(states);
    if (!u.ok()) return u;
    writes_upstream = !options.upstream_read_only && !following_;
    if (placed) {
      bool any = false;
      for (uint32_t p = 0; p < partitions; ++p) any = any || owned[p];
      writes_upstream = any;
      follows = !any;
      next_placement_ = std::chrono::steady_clock::now() + options.follow_interval;
    }
    NoteUpstreamSeen(states);
    for (uint32_t p = 0; p < partitions; ++p) build_positions_[p] = durable_last[p].load();
    build_time_ = ledger_time.load();
  }
  Status p = OpenProjections();
  if (!p.ok()) return p;
  if (!options.read_only) StartThreads();
  return Status::OK();
}

void Store::Impl::BindHandles(const std::vector<rocksdb::ColumnFamilyDescriptor>& optional_families,
                              const std::vector<bool>& projector_opened) {
  meta = handles[0];
  events = handles[1];
  streams = handles[2];
  commands = handles[3];
  heads = handles[4];
  rejections = handles[5];
  size_t next = 6;
  for (const auto& f : optional_families) {
    if (f.name == kCfCheckpoints) checkpoints = handles[next];
    ++next;
  }
  for (size_t i = 0; i < options.projectors.size(); ++i) {
    std::vector<TableId> tables;
    if (projector_opened[i]) {
      for (size_t f = 0; f < options.projectors[i]->families().size(); ++f) {
        tables.push_back(TableId{static_cast<uint32_t>(next++)});
      }
    }
    projector_tables.push_back(std::move(tables));
  }
}

void Store::Impl::StartThreads() {
  builder_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ledger-build");
    BuilderLoop();
  });
  syncer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ledger-sync");
    SyncerLoop();
  });
  completer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ledger-complete");
    CompleterLoop();
  });
}

Status Store::Impl::LoadMeta() {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, keys::kMetaClockMode, &value);
  if (s.IsNotFound()) {
    if (options.read_only) return Status::NotFound("not a ledger (no clock mode recorded)");
    // A new ledger: fix its format and clock mode, durably, before anything else.
    mode = options.clock_mode_if_new;
    rocksdb::WriteBatch batch;
    batch.Put(meta, keys::kMetaFormat, keys::kFormatVersion);
    batch.Put(meta, keys::kMetaClockMode, std::string(ClockModeName(mode)));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Write(wo, &batch);
    if (!s.ok()) return FromRocks(s);
  } else if (!s.ok()) {
    return FromRocks(s);
  } else {
    const auto parsed = ParseClockMode(value);
    if (!parsed) return Status::Corruption("unknown clock mode '" + value + "'");
    mode = *parsed;
    s = db->Get(rocksdb::ReadOptions(), meta, keys::kMetaFormat, &value);
    if (!s.ok() || value != keys::kFormatVersion) {
      return Status::Corruption("unsupported ledger format '" + value + "'");
    }
  }

  s = db->Get(rocksdb::ReadOptions(), meta, keys::kMetaLedgerTime, &value);
  if (s.ok() && value.size() == 8) {
    ledger_time = static_cast<Micros>(keys::GetBE64(value.data()));
  } else if (!s.IsNotFound()) {
    return s.ok() ? Status::Corruption("bad ledger time") : FromRocks(s);
  }
  manual_clock.AdvanceTo(ledger_time.load()).PermitUncheckedError();
  build_time_ = ledger_time.load();
  Status p = LoadPartitions();
  if (p.ok()) p = LoadRejectionSeqs();
  if (p.ok()) p = LoadFrontier();
  return p;
}

Status Store::Impl::LoadPartitions() {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, keys::kMetaPartitions, &value);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s);
  uint32_t local = 1;
  if (s.ok()) {
    local = static_cast<uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
    if (local == 0 || local > kMaxLogPartitions) {
      return Status::Corruption("bad partition count '" + value + "'");
    }
  }
  partitions = local;
  if (options.upstream == nullptr) return Status::OK();
  const uint32_t log = options.upstream->partitions();
  if (log == 0 || log > kMaxLogPartitions) {
    return Status::InvalidArgument(fmt::format("{} has {} partitions; a store holds 1 to {}",
                                               options.upstream->Describe(), log,
                                               kMaxLogPartitions));
  }
  if (s.ok() && local != log) {
    return Status::InvalidArgument(fmt::format(
        "the local copy holds a log of {} partitions but {} has {}: they are not a copy of this "
        "log (remove them, or point the node at its own data directory)",
        local, options.upstream->Describe(), log));
  }
  partitions = log;
  if (s.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Put(wo, meta, keys::kMetaPartitions, std::to_string(log));
    if (!s.ok()) return FromRocks(s);
  }
  return Status::OK();
}

Status Store::Impl::LoadRejectionSeqs() {
  for (uint32_t p = 0; p < partitions; ++p) {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, keys::RejectionSeqKey(p), &value);
    if (s.ok() && value.size() == 8) {
      rejection_seqs_[p] = keys::GetBE64(value.data());
    } else if (s.IsNotFound()) {
      rejection_seqs_[p] = PartitionBase(p);
    } else {
      return s.ok() ? Status::Corruption("bad rejection sequence") : FromRocks(s);
    }
  }
  return Status::OK();
}

Status Store::Impl::LoadFrontier() {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), events));
  uint64_t highest = 0;
  for (uint32_t p = 0; p < partitions; ++p) {
    // The last key at or below the partition's highest possible position.
    it->SeekForPrev(keys::EventKey(PartitionBase(p + 1) - 1));
    uint64_t last = PartitionBase(p);
    if (it->Valid()) {
      if (it->key().size() != 8) return Status::Corruption("bad event key");
      const uint64_t position = keys::GetBE64(it->key().data());
      if (PartitionOfPosition(position) == p) last = position;
    }
    if (!it->status().ok()) return FromRocks(it->status());
    durable_last[p] = last;
    build_positions_[p] = last;
    if (last > PartitionBase(p)) highest = std::max(highest, last);
  }
  if (partitions > 1) {
    it->SeekToLast();
    if (it->Valid() && PartitionOfPosition(keys::GetBE64(it->key().data())) >= partitions) {
      return Status::Corruption(
          fmt::format("the events family holds position {}, of no partition of {}",
                      keys::GetBE64(it->key().data()), partitions));
    }
  }
  last_position = highest;
  return Status::OK();
}

std::vector<uint64_t> Store::Impl::Frontier() const {
  std::vector<uint64_t> out(partitions);
  for (uint32_t p = 0; p < partitions; ++p) out[p] = durable_last[p].load();
  return out;
}

void Store::Impl::PublishLast(uint32_t p, uint64_t position) {
  durable_last[p] = position;
  if (position == PartitionBase(p)) return;  // still empty: not an event's position
  uint64_t highest = last_position.load();
  while (position > highest && !last_position.compare_exchange_weak(highest, position)) {
  }
}

Store::Impl::~Impl() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    builder_cv_.notify_all();
    syncer_cv_.notify_all();
    applied_cv_.notify_all();
  }
  if (builder_.joinable()) builder_.join();
  if (syncer_.joinable()) syncer_.join();
  if (completer_.joinable()) completer_.join();
  if (db) {
    // A clean close leaves everything in table files: the next open (or a reader's)
    // replays no log and finds rows through bloom filters and caches, not a memtable.
    if (!options.read_only && write_error_.ok()) {
      rocksdb::FlushOptions flush;
      db->Flush(flush, handles).PermitUncheckedError();
    }
    for (auto* h : handles) {
      if (h != nullptr) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    handles.clear();
    db->Close().PermitUncheckedError();
  }
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Status Store::Open(const StoreOptions& options, const std::string& path,
                   std::unique_ptr<Store>* store) {
  auto impl = std::make_unique<Impl>();
  Status s = impl->Open(options, path);
  if (!s.ok()) return s;
  store->reset(new Store(std::move(impl)));
  return Status::OK();
}

namespace {

// Blocks the caller until its write completes.
class Waiter {
 public:
  AppendCallback Callback(AppendResult* result) {
    return [this, result](const Status& s, AppendResult& r) {
      std::lock_guard<std::mutex> lock(mu_);
      status_ = s;
      if (result != nullptr) *result = std::move(r);
      done_ = true;
      cv_.notify_one();  // under the lock: the waiter may destroy us right after
    };
  }
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    return status_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Status status_;
  bool done_ = false;
};

}  // namespace

void Store::AppendAsync(AppendRequest request, AppendCallback done) {
  auto w = std::make_unique<QueuedWrite>();
  w->request = std::move(request);
  w->done = std::move(done);
  impl_->Submit(std::move(w));
}

Status Store::Append(AppendRequest request, AppendResult* result) {
  Waiter waiter;
  AppendAsync(std::move(request), waiter.Callback(result));
  return waiter.Wait();
}

void Store::RecordRejectionAsync(RejectionRecord record, AppendCallback done) {
  auto w = std::make_unique<QueuedWrite>();
  w->rejection = std::move(record);
  w->done = std::move(done);
  impl_->Submit(std::move(w));
}

Status Store::RecordRejection(RejectionRecord record) {
  Waiter waiter;
  auto w = std::make_unique<QueuedWrite>();
  w->rejection = std::move(record);
  w->done = waiter.Callback(nullptr);
  impl_->Submit(std::move(w));
  return waiter.Wait();
}

ClockMode Store::clock_mode() const { return impl_->mode; }

bool Store::read_only() const { return impl_->options.read_only; }

Micros Store::LedgerTime() const { return impl_->ledger_time.load(); }

uint64_t Store::LastPosition() const { return impl_->last_position.load(); }

std::vector<uint64_t> Store::LogFrontier() const { return impl_->Frontier(); }

StoreStats Store::Stats() const {
  StoreStats s;
  s.groups = impl_->stat_groups.load();
  s.requests = impl_->stat_requests.load();
  s.events = impl_->stat_events.load();
  s.build_micros = impl_->stat_build_micros.load();
  s.write_micros = impl_->stat_write_micros.load();
  s.upstream_commit_micros = impl_->stat_commit_micros.load();
  s.recoveries = impl_->stat_recoveries.load();
  s.writes_upstream = impl_->writes_upstream.load();
  s.upstream_lag_events = impl_->upstream_lag_events.load();
  s.upstream_takeovers = impl_->stat_takeovers.load();
  s.upstream = impl_->options.upstream != nullptr;
  if (s.upstream) {
    s.upstream_partitions = impl_->partitions;
    s.upstream_leases = 0;
    for (uint32_t p = 0; p < impl_->partitions; ++p) {
      const bool held = impl_->Placed() ? impl_->owned[p].load() : s.writes_upstream;
      s.upstream_leases += held ? 1 : 0;
    }
    const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    s.upstream_lag_seconds =
        s.writes_upstream ? 0.0
                          : static_cast<double>(now - impl_->upstream_matched_at.load()) / 1e6;
  }
  for (size_t i = 0; i < StoreStats::kSizeBuckets; ++i) {
    s.group_sizes[i] = impl_->stat_group_sizes[i].load();
  }
  return s;
}

}  // namespace ledger

// A store on an upstream log (ledger/upstream.h): applying what the log holds past the
// local files, at open and after the log refused a group.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "keys.h"
#include "ledger/log_partitions.h"
#include "records.h"
#include "store_impl.h"

namespace ledger {
namespace {

// Local writes of a pull go in batches of about this many entries.
constexpr size_t kPullBatchEntries = 4096;

}  // namespace

Status Store::Impl::PullUpstream(const UpstreamState& upstream) {
  const uint32_t p = upstream.partition;
  const uint64_t local = durable_last[p].load();
  if (upstream.last_position < local) {
    return Status::Corruption(fmt::format(
        "the local files go to position {} of partition {} but {} ends at {} there: they are not "
        "a copy of this log (remove them, or point the node at its own data directory)",
        local, p, options.upstream->Describe(), upstream.last_position));
  }
  Status s = PullCommands(p);
  if (s.ok()) s = PullRejections(p);
  if (s.ok()) s = PullSideRows(p);
  if (s.ok()) s = PullEvents(upstream);
  return s;
}

Status Store::Impl::PullAll(const std::vector<UpstreamState>& states) {
  for (const UpstreamState& state : states) {
    Status s = PullUpstream(state);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status Store::Impl::AcquireAll(std::vector<UpstreamState>* states) {
  states->assign(partitions, UpstreamState());
  for (uint32_t p = 0; p < partitions; ++p) {
    Status s = options.upstream->Acquire(p, &(*states)[p]);
    if (s.ok()) continue;
    // One node writes every partition: holding some would keep the node that holds the
    // rest from writing (each renewing what it has). Let it take them all.
    for (uint32_t q = 0; q < partitions; ++q) {
      if (q != p) options.upstream->Release(q);
    }
    return s;
  }
  return Status::OK();
}

Status Store::Impl::ReadAllStates(std::vector<UpstreamState>* states) {
  states->assign(partitions, UpstreamState());
  for (uint32_t p = 0; p < partitions; ++p) {
    Status s = options.upstream->ReadState(p, &(*states)[p]);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status Store::Impl::AgreeClockWithUpstream() {
  ClockMode log_mode = options.clock_mode_if_new;
  Status s = options.upstream->ClockModeOf(
      options.upstream_read_only ? std::nullopt : std::optional(options.clock_mode_if_new),
      &log_mode);
  if (s.IsNotFound()) return Status::OK();  // a reader of a log no writer has opened yet
  if (!s.ok()) return s;
  options.clock_mode_if_new = log_mode;
  std::string local;
  rocksdb::Status g = db->Get(rocksdb::ReadOptions(), meta, keys::kMetaClockMode, &local);
  if (g.IsNotFound()) return Status::OK();
  if (!g.ok()) return FromRocks(g);
  if (local != ClockModeName(log_mode)) {
    return Status::InvalidArgument(
        fmt::format("clock: the local copy is on the {} clock but {} is on the {} clock", local,
                    options.upstream->Describe(), ClockModeName(log_mode)));
  }
  return Status::OK();
}

Status Store::Impl::PullCommands(uint32_t partition) {
  rocksdb::WriteBatch batch;
  rocksdb::Status ws;
  const uint64_t after = durable_last[partition].load();
  Status rs = options.upstream->ReadCommands(partition, after, [&](const LogCommand& c) {
    batch.Put(commands, keys::CommandKey(c.tenant, c.command_id),
              records::EncodeCommand(c.request_hash, c.result));
    if (batch.Count() >= kPullBatchEntries) {
      ws = db->Write(rocksdb::WriteOptions(), &batch);
      batch.Clear();
    }
    return ws.ok();
  });
  if (ws.ok()) ws = db->Write(rocksdb::WriteOptions(), &batch);
  return rs.ok() ? FromRocks(ws) : rs;
}

Status Store::Impl::PullRejections(uint32_t partition) {
  rocksdb::WriteBatch batch;
  rocksdb::Status ws;
  uint64_t last = rejection_seqs_[partition];
  const std::string seq_key = keys::RejectionSeqKey(partition);
  Status rs = options.upstream->ReadRejections(partition, last, [&](const RejectionRecord& r) {
    batch.Put(rejections, keys::RejectionKey(r.tenant, r.sequence), records::EncodeRejection(r));
    last = std::max(last, r.sequence);
    if (batch.Count() >= kPullBatchEntries) {
      batch.Put(meta, seq_key, keys::BE64(last));
      ws = db->Write(rocksdb::WriteOptions(), &batch);
      batch.Clear();
    }
    return ws.ok();
  });
  if (!rs.ok()) return rs;
  if (!ws.ok()) return FromRocks(ws);
  batch.Put(meta, seq_key, keys::BE64(last));
  ws = db->Write(rocksdb::WriteOptions(), &batch);
  if (ws.ok()) rejection_seqs_[partition] = last;
  return FromRocks(ws);
}

Status Store::Impl::PullSideRows(uint32_t partition) {
  // Side tables hold current state, not history: the local rows of the partition's tenants
  // (a key starts with its tenant and \0) become the log's.
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> tables;
  for (const std::string& name : options.side_tables) {
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      if (h != nullptr && h->GetName() == name) tables[name] = h;
    }
  }
  rocksdb::WriteBatch batch;
  for (const auto& [name, family] : tables) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      if (LogPartitionOf(key.substr(0, key.find('\0')), partitions) == partition) {
        batch.Delete(family, it->key());
      }
    }
    if (!it->status().ok()) return FromRocks(it->status());
  }
  Status unknown;
  Status rs = options.upstream->ReadSideRows(
      partition, [&](std::string_view table, std::string_view key, std::string_view value) {
        auto t = tables.find(table);
        if (t == tables.end()) {
          unknown = Status::Corruption(
              fmt::format("the log has rows of side table '{}', which this store lacks", table));
          return false;
        }
        batch.Put(t->second, key, value);
        return true;
      });
  if (!rs.ok()) return rs;
  if (!unknown.ok()) return unknown;
  return FromRocks(db->Write(rocksdb::WriteOptions(), &batch));
}

Status Store::Impl::PullEvents(const UpstreamState& upstream) {
  const uint32_t partition = upstream.partition;
  uint64_t position = durable_last[partition].load();
  Micros time = std::max(ledger_time.load(), upstream.ledger_time);
  rocksdb::WriteBatch batch;
  std::map<std::string, StreamHead> moved;  // heads of this batch
  StoredEvent event;
  Status problem;
  rocksdb::Status ws;
  auto flush = [&](bool sync) {
    for (const auto& [tenant, head] : moved) batch.Put(heads, tenant, records::EncodeHead(head));
    moved.clear();
    batch.Put(meta, keys::kMetaLedgerTime, keys::BE64(static_cast<uint64_t>(time)));
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    ws = db->Write(wo, &batch);
    batch.Clear();
    return ws.ok();
  };
  Status rs = options.upstream->ReadEvents(
      partition, position + 1, upstream.last_position, [&](const UpstreamEvent& e) {
        if (e.position != position + 1) {
          problem = Status::Corruption(fmt::format(
              "{}: position {} follows {}", options.upstream->Describe(), e.position, position));
          return false;
        }
        problem = event.Parse(e.bytes);
        if (!problem.ok()) return false;
        const auto ev = event.event();
        const std::string tenant = ev.getTenant();
        StreamHead head;
        head.version = ev.getVersion();
        head.position = e.position;
        const auto hash = ev.getHash();
        if (hash.size() != head.hash.size()) {
          problem = Status::Corruption(fmt::format("event at position {} has no hash", e.position));
          return false;
        }
        std::memcpy(head.hash.data(), hash.begin(), hash.size());
        batch.Put(events, keys::EventKey(e.position), e.bytes);
        batch.Put(streams, keys::StreamKey(tenant, head.version), keys::BE64(e.position));
        moved[tenant] = head;
        time = std::max(time, static_cast<Micros>(ev.getRecordedAt()));
        position = e.position;
        return batch.Count() < kPullBatchEntries || flush(/*sync=*/false);
      });
  if (!rs.ok()) return rs;
  if (!problem.ok()) return problem;
  if (!ws.ok()) return FromRocks(ws);
  if (position != upstream.last_position) {
    return Status::Corruption(
        fmt::format("{} ends at position {} of partition {}, not {} as its partition row says",
                    options.upstream->Describe(), position, partition, upstream.last_position));
  }
  if (!flush(/*sync=*/true)) return FromRocks(ws);
  PublishLast(partition, position);
  ledger_time = time;
  if (mode == ClockMode::kManual) manual_clock.AdvanceTo(time).PermitUncheckedError();
  return Status::OK();
}

Status Store::Impl::CatchUpProjections() {
  const std::vector<uint64_t> frontier = Frontier();
  for (size_t i = 0; i < options.projectors.size(); ++i) {
    uint32_t version = 0;
    std::vector<uint64_t> from;
    Status s = ReadCheckpoint(i, &version, &from);
    if (s.IsNotFound()) {
      from.clear();
    } else if (!s.ok()) {
      return s;
    }
    bool behind = false;
    for (uint32_t p = 0; p < partitions; ++p) {
      behind = behind || (p < from.size() ? from[p] : PartitionBase(p)) < frontier[p];
    }
    if (behind) {
      Status c = CatchUp(i, from);
      if (!c.ok()) return c;
    }
  }
  return Status::OK();
}

Status Store::Impl::RecoverFromUpstream() {
  std::vector<UpstreamState> states;
  if (Placed()) {
    // Take again what this node still holds (the refused group may be in the log: read
    // it), let go of what another node took.
    bool taken = false;
    Status s = AcquirePlaced(/*again=*/true, &states, &taken);
    if (s.ok()) s = PullPlaced(states, /*taken=*/true);
    bool any = false;
    for (uint32_t p = 0; p < partitions; ++p) any = any || owned[p];
    writes_upstream = s.ok() && any;
    follows = !any;
    return s;
  }
  Status s = AcquireAll(&states);
  if (s.ok()) s = PullAll(states);
  if (s.ok()) s = ReloadWriterState();
  if (s.ok()) s = CatchUpProjections();
  if (s.ok()) NoteUpstreamSeen(states);
  writes_upstream = s.ok();
  return s;
}

void Store::Impl::FollowUpstream(std::unique_lock<std::mutex>& lock) {
  pull_now_ = false;  // this step pulls
  lock.unlock();
  // The right to write first: a follower takes over as soon as the writer's lease ends.
  const Status acquired = RecoverFromUpstream();
  bool pulled = acquired.ok();
  if (acquired.IsUnavailable()) pulled = PullAsFollower().ok();  // else the lag tells
  lock.lock();
  applied_cv_.notify_all();
  SettleUnknown(/*log_read=*/pulled);
  if (acquired.ok()) {
    following_ = false;
    follows = false;
    follow_reason_ = Status::OK();
    stat_takeovers += 1;
    return;
  }
  // Unavailable names the node that writes; anything else: the log does not answer.
  follow_reason_ = acquired.IsUnavailable()
                       ? acquired
                       : Status::Unavailable("the log does not answer: " + acquired.message());
}

Status Store::Impl::PullAsFollower() {
  std::vector<UpstreamState> states;
  Status s = ReadAllStates(&states);
  if (!s.ok()) return s;
  // New events or rejections at once; command records and side rows (a lease's heartbeat
  // writes no event) at least every second.
  const auto now = std::chrono::steady_clock::now();
  const bool full = now - last_full_pull_ >= kFullPullInterval;
  if (full) last_full_pull_ = now;
  bool pulled = false;
  for (const UpstreamState& state : states) {
    const uint32_t p = state.partition;
    if (full || state.last_position > durable_last[p].load() ||
        state.last_rejection > rejection_seqs_[p]) {
      s = PullUpstream(state);
      if (!s.ok()) return s;
      pulled = true;
    }
  }
  if (pulled) s = CatchUpProjections();
  if (!s.ok()) return s;
  NoteUpstreamSeen(states);
  return Status::OK();
}

void Store::Impl::NoteUpstreamSeen(const std::vector<UpstreamState>& states) {
  uint64_t lag = 0;
  std::string writer;
  for (const UpstreamState& state : states) {
    const uint64_t local = durable_last[state.partition].load();
    lag += state.last_position > local ? state.last_position - local : 0;
    if (state.partition == 0) writer = state.writer;
  }
  {
    std::lock_guard<std::mutex> lock(writer_name_mu);
    upstream_writer = writer;
    for (const UpstreamState& state : states) partition_writers[state.partition] = state.writer;
  }
  upstream_lag_events = lag;
  if (lag == 0) {
    upstream_matched_at = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now().time_since_epoch())
                              .count();
  }
}

Status Store::Impl::AwaitPosition(uint64_t position, std::chrono::milliseconds timeout) {
  const uint32_t partition = PartitionOfPosition(position);
  if (partition >= partitions) {
    return Status::InvalidArgument(
        fmt::format("position {}: of no partition of this log", position));
  }
  const auto holds = [&] { return durable_last[partition].load() >= position; };
  std::unique_lock<std::mutex> lock(mu_);
  if (holds()) return Status::OK();
  if (following_ || Placed()) {
    pull_now_ = true;
    if (builder_waiting_) builder_cv_.notify_one();
  }
  applied_cv_.wait_for(lock, timeout, [&] { return holds() || stopping_; });
  if (holds()) return Status::OK();
  return Status::Unavailable(fmt::format(
      "this node's copy of the log reached position {}, not {}, within {} ms (the command is "
      "durable; a check here may not see it yet)",
      durable_last[partition].load(), position, timeout.count()));
}

}  // namespace ledger

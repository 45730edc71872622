// A store on an upstream log (ledger/upstream.h): applying what the log holds past the
// local files, at open and after the log refused a group.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "keys.h"
#include "records.h"
#include "store_impl.h"

namespace ledger {
namespace {

// Local writes of a pull go in batches of about this many entries.
constexpr size_t kPullBatchEntries = 4096;
// A follower reads the log's command records and side rows at least this often.
constexpr std::chrono::seconds kFullPullInterval{1};

}  // namespace

Status Store::Impl::PullUpstream(const UpstreamState& upstream) {
  const uint64_t local = last_position.load();
  if (upstream.last_position < local) {
    return Status::Corruption(fmt::format(
        "the local files go to position {} but {} ends at {}: they are not a copy of this log "
        "(remove them, or point the node at its own data directory)",
        local, options.upstream->Describe(), upstream.last_position));
  }
  Status s = PullCommands();
  if (s.ok()) s = PullRejections();
  if (s.ok()) s = PullSideRows();
  if (s.ok()) s = PullEvents(upstream);
  return s;
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

Status Store::Impl::PullCommands() {
  rocksdb::WriteBatch batch;
  rocksdb::Status ws;
  Status rs = options.upstream->ReadCommands(last_position.load(), [&](const LogCommand& c) {
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

Status Store::Impl::PullRejections() {
  rocksdb::WriteBatch batch;
  rocksdb::Status ws;
  uint64_t last = rejection_seq_;
  Status rs = options.upstream->ReadRejections(last, [&](const RejectionRecord& r) {
    batch.Put(rejections, keys::RejectionKey(r.tenant, r.sequence), records::EncodeRejection(r));
    last = std::max(last, r.sequence);
    if (batch.Count() >= kPullBatchEntries) {
      batch.Put(meta, keys::kMetaRejectionSeq, keys::BE64(last));
      ws = db->Write(rocksdb::WriteOptions(), &batch);
      batch.Clear();
    }
    return ws.ok();
  });
  if (!rs.ok()) return rs;
  if (!ws.ok()) return FromRocks(ws);
  batch.Put(meta, keys::kMetaRejectionSeq, keys::BE64(last));
  ws = db->Write(rocksdb::WriteOptions(), &batch);
  if (ws.ok()) rejection_seq_ = last;
  return FromRocks(ws);
}

Status Store::Impl::PullSideRows() {
  // Side tables hold current state, not history: the local ones become the log's.
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> tables;
  for (const std::string& name : options.side_tables) {
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      if (h != nullptr && h->GetName() == name) tables[name] = h;
    }
  }
  rocksdb::WriteBatch batch;
  for (const auto& [name, family] : tables) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) batch.Delete(family, it->key());
    if (!it->status().ok()) return FromRocks(it->status());
  }
  Status unknown;
  Status rs = options.upstream->ReadSideRows(
      [&](std::string_view table, std::string_view key, std::string_view value) {
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
  uint64_t position = last_position.load();
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
      position + 1, upstream.last_position, [&](const UpstreamEvent& e) {
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
    return Status::Corruption(fmt::format("{} ends at position {}, not {} as its partition says",
                                          options.upstream->Describe(), position,
                                          upstream.last_position));
  }
  if (!flush(/*sync=*/true)) return FromRocks(ws);
  last_position = position;
  ledger_time = time;
  if (mode == ClockMode::kManual) manual_clock.AdvanceTo(time).PermitUncheckedError();
  return Status::OK();
}

Status Store::Impl::CatchUpProjections() {
  for (size_t i = 0; i < options.projectors.size(); ++i) {
    const Projector& p = *options.projectors[i];
    std::string value;
    uint64_t from = 0;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), checkpoints, p.name(), &value);
    if (s.ok()) {
      uint32_t version = 0;
      if (!keys::DecodeCheckpoint(value, &version, &from)) {
        return Status::Corruption("bad checkpoint of projection '" + p.name() + "'");
      }
    } else if (!s.IsNotFound()) {
      return FromRocks(s);
    }
    if (from < last_position) {
      Status c = CatchUp(i, from);
      if (!c.ok()) return c;
    }
  }
  return Status::OK();
}

Status Store::Impl::RecoverFromUpstream() {
  UpstreamState state;
  Status s = options.upstream->Acquire(&state);
  if (s.ok()) s = PullUpstream(state);
  if (s.ok()) s = ReloadWriterState();
  if (s.ok()) s = CatchUpProjections();
  if (s.ok()) NoteUpstreamSeen(state);
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
  UpstreamState state;
  Status s = options.upstream->ReadState(&state);
  if (!s.ok()) return s;
  // New events or rejections at once; command records and side rows (a lease's heartbeat
  // writes no event) at least every second.
  const auto now = std::chrono::steady_clock::now();
  if (state.last_position > last_position.load() || state.last_rejection > rejection_seq_ ||
      now - last_full_pull_ >= kFullPullInterval) {
    last_full_pull_ = now;
    s = PullUpstream(state);
    if (s.ok()) s = CatchUpProjections();
    if (!s.ok()) return s;
  }
  NoteUpstreamSeen(state);
  return Status::OK();
}

void Store::Impl::NoteUpstreamSeen(const UpstreamState& state) {
  {
    std::lock_guard<std::mutex> lock(writer_name_mu);
    upstream_writer = state.writer;
  }
  const uint64_t log_position = state.last_position;
  const uint64_t local = last_position.load();
  upstream_lag_events = log_position > local ? log_position - local : 0;
  if (log_position <= local) {
    upstream_matched_at = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now().time_since_epoch())
                              .count();
  }
}

Status Store::Impl::AwaitPosition(uint64_t position, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (last_position.load() >= position) return Status::OK();
  if (following_) {
    pull_now_ = true;
    if (builder_waiting_) builder_cv_.notify_one();
  }
  applied_cv_.wait_for(lock, timeout,
                       [&] { return last_position.load() >= position || stopping_; });
  if (last_position.load() >= position) return Status::OK();
  return Status::Unavailable(fmt::format(
      "this node's copy of the log reached position {}, not {}, within {} ms (the command is "
      "durable; a check here may not see it yet)",
      last_position.load(), position, timeout.count()));
}

}  // namespace ledger

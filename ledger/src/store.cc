// The write path: opening the database and the group-committed single writer.
#include <fmt/format.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <exception>

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

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  if (s.IsInvalidArgument()) return Status::InvalidArgument(s.ToString());
  return Status::IOError(s.ToString());
}

rocksdb::ColumnFamilyOptions PointLookupOptions() {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

bool ValidKeyText(std::string_view s) {
  return !s.empty() && s.find('\0') == std::string_view::npos;
}

void Reject(AppendResult* result, std::string code, std::string message) {
  result->kind = AppendResult::Kind::kRejected;
  result->rejection = Rejected{std::move(code), std::move(message)};
  result->events.clear();
}

}  // namespace

Status Store::Impl::Open(const StoreOptions& opts, const std::string& path) {
  options = opts;
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !opts.read_only;
  db_options.create_missing_column_families = !opts.read_only;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.keep_log_file_num = 4;
  if (opts.env != nullptr) db_options.env = opts.env;

  rocksdb::ColumnFamilyOptions events_cf;
  events_cf.write_buffer_size = 64 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kCfEvents, events_cf},
      {kCfStreams, PointLookupOptions()},
      {kCfCommands, PointLookupOptions()},
      {kCfHeads, PointLookupOptions()},
      {kCfRejections, rocksdb::ColumnFamilyOptions()},
  };
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      opts.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw)
          : rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s);
  db.reset(raw);
  meta = handles[0];
  events = handles[1];
  streams = handles[2];
  commands = handles[3];
  heads = handles[4];
  rejections = handles[5];
  return LoadMeta();
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
  s = db->Get(rocksdb::ReadOptions(), meta, keys::kMetaRejectionSeq, &value);
  if (s.ok() && value.size() == 8) {
    rejection_seq_ = keys::GetBE64(value.data());
  } else if (!s.IsNotFound()) {
    return s.ok() ? Status::Corruption("bad rejection sequence") : FromRocks(s);
  }

  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), events));
  it->SeekToLast();
  if (it->Valid()) {
    if (it->key().size() != 8) return Status::Corruption("bad event key");
    last_position = keys::GetBE64(it->key().data());
  }
  return FromRocks(it->status());
}

Store::Impl::~Impl() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    closing_ = true;
    idle_.wait(lock, [this] { return queue_.empty(); });
  }
  if (db) {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    handles.clear();
    db->Close().PermitUncheckedError();
  }
}

Status Store::Impl::LoadHead(const std::string& tenant, StreamHead* head) {
  auto it = head_cache_.find(tenant);
  if (it != head_cache_.end()) {
    *head = it->second;
    return Status::OK();
  }
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), heads, tenant, &value);
  if (s.IsNotFound()) {
    *head = StreamHead();
  } else if (!s.ok()) {
    return FromRocks(s);
  } else {
    Status d = records::DecodeHead(value, head);
    if (!d.ok()) return d;
  }
  head_cache_.emplace(tenant, *head);
  return Status::OK();
}

Status Store::Impl::WriteHealth() {
  std::lock_guard<std::mutex> lock(mu_);
  return write_error_;
}

Status Store::Impl::Write(QueuedWrite* w) {
  std::unique_lock<std::mutex> lock(mu_);
  if (closing_) return Status::Unavailable("store is closing");
  if (options.read_only) return Status::Unavailable("store is open read-only");
  queue_.push_back(w);
  while (!w->done && w != queue_.front()) w->cv.wait(lock);
  if (w->done) return w->status;

  // This writer leads: take a bounded group from the front of the queue.
  std::vector<QueuedWrite*> group;
  size_t bytes = 0;
  for (QueuedWrite* q : queue_) {
    if (group.size() >= options.max_group_requests) break;
    size_t size = 64;
    if (q->request != nullptr) {
      for (const auto& e : q->request->events) size += 64 + e.reader().totalSize().wordCount * 8;
    }
    if (!group.empty() && bytes + size > options.max_group_bytes) break;
    bytes += size;
    group.push_back(q);
  }

  Status status = write_error_.ok() ? Status::OK()
                                    : Status::Unavailable("store refuses writes after an "
                                                          "earlier failure (reopen it): " +
                                                          write_error_.message());
  if (status.ok()) {
    lock.unlock();
    status = CommitGroup(group);
    lock.lock();
    if (!status.ok()) write_error_ = status;
  }

  for (QueuedWrite* q : group) {
    queue_.pop_front();
    q->status = status;
    q->done = true;
    if (q != w) q->cv.notify_one();
  }
  if (!queue_.empty()) {
    queue_.front()->cv.notify_one();
  } else {
    idle_.notify_all();
  }
  return status;
}

Status Store::Impl::CommitGroup(const std::vector<QueuedWrite*>& group) {
  rocksdb::WriteBatch batch;
  std::unordered_map<std::string, StreamHead> pending_heads;
  struct Pending {
    Digest hash;
    const AppendResult* result;
  };
  std::unordered_map<std::string, Pending> pending_commands;
  uint64_t position = last_position.load();
  Micros time = ledger_time.load();
  uint64_t rejection_seq = rejection_seq_;
  const uint64_t first_rejection_seq = rejection_seq_;

  auto log_rejection = [&](RejectionRecord record) {
    record.sequence = ++rejection_seq;
    batch.Put(rejections, keys::RejectionKey(record.tenant, record.sequence),
              records::EncodeRejection(record));
  };

  for (QueuedWrite* w : group) {
    if (w->rejection != nullptr) {
      RejectionRecord& r = *w->rejection;
      if (r.at == 0) r.at = mode == ClockMode::kManual ? time : std::max(time, system_clock.Now());
      log_rejection(r);
      r.sequence = rejection_seq;
      continue;
    }
    AppendRequest& req = *w->request;
    AppendResult& result = *w->result;
    result = AppendResult();
    result.command_id = req.command_id;

    auto reject = [&](std::string code, std::string message) {
      Reject(&result, code, message);
      RejectionRecord r;
      r.tenant = req.tenant;
      r.command_id = req.command_id;
      r.command_type = req.command_type;
      r.actor = req.actor;
      r.code = std::move(code);
      r.message = std::move(message);
      r.at = time;
      r.command_json = req.command_json;
      log_rejection(std::move(r));
    };

    if (!ValidKeyText(req.tenant)) {
      reject("bad_request", "tenant: required");
      continue;
    }
    if (!ValidKeyText(req.command_id)) {
      reject("bad_request", "id: required");
      continue;
    }

    // Idempotency (R16), first within this group, then against the durable record.
    std::string command_key = keys::CommandKey(req.tenant, req.command_id);
    if (auto p = pending_commands.find(command_key); p != pending_commands.end()) {
      if (p->second.hash != req.request_hash) {
        reject("idempotency_key_reused",
               "id: '" + req.command_id + "' was already used for a different command");
      } else {
        result = *p->second.result;
        result.kind = AppendResult::Kind::kDuplicate;
      }
      continue;
    }
    std::string stored;
    rocksdb::Status gs = db->Get(rocksdb::ReadOptions(), commands, command_key, &stored);
    if (gs.ok()) {
      Digest hash{};
      Status d = records::DecodeCommand(stored, &hash, &result);
      if (!d.ok()) return d;
      result.command_id = req.command_id;
      if (hash != req.request_hash) {
        reject("idempotency_key_reused",
               "id: '" + req.command_id + "' was already used for a different command");
      } else {
        result.kind = AppendResult::Kind::kDuplicate;
      }
      continue;
    }
    if (!gs.IsNotFound()) return FromRocks(gs);

    // Time: manual mode takes the command's `at`, which never goes backwards.
    Micros now = time;
    if (mode == ClockMode::kManual) {
      if (req.at) {
        if (*req.at < time) {
          reject("bad_request", fmt::format("at: {} is earlier than the ledger time {}",
                                            FormatRfc3339(*req.at), FormatRfc3339(time)));
          continue;
        }
        now = *req.at;
      }
    } else {
      if (req.at) {
        reject("bad_request", "at: only a ledger with the manual clock accepts `at`");
        continue;
      }
      now = std::max(time, system_clock.Now());
    }
    time = now;

    // Expected version (R17) against the head including this group's earlier appends.
    auto head_it = pending_heads.find(req.tenant);
    if (head_it == pending_heads.end()) {
      StreamHead loaded;
      Status hs = LoadHead(req.tenant, &loaded);
      if (!hs.ok()) return hs;
      head_it = pending_heads.emplace(req.tenant, loaded).first;
    }
    StreamHead& head = head_it->second;
    if (req.expected_version && *req.expected_version != head.version) {
      reject("conflict", fmt::format("expected_version: the stream is at version {}, not {}",
                                     head.version, *req.expected_version));
      continue;
    }

    std::vector<EventDraft> decided;
    std::vector<EventDraft>* drafts = &req.events;
    if (req.decide) {
      std::optional<Rejected> rejected;
      try {
        rejected = req.decide(head, now, &decided);
      } catch (const std::exception& e) {
        rejected = Rejected{"internal_error", e.what()};
      }
      if (rejected) {
        reject(rejected->code, rejected->message);
        continue;
      }
      drafts = &decided;
    }

    // Assign positions and versions, complete the envelopes, chain the hashes.
    const uint64_t first_position = position + 1;
    for (size_t i = 0; i < drafts->size(); ++i) {
      EventDraft& draft = (*drafts)[i];
      ++position;
      ++head.version;
      schema::Event::Builder e = draft.root();
      e.setPosition(position);
      e.setTenant(req.tenant);
      e.setVersion(head.version);
      e.setEventId(fmt::format("{}/{}", req.tenant, head.version));
      e.setCommandId(req.command_id);
      e.setCausation(draft.caused_by > 0 && draft.caused_by <= i
                         ? first_position + draft.caused_by - 1
                         : 0);
      e.setActor(draft.actor.empty() ? req.actor : draft.actor);
      e.setRecordedAt(now);
      e.setEffectiveAt(draft.effective_at != 0 ? draft.effective_at : now);
      e.setReason(draft.reason);
      e.setSchemaVersion(kEventSchemaVersion);
      e.setPrevHash(capnp::Data::Reader(head.hash.data(), head.hash.size()));
      Digest hash{};
      const std::string bytes = EncodeCanonicalEvent(e, &hash);
      batch.Put(events, keys::EventKey(position), bytes);
      std::string pos_value = keys::BE64(position);
      batch.Put(streams, keys::StreamKey(req.tenant, head.version), pos_value);
      head.hash = hash;
      head.position = position;
      result.events.push_back(AppendedEvent{position, head.version,
                                            std::string(EventTypeName(e.getPayload().which()))});
    }
    result.kind = AppendResult::Kind::kAccepted;
    result.version = head.version;
    result.position = drafts->empty() ? position : head.position;
    result.recorded_at = now;
    batch.Put(commands, command_key, records::EncodeCommand(req.request_hash, result));
    pending_commands.emplace(std::move(command_key), Pending{req.request_hash, &result});
  }

  if (batch.Count() == 0 && time == ledger_time.load()) return Status::OK();  // duplicates only
  for (const auto& [tenant, head] : pending_heads) {
    batch.Put(heads, tenant, records::EncodeHead(head));
  }
  batch.Put(meta, keys::kMetaLedgerTime, keys::BE64(static_cast<uint64_t>(time)));
  if (rejection_seq != first_rejection_seq) {
    batch.Put(meta, keys::kMetaRejectionSeq, keys::BE64(rejection_seq));
  }

  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status ws = db->Write(wo, &batch);
  if (!ws.ok()) {
    // The cached heads may no longer match the disk; the store is unusable until reopened.
    head_cache_.clear();
    return Status::IOError("append failed: " + ws.ToString());
  }
  for (auto& [tenant, head] : pending_heads) head_cache_[tenant] = head;
  last_position = position;
  ledger_time = time;
  if (mode == ClockMode::kManual) manual_clock.AdvanceTo(time).PermitUncheckedError();
  rejection_seq_ = rejection_seq;
  return Status::OK();
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

Status Store::Append(AppendRequest request, AppendResult* result) {
  QueuedWrite w;
  w.request = &request;
  w.result = result;
  return impl_->Write(&w);
}

Status Store::RecordRejection(RejectionRecord record) {
  QueuedWrite w;
  w.rejection = &record;
  return impl_->Write(&w);
}

ClockMode Store::clock_mode() const { return impl_->mode; }

Micros Store::LedgerTime() const { return impl_->ledger_time.load(); }

uint64_t Store::LastPosition() const { return impl_->last_position.load(); }

}  // namespace ledger

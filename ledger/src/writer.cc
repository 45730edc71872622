// The single writer: group commit in two pipelined stages (build, then synced write).
//
// Like leveldb's DBImpl::Write, callers queue on their own stack and the front one leads.
// Unlike it, the leader gives up the front as soon as its group is encoded, so the next
// group is validated and encoded while this one is in its synced RocksDB write. Writes
// happen strictly in ticket order; a failed write poisons every later group (sticky).
#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <exception>

#include "keys.h"
#include "records.h"
#include "store_impl.h"

namespace ledger {
namespace {

bool ValidKeyText(std::string_view s) {
  return !s.empty() && s.find('\0') == std::string_view::npos;
}

void Reject(AppendResult* result, std::string code, std::string message) {
  result->kind = AppendResult::Kind::kRejected;
  result->rejection = Rejected{std::move(code), std::move(message)};
  result->events.clear();
}

uint64_t MicrosBetween(std::chrono::steady_clock::time_point a,
                       std::chrono::steady_clock::time_point b) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(b - a).count());
}

Status RefusedAfter(const Status& error) {
  return Status::Unavailable("store refuses writes after an earlier failure (reopen it): " +
                             error.message());
}

}  // namespace

Status Store::Impl::WriteHealth() {
  std::lock_guard<std::mutex> lock(mu_);
  return write_error_;
}

bool Store::Impl::FindInflight(const std::string& key, InflightCommand* out) {
  std::lock_guard<std::mutex> lock(inflight_mu_);
  auto it = inflight_.find(key);
  if (it == inflight_.end()) return false;
  *out = it->second;
  return true;
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

// Validates writers and encodes them into one group's WriteBatch, using and advancing the
// builder-only state of the store. Used by one builder at a time.
class GroupBuilder {
 public:
  GroupBuilder(Store::Impl* impl, PreparedGroup* out)
      : impl_(*impl),
        out_(*out),
        start_(std::chrono::steady_clock::now()),
        position_(impl->build_position_),
        first_position_(impl->build_position_),
        time_(impl->build_time_),
        time_before_(impl->build_time_),
        rejection_seq_(impl->rejection_seq_),
        first_rejection_seq_(impl->rejection_seq_) {}

  // Validates and encodes `writers`, in order, after the ones added before.
  Status Add(const std::vector<QueuedWrite*>& writers);
  // Completes the batch (heads, meta) and publishes the builder state for the next group.
  Status Finish();

 private:
  struct Pending {
    Digest hash;
    const AppendResult* result;
  };

  Status AddRequest(AppendRequest& req, AppendResult& result);
  void LogRejection(RejectionRecord record);

  Store::Impl& impl_;
  PreparedGroup& out_;
  const std::chrono::steady_clock::time_point start_;
  std::unordered_map<std::string, StreamHead> pending_heads_;
  std::unordered_map<std::string, Pending> pending_commands_;
  uint64_t position_;
  const uint64_t first_position_;
  Micros time_;
  const Micros time_before_;
  uint64_t rejection_seq_;
  const uint64_t first_rejection_seq_;
};

void GroupBuilder::LogRejection(RejectionRecord record) {
  record.sequence = ++rejection_seq_;
  out_.batch.Put(impl_.rejections, keys::RejectionKey(record.tenant, record.sequence),
                 records::EncodeRejection(record));
}

Status GroupBuilder::Add(const std::vector<QueuedWrite*>& writers) {
  for (QueuedWrite* w : writers) {
    ++out_.requests;
    if (w->rejection != nullptr) {
      RejectionRecord& r = *w->rejection;
      if (r.at == 0) {
        r.at = impl_.mode == ClockMode::kManual ? time_
                                                 : std::max(time_, impl_.system_clock.Now());
      }
      LogRejection(r);
      r.sequence = rejection_seq_;
      continue;
    }
    Status s = AddRequest(*w->request, *w->result);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status GroupBuilder::AddRequest(AppendRequest& req, AppendResult& result) {
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
    r.at = time_;
    r.command_json = req.command_json;
    LogRejection(std::move(r));
    return Status::OK();
  };

  if (!ValidKeyText(req.tenant)) return reject("bad_request", "tenant: required");
  if (!ValidKeyText(req.command_id)) return reject("bad_request", "id: required");

  // Idempotency (R16): this group, then groups still being written, then the disk.
  std::string command_key = keys::CommandKey(req.tenant, req.command_id);
  auto found_earlier = [&](const Digest& hash, const AppendResult& original) {
    if (hash != req.request_hash) {
      return reject("idempotency_key_reused",
                    "id: '" + req.command_id + "' was already used for a different command");
    }
    result = original;
    result.command_id = req.command_id;
    result.kind = AppendResult::Kind::kDuplicate;
    return Status::OK();
  };
  if (auto p = pending_commands_.find(command_key); p != pending_commands_.end()) {
    return found_earlier(p->second.hash, *p->second.result);
  }
  InflightCommand inflight;
  if (impl_.FindInflight(command_key, &inflight)) {
    return found_earlier(inflight.hash, inflight.result);
  }
  std::string stored;
  rocksdb::Status gs =
      impl_.db->Get(rocksdb::ReadOptions(), impl_.commands, command_key, &stored);
  if (gs.ok()) {
    Digest hash{};
    AppendResult original;
    Status d = records::DecodeCommand(stored, &hash, &original);
    if (!d.ok()) return d;
    return found_earlier(hash, original);
  }
  if (!gs.IsNotFound()) return FromRocks(gs);

  // Time: manual mode takes the command's `at`, which never goes backwards.
  Micros now = time_;
  if (impl_.mode == ClockMode::kManual) {
    if (req.at) {
      if (*req.at < time_) {
        return reject("bad_request", fmt::format("at: {} is earlier than the ledger time {}",
                                                 FormatRfc3339(*req.at), FormatRfc3339(time_)));
      }
      now = *req.at;
    }
  } else {
    if (req.at) return reject("bad_request", "at: only a ledger with the manual clock accepts `at`");
    now = std::max(time_, impl_.system_clock.Now());
  }
  time_ = now;

  // Expected version (R17) against the head including earlier groups' appends.
  auto head_it = pending_heads_.find(req.tenant);
  if (head_it == pending_heads_.end()) {
    StreamHead loaded;
    Status hs = impl_.LoadHead(req.tenant, &loaded);
    if (!hs.ok()) return hs;
    head_it = pending_heads_.emplace(req.tenant, loaded).first;
  }
  StreamHead& head = head_it->second;
  if (req.expected_version && *req.expected_version != head.version) {
    return reject("conflict", fmt::format("expected_version: the stream is at version {}, not {}",
                                          head.version, *req.expected_version));
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
    if (rejected) return reject(rejected->code, rejected->message);
    drafts = &decided;
  }

  // Assign positions and versions, complete the envelopes, chain the hashes.
  rocksdb::WriteBatch& batch = out_.batch;
  const uint64_t first_position = position_ + 1;
  for (size_t i = 0; i < drafts->size(); ++i) {
    EventDraft& draft = (*drafts)[i];
    ++position_;
    ++head.version;
    schema::Event::Builder e = draft.root();
    e.setPosition(position_);
    e.setTenant(req.tenant);
    e.setVersion(head.version);
    e.setEventId(fmt::format("{}/{}", req.tenant, head.version));
    e.setCommandId(req.command_id);
    e.setCausation(draft.caused_by > 0 && draft.caused_by <= i ? first_position + draft.caused_by - 1
                                                                : 0);
    e.setActor(draft.actor.empty() ? req.actor : draft.actor);
    e.setRecordedAt(now);
    e.setEffectiveAt(draft.effective_at != 0 ? draft.effective_at : now);
    e.setReason(draft.reason);
    e.setSchemaVersion(kEventSchemaVersion);
    e.setPrevHash(capnp::Data::Reader(head.hash.data(), head.hash.size()));
    Digest hash{};
    const std::string bytes = EncodeCanonicalEvent(e, &hash);
    batch.Put(impl_.events, keys::EventKey(position_), bytes);
    batch.Put(impl_.streams, keys::StreamKey(req.tenant, head.version), keys::BE64(position_));
    head.hash = hash;
    head.position = position_;
    result.events.push_back(AppendedEvent{position_, head.version,
                                          std::string(EventTypeName(e.getPayload().which()))});
  }
  result.kind = AppendResult::Kind::kAccepted;
  result.version = head.version;
  result.position = drafts->empty() ? position_ : head.position;
  result.recorded_at = now;
  batch.Put(impl_.commands, command_key, records::EncodeCommand(req.request_hash, result));
  pending_commands_.emplace(std::move(command_key), Pending{req.request_hash, &result});
  return Status::OK();
}

Status GroupBuilder::Finish() {
  rocksdb::WriteBatch& batch = out_.batch;
  out_.empty = batch.Count() == 0 && time_ == time_before_;
  if (out_.empty) return Status::OK();
  for (const auto& [tenant, head] : pending_heads_) {
    batch.Put(impl_.heads, tenant, records::EncodeHead(head));
  }
  batch.Put(impl_.meta, keys::kMetaLedgerTime, keys::BE64(static_cast<uint64_t>(time_)));
  if (rejection_seq_ != first_rejection_seq_) {
    batch.Put(impl_.meta, keys::kMetaRejectionSeq, keys::BE64(rejection_seq_));
  }

  // The next group is built before this one is durable: publish the state it builds on,
  // and keep this group's commands findable for idempotency until they are on disk.
  {
    std::lock_guard<std::mutex> lock(impl_.inflight_mu_);
    for (const auto& [key, pending] : pending_commands_) {
      impl_.inflight_[key] = InflightCommand{pending.hash, *pending.result};
      out_.inflight_keys.push_back(key);
    }
  }
  for (auto& [tenant, head] : pending_heads_) impl_.head_cache_[tenant] = head;
  impl_.build_position_ = position_;
  impl_.build_time_ = time_;
  impl_.rejection_seq_ = rejection_seq_;

  out_.last_position = position_;
  out_.events = position_ - first_position_;
  out_.time = time_;
  out_.build_micros = MicrosBetween(start_, std::chrono::steady_clock::now());
  return Status::OK();
}

std::vector<QueuedWrite*> Store::Impl::TakeFromQueue(size_t already, size_t* bytes) {
  std::vector<QueuedWrite*> taken;
  while (!queue_.empty() && already + taken.size() < options.max_group_requests) {
    QueuedWrite* q = queue_.front();
    size_t size = 64;
    if (q->request != nullptr) {
      for (const auto& e : q->request->events) size += 64 + e.reader().totalSize().wordCount * 8;
    }
    if (already + taken.size() > 0 && *bytes + size > options.max_group_bytes) break;
    *bytes += size;
    taken.push_back(q);
    queue_.pop_front();
  }
  return taken;
}

Status Store::Impl::Write(QueuedWrite* w) {
  std::unique_lock<std::mutex> lock(mu_);
  if (closing_) return Status::Unavailable("store is closing");
  if (options.read_only) return Status::Unavailable("store is open read-only");
  queue_.push_back(w);
  if (absorbing_) turn_cv_.notify_all();
  // Lead the next group once this writer is at the front and at most one group is ahead
  // of it (being written): building further ahead would only make smaller groups.
  while (!w->done && (queue_.empty() || w != queue_.front() || building_ ||
                      next_ticket_ - write_turn_ > 1)) {
    w->cv.wait(lock);
  }
  if (w->done) return w->status;
  building_ = true;

  // Builder. Encode what is queued, then keep absorbing arrivals until our turn to write.
  const uint64_t ticket = next_ticket_++;
  std::vector<QueuedWrite*> group;
  size_t bytes = 0;
  PreparedGroup prepared;
  GroupBuilder builder(this, &prepared);
  Status status = write_error_.ok() ? Status::OK() : RefusedAfter(write_error_);
  while (true) {
    std::vector<QueuedWrite*> taken = TakeFromQueue(group.size(), &bytes);
    group.insert(group.end(), taken.begin(), taken.end());
    if (!taken.empty() && status.ok()) {
      lock.unlock();
      status = builder.Add(taken);
      lock.lock();
    }
    if (!status.ok() || group.size() >= options.max_group_requests) break;
    if (write_turn_ == ticket && queue_.empty()) break;
    if (write_turn_ != ticket && queue_.empty()) {
      absorbing_ = true;
      turn_cv_.wait(lock);
      absorbing_ = false;
    }
  }
  if (status.ok()) {
    lock.unlock();
    status = builder.Finish();
    lock.lock();
  }
  // Hand the builder role on; wait for this group's turn to write.
  building_ = false;
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  while (write_turn_ != ticket) turn_cv_.wait(lock);
  if (status.ok() && !write_error_.ok()) status = RefusedAfter(write_error_);
  lock.unlock();

  if (status.ok() && !prepared.empty) status = WriteGroup(&prepared);

  lock.lock();
  if (!status.ok() && write_error_.ok() && !status.IsUnavailable()) write_error_ = status;
  ++write_turn_;
  turn_cv_.notify_all();
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  for (QueuedWrite* q : group) {
    q->status = status;
    q->done = true;
    if (q != w) q->cv.notify_one();
  }
  if (queue_.empty() && write_turn_ == next_ticket_) idle_.notify_all();
  return status;
}

Status Store::Impl::WriteGroup(PreparedGroup* prepared) {
  const auto write_start = std::chrono::steady_clock::now();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status ws = db->Write(wo, &prepared->batch);
  stat_build_micros += prepared->build_micros;
  stat_write_micros += MicrosBetween(write_start, std::chrono::steady_clock::now());
  if (!ws.ok()) {
    // The builder state ran ahead of the disk; the store stays unusable until reopened.
    return Status::IOError("append failed: " + ws.ToString());
  }
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    for (const auto& key : prepared->inflight_keys) inflight_.erase(key);
  }
  stat_groups += 1;
  stat_requests += prepared->requests;
  stat_events += prepared->events;
  last_position = prepared->last_position;
  ledger_time = prepared->time;
  if (mode == ClockMode::kManual) manual_clock.AdvanceTo(prepared->time).PermitUncheckedError();
  return Status::OK();
}

}  // namespace ledger

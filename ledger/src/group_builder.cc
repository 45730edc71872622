#include "group_builder.h"

#include <fmt/format.h>

#include <exception>

#include "keys.h"
#include "records.h"

namespace ledger {
namespace {

bool ValidKeyText(std::string_view s) {
  return !s.empty() && s.find('\0') == std::string_view::npos;
}

}  // namespace

bool GroupBuilder::KnownTables(const std::vector<RowWrite>& rows) const {
  for (const RowWrite& w : rows) {
    if (!w.table.valid() || w.table.index >= impl_.handles.size()) return false;
  }
  return true;
}

GroupBuilder::GroupBuilder(Store::Impl* impl, PreparedGroup* out)
    : impl_(*impl),
      out_(*out),
      upstream_(impl->options.upstream != nullptr),
      rows_(&out->batch, &impl->handles),
      positions_(impl->build_positions_),
      first_positions_(impl->build_positions_),
      rejection_seqs_(impl->rejection_seqs_),
      first_rejection_seqs_(impl->rejection_seqs_),
      durable_(impl->Frontier()),
      time_(impl->build_time_),
      time_before_(impl->build_time_) {
  part_index_.fill(-1);
}

uint32_t GroupBuilder::PartitionFor(std::string_view tenant) const {
  return LogPartitionOf(tenant, impl_.partitions);
}

LogGroup& GroupBuilder::LogFor(uint32_t partition) {
  int& index = part_index_[partition];
  if (index < 0) {
    index = static_cast<int>(out_.parts.size());
    out_.parts.push_back(PartitionLog{partition, first_positions_[partition], LogGroup()});
  }
  return out_.parts[index].log;
}

void GroupBuilder::LogRejection(RejectionRecord record) {
  const uint32_t partition = PartitionFor(record.tenant);
  record.sequence = ++rejection_seqs_[partition];
  out_.batch.Put(impl_.rejections, keys::RejectionKey(record.tenant, record.sequence),
                 records::EncodeRejection(record));
  if (upstream_) LogFor(partition).rejections.push_back(std::move(record));
}

void GroupBuilder::ApplyRow(const std::string& tenant, const RowWrite& w) {
  rows_.Apply(w);
  if (upstream_) {
    LogFor(PartitionFor(tenant))
        .rows.push_back(LogSideRow{impl_.handles[w.table.index]->GetName(), w.key, w.value});
  }
}

void GroupBuilder::RecordUpstream(const std::string& tenant, const std::string& command_id,
                                  const Digest& hash, const AppendResult& result) {
  if (upstream_) {
    LogFor(PartitionFor(tenant)).commands.push_back(LogCommand{tenant, command_id, hash, result});
  }
}

Status GroupBuilder::Add(const std::vector<QueuedWrite*>& writes) {
  durable_ = impl_.Frontier();  // what projectors may evict: newer is less conservative
  for (QueuedWrite* w : writes) {
    if (w->rejection) {
      RejectionRecord& r = *w->rejection;
      if (r.at == 0) {
        r.at = impl_.mode == ClockMode::kManual ? time_ : std::max(time_, impl_.system_clock.Now());
      }
      LogRejection(r);
      r.sequence = rejection_seqs_[PartitionFor(r.tenant)];
      continue;
    }
    Status s = AddRequest(w->request, w->result);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status GroupBuilder::Reject(const AppendRequest& req, AppendResult& result, std::string code,
                            std::string message) {
  result.kind = AppendResult::Kind::kRejected;
  result.rejection = Rejected{code, message};
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
}

Status GroupBuilder::FindEarlier(const AppendRequest& req, const std::string& command_key,
                                 AppendResult& result, bool* found) {
  *found = true;
  auto answer = [&](const Digest& hash, const AppendResult& original) {
    if (hash != req.request_hash) {
      return Reject(req, result, "idempotency_key_reused",
                    "id: '" + req.command_id + "' was already used for a different command");
    }
    result = original;
    result.command_id = req.command_id;
    result.kind = AppendResult::Kind::kDuplicate;
    return Status::OK();
  };
  if (auto p = pending_commands_.find(command_key); p != pending_commands_.end()) {
    return answer(p->second.hash, *p->second.result);
  }
  InflightCommand inflight;
  if (impl_.FindInflight(command_key, &inflight)) return answer(inflight.hash, inflight.result);
  std::string stored;
  const rocksdb::Status gs =
      impl_.db->Get(rocksdb::ReadOptions(), impl_.commands, command_key, &stored);
  if (gs.ok()) {
    Digest hash{};
    AppendResult original;
    Status d = records::DecodeCommand(stored, &hash, &original);
    if (!d.ok()) return d;
    return answer(hash, original);
  }
  *found = false;
  return gs.IsNotFound() ? Status::OK() : FromRocks(gs);
}

std::optional<std::string> GroupBuilder::CommandTime(const AppendRequest& req, Micros* now) {
  *now = time_;
  if (impl_.mode == ClockMode::kManual) {
    if (req.at) {
      if (*req.at < time_) {
        return fmt::format("at: {} is earlier than the ledger time {}", FormatRfc3339(*req.at),
                           FormatRfc3339(time_));
      }
      *now = *req.at;
    }
  } else {
    if (req.at) return "at: only a ledger with the manual clock accepts `at`";
    *now = std::max(time_, impl_.system_clock.Now());
  }
  return std::nullopt;
}

Status GroupBuilder::HeadFor(const std::string& tenant, StreamHead** head) {
  auto it = pending_heads_.find(tenant);
  if (it == pending_heads_.end()) {
    StreamHead loaded;
    Status hs = impl_.LoadHead(tenant, &loaded);
    if (!hs.ok()) return hs;
    it = pending_heads_.emplace(tenant, loaded).first;
  }
  *head = &it->second;
  return Status::OK();
}

Status GroupBuilder::AddPrelude(AppendRequest& req, Decision& decision, Micros now,
                                StreamHead& head) {
  // Time-driven effects: their own command, appended whatever becomes of this one.
  AppendResult prelude_result;
  const std::string prelude_key = keys::CommandKey(req.tenant, decision.prelude_command_id);
  Status es = Encode(req.tenant, decision.prelude_command_id, "system", now, decision.prelude, head,
                     &prelude_result, req.on_encoded);
  if (!es.ok()) return es;
  const Digest prelude_hash = Sha256(decision.prelude_command_id);
  out_.batch.Put(impl_.commands, prelude_key, records::EncodeCommand(prelude_hash, prelude_result));
  RecordUpstream(req.tenant, decision.prelude_command_id, prelude_hash, prelude_result);
  prelude_results_.push_back(std::make_unique<AppendResult>(std::move(prelude_result)));
  pending_commands_.emplace(prelude_key, Pending{prelude_hash, prelude_results_.back().get()});
  return Status::OK();
}

Status GroupBuilder::AddRequest(AppendRequest& req, AppendResult& result) {
  result = AppendResult();
  result.command_id = req.command_id;
  if (!ValidKeyText(req.tenant)) return Reject(req, result, "bad_request", "tenant: required");
  if (!ValidKeyText(req.command_id)) return Reject(req, result, "bad_request", "id: required");

  // Idempotency (R16): this group, then the group being written, then the disk.
  std::string command_key = keys::CommandKey(req.tenant, req.command_id);
  if (req.check_idempotency) {
    bool found = false;
    Status s = FindEarlier(req, command_key, result, &found);
    if (!s.ok() || found) return s;
  }

  // Time: manual mode takes the command's `at`, which never goes backwards.
  Micros now = 0;
  if (auto bad = CommandTime(req, &now)) return Reject(req, result, "bad_request", *bad);
  time_ = now;

  // Expected version (R17) against the head including earlier groups' appends.
  StreamHead* head = nullptr;
  Status hs = HeadFor(req.tenant, &head);
  if (!hs.ok()) return hs;
  if (req.expected_version && *req.expected_version != head->version) {
    return Reject(req, result, "conflict",
                  fmt::format("expected_version: the stream is at version {}, not {}",
                              head->version, *req.expected_version));
  }

  Decision decision;
  std::vector<EventDraft>* drafts = &req.events;
  if (req.decide) {
    try {
      decision = req.decide(*head, now);
    } catch (const std::exception& e) {
      decision = Decision();
      decision.rejection = Rejected{"internal_error", e.what()};
    }
    if (!decision.prelude.empty()) {
      Status ps = AddPrelude(req, decision, now, *head);
      if (!ps.ok()) return ps;
    }
    if (!KnownTables(decision.prelude_rows) || !KnownTables(decision.rows)) {
      return Reject(req, result, "internal_error",
                    "a decision wrote to a table the store does not have");
    }
    for (const RowWrite& w : decision.prelude_rows) ApplyRow(req.tenant, w);
    if (decision.rejection) {
      return Reject(req, result, decision.rejection->code, decision.rejection->message);
    }
    for (const RowWrite& w : decision.rows) ApplyRow(req.tenant, w);
    if (decision.discard) {
      result.kind = AppendResult::Kind::kAccepted;
      result.version = head->version;
      result.position = head->position;
      result.recorded_at = now;
      return Status::OK();
    }
    drafts = &decision.events;
  }
  if (!req.check_idempotency) {
    return Reject(req, result, "internal_error",
                  "a request without idempotency check must be discarded");
  }

  Status es =
      Encode(req.tenant, req.command_id, req.actor, now, *drafts, *head, &result, req.on_encoded);
  if (!es.ok()) return es;
  result.kind = AppendResult::Kind::kAccepted;
  out_.batch.Put(impl_.commands, command_key, records::EncodeCommand(req.request_hash, result));
  RecordUpstream(req.tenant, req.command_id, req.request_hash, result);
  pending_commands_.emplace(std::move(command_key), Pending{req.request_hash, &result});
  return Status::OK();
}

Status GroupBuilder::Encode(const std::string& tenant, const std::string& command_id,
                            const std::string& actor, Micros now, std::vector<EventDraft>& drafts,
                            StreamHead& head, AppendResult* result,
                            const std::function<void(schema::Event::Reader)>& on_encoded) {
  // Assign positions and versions, complete the envelopes, chain the hashes.
  const uint32_t partition = PartitionFor(tenant);
  uint64_t& position = positions_[partition];
  const uint64_t first_position = position + 1;
  for (size_t i = 0; i < drafts.size(); ++i) {
    EventDraft& draft = drafts[i];
    ++position;
    ++head.version;
    schema::Event::Builder e = draft.root();
    e.setPosition(position);
    e.setTenant(tenant);
    e.setVersion(head.version);
    e.setEventId(fmt::format("{}/{}", tenant, head.version));
    e.setCommandId(command_id);
    const bool caused =
        draft.caused_by > 0 && draft.caused_by <= drafts.size() && draft.caused_by != i + 1;
    e.setCausation(caused ? first_position + draft.caused_by - 1 : 0);
    e.setActor(draft.actor.empty() ? actor : draft.actor);
    e.setRecordedAt(now);
    e.setEffectiveAt(draft.effective_at != 0 ? draft.effective_at : now);
    e.setReason(draft.reason);
    e.setSchemaVersion(kEventSchemaVersion);
    e.setPrevHash(capnp::Data::Reader(head.hash.data(), head.hash.size()));
    Digest hash{};
    const std::string bytes = EncodeCanonicalEvent(e, &hash);
    out_.batch.Put(impl_.events, keys::EventKey(position), bytes);
    if (upstream_)
      LogFor(partition).events.push_back(LogEvent{position, tenant, head.version, bytes});
    out_.batch.Put(impl_.streams, keys::StreamKey(tenant, head.version), keys::BE64(position));
    head.hash = hash;
    head.position = position;
    const ProjectContext context{&rows_, &durable_};
    for (const auto& projector : impl_.options.projectors) {
      Status ps = projector->Project(e.asReader(), context);
      if (!ps.ok()) return ps;
    }
    if (on_encoded) on_encoded(e.asReader());
    result->events.push_back(
        AppendedEvent{position, head.version, std::string(EventTypeName(e.getPayload().which()))});
  }
  result->kind = AppendResult::Kind::kAccepted;
  result->command_id = command_id;
  result->version = head.version;
  result->position = drafts.empty() ? position : head.position;
  result->recorded_at = now;
  return Status::OK();
}

void GroupBuilder::Finish() {
  rocksdb::WriteBatch& batch = out_.batch;
  out_.empty = batch.Count() == 0 && time_ == time_before_;
  if (out_.empty) return;
  for (const auto& [tenant, head] : pending_heads_) {
    // Heads this group read but did not move (heartbeats, rejections, duplicates) are
    // not rewritten. LoadHead left every head it read in the cache.
    auto cached = impl_.head_cache_.find(tenant);
    if (cached != impl_.head_cache_.end() && cached->second.version == head.version) continue;
    batch.Put(impl_.heads, tenant, records::EncodeHead(head));
    if (upstream_) LogFor(PartitionFor(tenant)).heads.push_back(LogHead{tenant, head});
  }
  batch.Put(impl_.meta, keys::kMetaLedgerTime, keys::BE64(static_cast<uint64_t>(time_)));
  out_.events = 0;
  for (uint32_t p = 0; p < impl_.partitions; ++p) {
    if (positions_[p] != first_positions_[p]) {
      out_.last_positions.emplace_back(p, positions_[p]);
      out_.events += positions_[p] - first_positions_[p];
    }
    if (rejection_seqs_[p] != first_rejection_seqs_[p]) {
      batch.Put(impl_.meta, keys::RejectionSeqKey(p), keys::BE64(rejection_seqs_[p]));
    }
  }
  for (const auto& [partition, position] : out_.last_positions) {
    for (const auto& projector : impl_.options.projectors) {
      batch.Put(impl_.checkpoints, keys::CheckpointKey(projector->name(), partition),
                keys::EncodeCheckpoint(projector->version(), position));
    }
  }

  // Keep this group's commands findable for idempotency until they are on disk.
  {
    std::lock_guard<std::mutex> lock(impl_.inflight_mu_);
    for (const auto& [key, pending] : pending_commands_) {
      impl_.inflight_[key] = InflightCommand{pending.hash, *pending.result};
      out_.inflight_keys.push_back(key);
    }
  }
  for (auto& [tenant, head] : pending_heads_) impl_.head_cache_[tenant] = head;
  impl_.build_positions_ = positions_;
  impl_.build_time_ = time_;
  impl_.rejection_seqs_ = rejection_seqs_;

  out_.time = time_;
  // A group that only moved the ledger time still records it in the log (partition 0).
  if (upstream_ && out_.parts.empty()) LogFor(0);
  for (PartitionLog& part : out_.parts) part.log.ledger_time = time_;
}

}  // namespace ledger

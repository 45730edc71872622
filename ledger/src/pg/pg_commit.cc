// PgLog::CommitGroup: one group as one implicit transaction in one libpq pipeline — the
// fence of every partition it touches first, then one multi-row INSERT (unnest of binary
// arrays) per table over all of them — and one round trip. The transaction commits at the
// pipeline's Sync, so the outcome is known only once the Sync is answered.
#include <fmt/format.h>

#include <map>
#include <unordered_map>
#include <utility>

#include "ledger/pg_log.h"
#include "pg_log_impl.h"
#include "records.h"

namespace ledger {
namespace {

struct Statement {
  Stmt stmt;
  pg::Params params;
};

Status CheckTenant(std::string_view field, size_t i, std::string_view tenant, uint32_t partition,
                   uint32_t partitions) {
  if (tenant.empty())
    return Status::InvalidArgument(fmt::format("{}[{}].tenant: required", field, i));
  const uint32_t p = LogPartitionOf(tenant, partitions);
  if (p != partition) {
    return Status::InvalidArgument(fmt::format(
        "{}[{}].tenant: '{}' belongs to partition {}, not {}", field, i, tenant, p, partition));
  }
  return Status::OK();
}

Status Validate(uint32_t partition, uint32_t partitions, uint64_t expected, const PgGroup& g) {
  for (size_t i = 0; i < g.events.size(); ++i) {
    const PgEvent& e = g.events[i];
    if (e.position != expected + 1 + i) {
      return Status::InvalidArgument(fmt::format(
          "events[{}].position: {} is not {} (positions follow the partition's last without gaps)",
          i, e.position, expected + 1 + i));
    }
    if (e.version == 0) return Status::InvalidArgument(fmt::format("events[{}].version: 0", i));
    if (e.bytes.empty()) return Status::InvalidArgument(fmt::format("events[{}].bytes: empty", i));
    Status s = CheckTenant("events", i, e.tenant, partition, partitions);
    if (!s.ok()) return s;
  }
  for (size_t i = 0; i < g.commands.size(); ++i) {
    if (g.commands[i].command_id.empty()) {
      return Status::InvalidArgument(fmt::format("commands[{}].command_id: required", i));
    }
    Status s = CheckTenant("commands", i, g.commands[i].tenant, partition, partitions);
    if (!s.ok()) return s;
  }
  for (size_t i = 0; i < g.rejections.size(); ++i) {
    const uint64_t seq = g.rejections[i].sequence;
    if (i == 0 ? seq == 0 : seq != g.rejections[0].sequence + i) {
      return Status::InvalidArgument(
          fmt::format("rejections[{}].sequence: {} breaks the sequence", i, seq));
    }
    Status s = CheckTenant("rejections", i, g.rejections[i].tenant, partition, partitions);
    if (!s.ok()) return s;
  }
  for (size_t i = 0; i < g.heads.size(); ++i) {
    Status s = CheckTenant("heads", i, g.heads[i].tenant, partition, partitions);
    if (!s.ok()) return s;
  }
  for (size_t i = 0; i < g.rows.size(); ++i) {
    if (g.rows[i].table.empty()) {
      return Status::InvalidArgument(fmt::format("rows[{}].table: required", i));
    }
  }
  return Status::OK();
}

// The statements of one commit, column by column over every part it commits (each row
// with its partition): the fence of every part first, then one multi-row statement per
// table that has rows — a handful of statements however many partitions the group spans.
class CommitStatements {
 public:
  // Adds `part`'s fence and rows.
  void Add(const PgPartitionCommit& part) {
    const PgGroup& g = *part.group;
    const uint32_t p = part.partition;
    fence_partition_.AddInt4(p);
    fence_epoch_.AddInt8(part.epoch);
    fence_expected_.AddInt8(part.expected_last_position);
    fence_new_last_.AddInt8(part.expected_last_position + g.events.size());
    fence_first_rejection_.AddInt8(g.rejections.empty() ? 0 : g.rejections.front().sequence);
    fence_last_rejection_.AddInt8(g.rejections.empty() ? 0 : g.rejections.back().sequence);
    fence_time_.AddInt8(static_cast<uint64_t>(g.ledger_time));
    for (const PgEvent& e : g.events) {
      event_partition_.AddInt4(p);
      event_position_.AddInt8(e.position);
      event_tenant_.AddBytes(e.tenant);
      event_version_.AddInt8(e.version);
      event_bytes_.AddBytes(e.bytes);
    }
    for (const PgCommandRecord& c : g.commands) {
      command_partition_.AddInt4(p);
      command_tenant_.AddBytes(c.tenant);
      command_id_.AddBytes(c.command_id);
      command_record_.AddBytes(records::EncodeCommand(c.request_hash, c.result));
      command_after_.AddInt8(part.expected_last_position);
    }
    for (const RejectionRecord& r : g.rejections) {
      rejection_partition_.AddInt4(p);
      rejection_sequence_.AddInt8(r.sequence);
      rejection_tenant_.AddBytes(r.tenant);
      rejection_record_.AddBytes(records::EncodeRejection(r));
    }
    // One upsert may not touch a row twice: keep each tenant's (or side row's) last.
    std::unordered_map<std::string_view, const StreamHead*> heads;
    for (const PgHead& h : g.heads) heads[h.tenant] = &h.head;
    for (const auto& [tenant, head] : heads) {
      head_partition_.AddInt4(p);
      head_tenant_.AddBytes(tenant);
      head_version_.AddInt8(head->version);
      head_position_.AddInt8(head->position);
      head_hash_.AddBytes(AsBytes(head->hash));
    }
    std::map<std::pair<std::string_view, std::string_view>, const PgSideRow*> rows;
    for (const PgSideRow& r : g.rows) rows[{r.table, r.key}] = &r;
    for (const auto& [key, r] : rows) {
      if (r->value) {
        put_partition_.AddInt4(p);
        put_table_.AddBytes(r->table);
        put_key_.AddBytes(r->key);
        put_value_.AddBytes(*r->value);
      } else {
        delete_partition_.AddInt4(p);
        delete_table_.AddBytes(r->table);
        delete_key_.AddBytes(r->key);
      }
    }
  }

  // The transaction's statements, the fence first; none when nothing was added.
  std::vector<Statement> Take() const {
    std::vector<Statement> out;
    auto add = [&out](Stmt st, std::initializer_list<const pg::ArrayParam*> columns) {
      if (columns.size() == 0 || (*columns.begin())->size() == 0) return;
      out.push_back(Statement{st, {}});
      for (const pg::ArrayParam* column : columns) out.back().params.Array(*column);
    };
    add(Stmt::kAdvance, {&fence_partition_, &fence_epoch_, &fence_expected_, &fence_new_last_,
                         &fence_first_rejection_, &fence_last_rejection_, &fence_time_});
    add(Stmt::kInsertEvents,
        {&event_partition_, &event_position_, &event_tenant_, &event_version_, &event_bytes_});
    add(Stmt::kInsertCommands,
        {&command_partition_, &command_tenant_, &command_id_, &command_record_, &command_after_});
    add(Stmt::kInsertRejections,
        {&rejection_partition_, &rejection_sequence_, &rejection_tenant_, &rejection_record_});
    add(Stmt::kUpsertHeads,
        {&head_partition_, &head_tenant_, &head_version_, &head_position_, &head_hash_});
    add(Stmt::kUpsertSideRows, {&put_partition_, &put_table_, &put_key_, &put_value_});
    add(Stmt::kDeleteSideRows, {&delete_partition_, &delete_table_, &delete_key_});
    return out;
  }

 private:
  using A = pg::ArrayParam;
  A fence_partition_{pg::kInt4}, fence_epoch_{pg::kInt8}, fence_expected_{pg::kInt8},
      fence_new_last_{pg::kInt8}, fence_first_rejection_{pg::kInt8},
      fence_last_rejection_{pg::kInt8}, fence_time_{pg::kInt8};
  A event_partition_{pg::kInt4}, event_position_{pg::kInt8}, event_tenant_{pg::kBytea},
      event_version_{pg::kInt8}, event_bytes_{pg::kBytea};
  A command_partition_{pg::kInt4}, command_tenant_{pg::kBytea}, command_id_{pg::kBytea},
      command_record_{pg::kBytea}, command_after_{pg::kInt8};
  A rejection_partition_{pg::kInt4}, rejection_sequence_{pg::kInt8}, rejection_tenant_{pg::kBytea},
      rejection_record_{pg::kBytea};
  A head_partition_{pg::kInt4}, head_tenant_{pg::kBytea}, head_version_{pg::kInt8},
      head_position_{pg::kInt8}, head_hash_{pg::kBytea};
  A put_partition_{pg::kInt4}, put_table_{pg::kText}, put_key_{pg::kBytea}, put_value_{pg::kBytea};
  A delete_partition_{pg::kInt4}, delete_table_{pg::kText}, delete_key_{pg::kBytea};
};

Status Unknown(std::string_view why) {
  return Status::OutcomeUnknown(fmt::format(
      "postgres: commit: {}; the group may or may not be in the log: read it again", why));
}

}  // namespace

Status PgLog::CommitGroup(uint32_t partition, uint64_t epoch, uint64_t expected_last_position,
                          const PgGroup& group) {
  return CommitGroups({PgPartitionCommit{partition, epoch, expected_last_position, &group}});
}

Status PgLog::CommitGroups(const std::vector<PgPartitionCommit>& parts) {
  CommitStatements commit;
  for (size_t i = 0; i < parts.size(); ++i) {
    const PgPartitionCommit& part = parts[i];
    Status s = impl_->CheckPartition(part.partition);
    if (s.ok() && part.group == nullptr) s = Status::InvalidArgument("parts: a part has no group");
    for (size_t j = 0; s.ok() && j < i; ++j) {
      if (parts[j].partition == part.partition) {
        s = Status::InvalidArgument(
            fmt::format("parts: partition {} appears twice in one commit", part.partition));
      }
    }
    if (s.ok()) {
      s = Validate(part.partition, impl_->partitions(), part.expected_last_position, *part.group);
    }
    if (!s.ok()) return s;
    commit.Add(part);
  }
  std::vector<Statement> statements = commit.Take();
  if (statements.empty()) return Status::OK();

  Status s = impl_->Ready();
  if (!s.ok()) return s;
  PGconn* c = impl_->conn();
  impl_->syncrep_cancelled = false;
  if (PQenterPipelineMode(c) != 1) {
    s = pg::ErrorStatus(nullptr, c, "postgres: commit: pipeline");
    impl_->Drop();
    return s;
  }
  // Until the Sync is queued nothing can commit: a failure here is a plain failure.
  for (Statement& st : statements) {
    if (PQsendQueryPrepared(c, StmtName(st.stmt), st.params.count(), st.params.values(),
                            st.params.lengths(), st.params.formats(), 1) != 1) {
      s = pg::ErrorStatus(nullptr, c, "postgres: commit: send (nothing committed)");
      impl_->Drop();
      return s;
    }
  }
  if (PQpipelineSync(c) != 1) {
    impl_->Drop();
    return Unknown(fmt::format("sending the commit failed ({})", PQerrorMessage(c)));
  }

  Status first_error;  // the first statement error: the transaction surely rolled back
  bool lost = false;   // the connection failed before the Sync was answered
  bool synced = false;
  int nulls = 0;  // PQgetResult returns one NULL after each statement's results
  while (!synced) {
    pg::Result r(PQgetResult(c));
    if (r == nullptr) {
      if (PQstatus(c) != CONNECTION_OK || ++nulls > 1) {
        lost = true;
        break;
      }
      continue;
    }
    nulls = 0;
    const ExecStatusType rs = PQresultStatus(r.get());
    if (rs == PGRES_PIPELINE_SYNC) {
      synced = true;
    } else if (rs == PGRES_FATAL_ERROR || rs == PGRES_NONFATAL_ERROR || rs == PGRES_BAD_RESPONSE) {
      if (pg::IsConnectionError(r.get())) {
        lost = true;
      } else if (first_error.ok()) {
        first_error = pg::ErrorStatus(r.get(), c, "postgres: commit");
      }
    }
  }
  std::string conn_error = PQerrorMessage(c);
  while (!conn_error.empty() && conn_error.back() == '\n') conn_error.pop_back();
  if (!synced || PQexitPipelineMode(c) != 1) impl_->Drop();
  if (!first_error.ok()) return first_error;
  if (lost || !synced) {
    return Unknown(
        fmt::format("the connection was lost before the commit was answered ({})", conn_error));
  }
  if (impl_->syncrep_cancelled) {
    return Unknown(
        "committed on the primary, but the wait for synchronous replication was "
        "cancelled");
  }
  return Status::OK();
}

}  // namespace ledger

// PgLog::CommitGroup: one group as one implicit transaction in one libpq pipeline — the
// fence first, then one multi-row INSERT (unnest of binary arrays) per table — and one
// round trip. The transaction commits at the pipeline's Sync, so the outcome is known
// only once the Sync is answered.
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

// The group's statements after the fence, each with the partition as $1 (the command
// records also with the partition's position before the group).
void AddTables(uint32_t partition, uint64_t expected, const PgGroup& g,
               std::vector<Statement>* out) {
  auto start = [&](Stmt st) -> pg::Params& {
    out->push_back(Statement{st, {}});
    out->back().params.Int4(partition);
    return out->back().params;
  };
  if (!g.events.empty()) {
    pg::ArrayParam pos(pg::kInt8), tenant(pg::kBytea), version(pg::kInt8), bytes(pg::kBytea);
    for (const PgEvent& e : g.events) {
      pos.AddInt8(e.position);
      tenant.AddBytes(e.tenant);
      version.AddInt8(e.version);
      bytes.AddBytes(e.bytes);
    }
    pg::Params& p = start(Stmt::kInsertEvents);
    for (const auto* a : {&pos, &tenant, &version, &bytes}) p.Array(*a);
  }
  if (!g.commands.empty()) {
    pg::ArrayParam tenant(pg::kBytea), id(pg::kBytea), record(pg::kBytea);
    for (const PgCommandRecord& c : g.commands) {
      tenant.AddBytes(c.tenant);
      id.AddBytes(c.command_id);
      record.AddBytes(records::EncodeCommand(c.request_hash, c.result));
    }
    pg::Params& p = start(Stmt::kInsertCommands);
    for (const auto* a : {&tenant, &id, &record}) p.Array(*a);
    p.Int8(expected);
  }
  if (!g.rejections.empty()) {
    pg::ArrayParam seq(pg::kInt8), tenant(pg::kBytea), record(pg::kBytea);
    for (const RejectionRecord& r : g.rejections) {
      seq.AddInt8(r.sequence);
      tenant.AddBytes(r.tenant);
      record.AddBytes(records::EncodeRejection(r));
    }
    pg::Params& p = start(Stmt::kInsertRejections);
    for (const auto* a : {&seq, &tenant, &record}) p.Array(*a);
  }
  // One upsert may not touch a row twice: keep each tenant's last head.
  std::unordered_map<std::string_view, const StreamHead*> heads;
  for (const PgHead& h : g.heads) heads[h.tenant] = &h.head;
  if (!heads.empty()) {
    pg::ArrayParam tenant(pg::kBytea), version(pg::kInt8), position(pg::kInt8), hash(pg::kBytea);
    for (const auto& [t, h] : heads) {
      tenant.AddBytes(t);
      version.AddInt8(h->version);
      position.AddInt8(h->position);
      hash.AddBytes(AsBytes(h->hash));
    }
    pg::Params& p = start(Stmt::kUpsertHeads);
    for (const auto* a : {&tenant, &version, &position, &hash}) p.Array(*a);
  }
  // Likewise each side-table key's last write, split into puts and deletes.
  std::map<std::pair<std::string_view, std::string_view>, const PgSideRow*> rows;
  for (const PgSideRow& r : g.rows) rows[{r.table, r.key}] = &r;
  pg::ArrayParam put_table(pg::kText), put_key(pg::kBytea), put_value(pg::kBytea);
  pg::ArrayParam del_table(pg::kText), del_key(pg::kBytea);
  for (const auto& [key, r] : rows) {
    if (r->value) {
      put_table.AddBytes(r->table);
      put_key.AddBytes(r->key);
      put_value.AddBytes(*r->value);
    } else {
      del_table.AddBytes(r->table);
      del_key.AddBytes(r->key);
    }
  }
  if (put_table.size() > 0) {
    pg::Params& p = start(Stmt::kUpsertSideRows);
    for (const auto* a : {&put_table, &put_key, &put_value}) p.Array(*a);
  }
  if (del_table.size() > 0) {
    pg::Params& p = start(Stmt::kDeleteSideRows);
    for (const auto* a : {&del_table, &del_key}) p.Array(*a);
  }
}

// The fence of one part: advances its partition row or fails the whole transaction.
void AddFence(const PgPartitionCommit& part, std::vector<Statement>* out) {
  const PgGroup& group = *part.group;
  out->push_back(Statement{Stmt::kAdvance, {}});
  pg::Params& fence = out->back().params;
  fence.Int4(part.partition);
  fence.Int8(part.epoch);
  fence.Int8(part.expected_last_position);
  fence.Int8(part.expected_last_position + group.events.size());
  fence.Int8(group.rejections.empty() ? 0 : group.rejections.front().sequence);
  fence.Int8(group.rejections.empty() ? 0 : group.rejections.back().sequence);
  fence.Int8(static_cast<uint64_t>(group.ledger_time));
}

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
  std::vector<Statement> statements;
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
    AddFence(part, &statements);
    AddTables(part.partition, part.expected_last_position, *part.group, &statements);
  }
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

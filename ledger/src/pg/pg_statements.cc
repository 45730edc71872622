// The SQL of PgLog's prepared statements. Parameters and results are binary; every
// parameter is cast so the server knows its type without OIDs from the client.
#include "pg_log_impl.h"

// The partition row as ReadPartitionRow reads it (lease_until in micros).
#define LEDGER_PARTITION_COLUMNS                                                 \
  "partition, owner, epoch, (extract(epoch FROM lease_until) * 1000000)::int8, " \
  "last_position, last_rejection, ledger_time"

namespace ledger {

const char* StmtName(Stmt s) {
  switch (s) {
    case Stmt::kAdvance:
      return "ledger_advance";
    case Stmt::kInsertEvents:
      return "ledger_insert_events";
    case Stmt::kInsertCommands:
      return "ledger_insert_commands";
    case Stmt::kInsertRejections:
      return "ledger_insert_rejections";
    case Stmt::kUpsertHeads:
      return "ledger_upsert_heads";
    case Stmt::kUpsertSideRows:
      return "ledger_upsert_side_rows";
    case Stmt::kDeleteSideRows:
      return "ledger_delete_side_rows";
    case Stmt::kAcquire:
      return "ledger_acquire";
    case Stmt::kRenew:
      return "ledger_renew";
    case Stmt::kRelease:
      return "ledger_release";
    case Stmt::kGetPartition:
      return "ledger_get_partition";
    case Stmt::kReadEvents:
      return "ledger_read_events";
    case Stmt::kLookupCommand:
      return "ledger_lookup_command";
    case Stmt::kGetHead:
      return "ledger_get_head";
    case Stmt::kHeadsOf:
      return "ledger_heads_of";
    case Stmt::kRejectionsOf:
      return "ledger_rejections_of";
    case Stmt::kGetSideRow:
      return "ledger_get_side_row";
    case Stmt::kCommandsSince:
      return "ledger_commands_since";
    case Stmt::kRejectionsSince:
      return "ledger_rejections_since";
    case Stmt::kSideRowsOf:
      return "ledger_side_rows_of";
    case Stmt::kSettleMeta:
      return "ledger_settle_meta";
    case Stmt::kGetMeta:
      return "ledger_get_meta";
    case Stmt::kAdvertiseNode:
      return "ledger_advertise_node";
    case Stmt::kFindNode:
      return "ledger_find_node";
    case Stmt::kLiveNodes:
      return "ledger_live_nodes";
    case Stmt::kEndStaleWriter:
      return "ledger_end_stale_writer";
  }
  return "";
}

const char* StmtSql(Stmt s) {
  switch (s) {
    // The group's statements cover every partition it touches: each takes the rows'
    // partitions as an array ($1) beside their columns.
    case Stmt::kAdvance:
      return "SELECT ledger_advance(p, e, x, n, rf, rl, t) FROM unnest($1::int4[], $2::int8[], "
             "$3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[]) "
             "AS u(p, e, x, n, rf, rl, t)";
    case Stmt::kInsertEvents:
      return "INSERT INTO ledger_events (partition, position, tenant, version, event) "
             "SELECT * FROM unnest($1::int4[], $2::int8[], $3::bytea[], $4::int8[], $5::bytea[])";
    case Stmt::kInsertCommands:
      return "INSERT INTO ledger_commands (tenant, command_id, partition, after_position, record) "
             "SELECT t, c, p, a, r FROM unnest($1::int4[], $2::bytea[], $3::bytea[], "
             "$4::bytea[], $5::int8[]) AS u(p, t, c, r, a)";
    case Stmt::kInsertRejections:
      return "INSERT INTO ledger_rejections (partition, sequence, tenant, record) "
             "SELECT * FROM unnest($1::int4[], $2::int8[], $3::bytea[], $4::bytea[])";
    case Stmt::kUpsertHeads:
      return "INSERT INTO ledger_heads (tenant, partition, version, position, hash) "
             "SELECT t, p, v, o, h FROM unnest($1::int4[], $2::bytea[], $3::int8[], $4::int8[], "
             "$5::bytea[]) AS u(p, t, v, o, h) "
             "ON CONFLICT (tenant) DO UPDATE SET version = excluded.version, "
             "position = excluded.position, hash = excluded.hash";
    case Stmt::kUpsertSideRows:
      return "INSERT INTO ledger_side_rows (partition, table_name, key, value) "
             "SELECT * FROM unnest($1::int4[], $2::text[], $3::bytea[], $4::bytea[]) "
             "ON CONFLICT (partition, table_name, key) DO UPDATE SET value = excluded.value";
    case Stmt::kDeleteSideRows:
      return "DELETE FROM ledger_side_rows WHERE (partition, table_name, key) IN "
             "(SELECT * FROM unnest($1::int4[], $2::text[], $3::bytea[]))";
    case Stmt::kAcquire:
      return "UPDATE ledger_partitions SET owner = $2::text, epoch = epoch + 1, "
             "lease_until = now() + $3::int8 * interval '1 millisecond' "
             "WHERE partition = $1::int4 AND (owner = $2::text OR owner = '' "
             "OR lease_until <= now()) RETURNING " LEDGER_PARTITION_COLUMNS;
    case Stmt::kRenew:
      return "UPDATE ledger_partitions SET lease_until = now() + $4::int8 * interval "
             "'1 millisecond' WHERE partition = $1::int4 AND owner = $2::text AND "
             "epoch = $3::int8 RETURNING " LEDGER_PARTITION_COLUMNS;
    case Stmt::kRelease:
      // Ownerless at once: nodes reading the row see no writer (not the one that left).
      return "UPDATE ledger_partitions SET lease_until = 'epoch', owner = '' "
             "WHERE partition = $1::int4 AND owner = $2::text AND epoch = $3::int8";
    case Stmt::kGetPartition:
      return "SELECT " LEDGER_PARTITION_COLUMNS
             " FROM ledger_partitions WHERE partition = $1::int4";
    case Stmt::kReadEvents:
      return "SELECT position, tenant, version, event FROM ledger_events "
             "WHERE partition = $1::int4 AND position BETWEEN $2::int8 AND $3::int8 "
             "ORDER BY position LIMIT $4::int8";
    case Stmt::kLookupCommand:
      return "SELECT record FROM ledger_commands WHERE tenant = $1::bytea AND "
             "command_id = $2::bytea";
    case Stmt::kGetHead:
      return "SELECT version, position, hash FROM ledger_heads WHERE tenant = $1::bytea";
    case Stmt::kHeadsOf:
      return "SELECT tenant, version, position, hash FROM ledger_heads "
             "WHERE partition = $1::int4 AND tenant > $2::bytea ORDER BY tenant LIMIT $3::int8";
    case Stmt::kRejectionsOf:
      return "SELECT sequence, record FROM ledger_rejections WHERE tenant = $1::bytea "
             "AND sequence > $2::int8 ORDER BY sequence LIMIT $3::int8";
    case Stmt::kGetSideRow:
      return "SELECT value FROM ledger_side_rows WHERE partition = $1::int4 AND "
             "table_name = $2::text AND key = $3::bytea";
    case Stmt::kCommandsSince:
      return "SELECT after_position, tenant, command_id, record FROM ledger_commands "
             "WHERE partition = $1::int4 AND (after_position, tenant, command_id) > "
             "($2::int8, $3::bytea, $4::bytea) "
             "ORDER BY after_position, tenant, command_id LIMIT $5::int8";
    case Stmt::kRejectionsSince:
      return "SELECT sequence, record FROM ledger_rejections WHERE partition = $1::int4 "
             "AND sequence > $2::int8 ORDER BY sequence LIMIT $3::int8";
    case Stmt::kSideRowsOf:
      return "SELECT table_name, key, value FROM ledger_side_rows WHERE partition = $1::int4 "
             "AND (table_name, key) > ($2::text, $3::bytea) ORDER BY table_name, key "
             "LIMIT $4::int8";
    case Stmt::kSettleMeta:
      // One row either way: the value just inserted, or the one already there.
      return "WITH ins AS (INSERT INTO ledger_meta VALUES ($1::text, $2::text) "
             "ON CONFLICT (key) DO NOTHING RETURNING value) "
             "SELECT value FROM ins UNION ALL "
             "SELECT value FROM ledger_meta WHERE key = $1::text";
    case Stmt::kGetMeta:
      return "SELECT value FROM ledger_meta WHERE key = $1::text";
    case Stmt::kAdvertiseNode:
      return "INSERT INTO ledger_nodes (node, capnp, http, tls) "
             "VALUES ($1::text, $2::text, $3::text, $4::bool) ON CONFLICT (node) DO UPDATE "
             "SET capnp = EXCLUDED.capnp, http = EXCLUDED.http, tls = EXCLUDED.tls, "
             "updated_at = now()";
    case Stmt::kFindNode:
      return "SELECT capnp, http, tls FROM ledger_nodes WHERE node = $1::text";
    case Stmt::kLiveNodes:
      return "SELECT node FROM ledger_nodes WHERE updated_at > now() - $1::int8 * "
             "interval '1 millisecond' ORDER BY node";
    case Stmt::kEndStaleWriter:
      // The session whose open transaction locks partition $1's row (its xid is the row's
      // xmax), once the lease has ended; waits up to a second for it to be gone.
      return "SELECT count(*) FILTER (WHERE pg_terminate_backend(k.pid, 1000))::int8 "
             "FROM ledger_partitions l JOIN pg_locks k ON k.locktype = 'transactionid' "
             "AND k.transactionid = l.xmax AND k.granted AND k.mode = 'ExclusiveLock' "
             "WHERE l.partition = $1::int4 AND l.lease_until <= now() "
             "AND k.pid <> pg_backend_pid()";
  }
  return "";
}

}  // namespace ledger

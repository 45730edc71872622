-- The ledger's log on PostgreSQL 15 (DESIGN section 7), one schema for every partition.
-- ledger::PgLog::Open runs this file on an empty database, in one transaction under an
-- advisory lock, then records the partition count in ledger_meta; the count never changes.
--
-- Keys (tenant, command id, side-table keys) are bytea: the RocksDB store takes any bytes
-- but \0, and text would add a UTF-8 check it does not make. Positions and rejection
-- sequences have no gaps within a partition and partition p's start after p << 48 (a
-- position names its partition: ledger/include/ledger/log_partitions.h), so they are unique
-- log-wide; stream versions start at 1 per tenant. 0 means "none".

CREATE TABLE ledger_meta (
  key   text PRIMARY KEY,  -- 'format', 'partitions'
  value text NOT NULL
);

-- One row per partition: who may write it (the lease) and how far its log goes.
-- A writer's group commits only if epoch and last_position are what it holds (the fence).
CREATE TABLE ledger_partitions (
  partition      integer PRIMARY KEY,
  owner          text        NOT NULL DEFAULT '',           -- node name; '' = never leased
  epoch          bigint      NOT NULL DEFAULT 0,            -- +1 on every acquisition
  lease_until    timestamptz NOT NULL DEFAULT 'epoch',  -- the database's clock
  last_position  bigint      NOT NULL DEFAULT 0,
  last_rejection bigint      NOT NULL DEFAULT 0,
  ledger_time    bigint      NOT NULL DEFAULT 0             -- micros, latest group's time
);

-- The log: canonical event bytes exactly as the RocksDB store keeps them (same hashes).
-- The unique (tenant, version) index is the per-tenant stream index.
CREATE TABLE ledger_events (
  partition integer NOT NULL,
  position  bigint  NOT NULL,
  tenant    bytea   NOT NULL,
  version   bigint  NOT NULL,
  event     bytea   NOT NULL,
  PRIMARY KEY (partition, position),
  CONSTRAINT ledger_events_stream UNIQUE (tenant, version)
);

-- Idempotency forever (R16): the primary key refuses a second record for an id.
-- record: the RocksDB store's command value (ledger/src/records.h). after_position: the
-- partition's last position before the command's group, so a node copying the log reads
-- the records of the groups it lacks (ledger_commands_since).
CREATE TABLE ledger_commands (
  tenant         bytea   NOT NULL,
  command_id     bytea   NOT NULL,
  partition      integer NOT NULL,
  after_position bigint  NOT NULL,
  record         bytea   NOT NULL,
  PRIMARY KEY (tenant, command_id)
);
CREATE INDEX ledger_commands_since ON ledger_commands
  (partition, after_position, tenant, command_id);

-- The rejection log (R3), ordered by a gap-free sequence per partition.
-- record: schema::Rejection as the RocksDB store keeps it.
CREATE TABLE ledger_rejections (
  partition integer NOT NULL,
  sequence  bigint  NOT NULL,
  tenant    bytea   NOT NULL,
  record    bytea   NOT NULL,
  PRIMARY KEY (partition, sequence)
);
CREATE INDEX ledger_rejections_tenant ON ledger_rejections (tenant, sequence);

-- Each tenant's stream head: last version, its position and hash (the chain's digest).
CREATE TABLE ledger_heads (
  tenant    bytea   PRIMARY KEY,
  partition integer NOT NULL,
  version   bigint  NOT NULL,
  position  bigint  NOT NULL,
  hash      bytea   NOT NULL
);

-- Side tables written with a group (the live-lease table of R19, later ones).
CREATE TABLE ledger_side_rows (
  partition  integer NOT NULL,
  table_name text    NOT NULL,
  key        bytea   NOT NULL,
  value      bytea   NOT NULL,
  PRIMARY KEY (partition, table_name, key)
);

-- The fence: advances partition p past one group, or raises SQLSTATE LF001 (and so rolls
-- the group back) unless p is at epoch `mine`, position `expected` and, when the group
-- has rejections, rejection `first_rejection - 1`. Runs first in the group's
-- transaction, so a second writer waits on the row lock and is then fenced.
CREATE FUNCTION ledger_advance(p integer, mine bigint, expected bigint, new_last bigint,
                               first_rejection bigint, last_rejection_in bigint,
                               new_time bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ledger_partitions
     SET last_position = new_last,
         last_rejection = CASE WHEN first_rejection > 0 THEN last_rejection_in
                               ELSE last_rejection END,
         ledger_time = greatest(ledger_time, new_time)
   WHERE partition = p AND epoch = mine AND last_position = expected
     AND (first_rejection = 0 OR last_rejection = first_rejection - 1);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'partition % is not at epoch %, position % (rejection %)',
      p, mine, expected, first_rejection - 1 USING ERRCODE = 'LF001';
  END IF;
END
$$;

-- ledger_nodes (node, capnp, http, tls, updated_at), where each ledgerd node listens, is
-- created by PgLog::Open (kNodesTableSql in ledger/src/pg/pg_log.cc) with a new log and on
-- logs created before it existed.

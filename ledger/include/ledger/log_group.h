// What one group of the writer commits to a durable log outside the store (DESIGN
// section 7): its events with their canonical bytes, the command records, rejections,
// side-table rows and stream heads. The store's writer builds it beside its local batch
// when it runs on an UpstreamLog (ledger/upstream.h). Value types: thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/sha256.h"
#include "ledger/store.h"
#include "ledger/time.h"

namespace ledger {

// One event of a group: canonical bytes as EncodeCanonicalEvent returns them.
struct LogEvent {
  uint64_t position = 0;
  std::string tenant;
  uint64_t version = 0;
  std::string bytes;
};

// One command's idempotency record: what a retry with the same id is answered forever.
struct LogCommand {
  std::string tenant;
  std::string command_id;
  Digest request_hash{};
  AppendResult result;
};

// A side-table row written with the group (RowWrite by table name): a put, or a delete
// when `value` is unset. Of several writes to one key in a group, the last wins.
struct LogSideRow {
  std::string table;
  std::string key;
  std::optional<std::string> value;
};

// A tenant's stream head after the group.
struct LogHead {
  std::string tenant;
  StreamHead head;
};

// Everything one group writes. Every tenant in it belongs to the partition it is
// committed to.
struct LogGroup {
  // Positions after the log's last, in order (gap-free).
  std::vector<LogEvent> events;
  std::vector<LogCommand> commands;
  // Rejection sequences after the log's last, in order.
  std::vector<RejectionRecord> rejections;
  std::vector<LogSideRow> rows;
  // The head of every tenant the group moved (of several for one tenant, the last wins).
  std::vector<LogHead> heads;
  // The group's ledger time (the log keeps the latest).
  Micros ledger_time = 0;
};

}  // namespace ledger

// ledger-replay export: every event (of one tenant, or all) in a range, as JSON lines or
// RFC 4180 CSV, streamed in constant memory.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "ledger/store.h"

namespace replay {

// What to export. Positions and recorded times bound the range together (both inclusive).
struct ExportOptions {
  std::string format = "jsonl";       // "jsonl" | "csv"
  std::optional<std::string> tenant;  // nullopt: the whole log
  uint64_t from_position = 1;
  uint64_t to_position = UINT64_MAX;
  std::optional<ledger::Micros> from_time;  // recorded_at >= from_time
  std::optional<ledger::Micros> to_time;    // recorded_at <= to_time
  // jsonl for auditors (docs/VERIFYING.md): each line adds the event's stored canonical
  // bytes ("bytes", base64), and a tenant's export starts with a manifest line
  // {"manifest": {tenant, first_version, last_version, count, prev_hash, head_hash,
  // checkpoint}} that `tools/verify_export.py` checks the events against.
  bool audit = false;
  // The latest signed checkpoint note of the tenant at or before a version, if any.
  std::function<std::optional<std::string>(uint64_t version)> checkpoint_at_most;
};

// The CSV columns, in order: the envelope of EventJson, then "payload" (JSON text).
extern const char* const kExportCsvColumns[];
extern const size_t kExportCsvColumnCount;

// Writes the selected events to `out` (CSV: a header row first; lines end with CRLF) and
// counts them in *rows. InvalidArgument for an unknown format.
ledger::Status Export(const ledger::Store& store, const ExportOptions& options, std::ostream& out,
                      uint64_t* rows);

// Where a paged export goes on (ExportPage): the next event to read. Zero-initialized it
// is the start (the CSV header is written then).
struct ExportCursor {
  uint64_t next_version = 0;   // a tenant's export: the stream version to read next
  uint64_t next_position = 0;  // the whole log: the position to read next
  bool done = false;           // every selected event is written
};

// Export in pages: writes at most `max_rows` more selected events from `*cursor` and moves
// it past them (sets `done` after the last one), so a server can send an export of any
// size in constant memory. Export is ExportPage with no limit.
ledger::Status ExportPage(const ledger::Store& store, const ExportOptions& options,
                          uint64_t max_rows, ExportCursor* cursor, std::ostream& out,
                          uint64_t* rows);

}  // namespace replay

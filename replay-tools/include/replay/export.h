// ledger-replay export: every event (of one tenant, or all) in a range, as JSON lines or
// RFC 4180 CSV, streamed in constant memory.
#pragma once

#include <cstdint>
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
};

// The CSV columns, in order: the envelope of EventJson, then "payload" (JSON text).
extern const char* const kExportCsvColumns[];
extern const size_t kExportCsvColumnCount;

// Writes the selected events to `out` (CSV: a header row first; lines end with CRLF) and
// counts them in *rows. InvalidArgument for an unknown format.
ledger::Status Export(const ledger::Store& store, const ExportOptions& options, std::ostream& out,
                      uint64_t* rows);

}  // namespace replay

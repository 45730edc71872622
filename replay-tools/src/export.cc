#include "replay/export.h"

#include <kj/exception.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "replay/event_json.h"

namespace replay {

const char* const kExportCsvColumns[] = {
    "position",   "tenant",         "version",   "type",        "event_id",
    "command_id", "caused_by",      "actor",     "recorded_at", "effective_at",
    "reason",     "schema_version", "prev_hash", "hash",        "payload",
};
const size_t kExportCsvColumnCount = std::size(kExportCsvColumns);

namespace {

// Compact JSON text; never throws on invalid UTF-8 (replaced by U+FFFD).
std::string Dump(const nlohmann::json& value) { return DumpJson(value); }

// One RFC 4180 field: quoted, inner quotes doubled, when it holds , " CR or LF.
void WriteCsvField(std::string_view field, std::string* line) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    line->append(field);
    return;
  }
  line->push_back('"');
  for (char c : field) {
    if (c == '"') line->push_back('"');
    line->push_back(c);
  }
  line->push_back('"');
}

// A JSON value as CSV text: strings as they are, null as nothing, others as JSON.
void WriteCsvValue(const nlohmann::json& value, std::string* line) {
  if (value.is_null()) return;
  if (value.is_string()) {
    WriteCsvField(value.get_ref<const std::string&>(), line);
  } else {
    WriteCsvField(Dump(value), line);
  }
}

// Fields joined by commas, ended by CRLF.
void WriteCsvRow(const nlohmann::json& event, std::string* line) {
  for (size_t i = 0; i < kExportCsvColumnCount; ++i) {
    if (i > 0) line->push_back(',');
    WriteCsvValue(event.at(kExportCsvColumns[i]), line);
  }
  line->append("\r\n");
}

void WriteCsvHeader(std::ostream& out) {
  std::string line;
  for (size_t i = 0; i < kExportCsvColumnCount; ++i) {
    if (i > 0) line.push_back(',');
    line.append(kExportCsvColumns[i]);
  }
  out << line << "\r\n";
}

// The event formatted as one line of `csv` or JSON lines, into *line (cleared first).
void FormatEvent(ledger::schema::Event::Reader event, bool csv, std::string* line) {
  line->clear();
  const nlohmann::json json = EventJson(event);
  if (csv) {
    WriteCsvRow(json, line);
  } else {
    line->append(Dump(json));
    line->push_back('\n');
  }
}

// Where the selected events come from: a tenant's stream or the whole log, starting as
// close to the range (and to the page's cursor) as the indexes allow.
std::unique_ptr<ledger::EventCursor> OpenCursor(const ledger::Store& store, const ExportOptions& o,
                                                const ExportCursor& page) {
  if (o.tenant) return store.ReadStream(*o.tenant, std::max<uint64_t>(1, page.next_version));
  return store.ReadLog(std::max(o.from_position, page.next_position), o.to_position);
}

// Writes at most `max_rows` of the events of `events` that `o` selects, one line each;
// counts them in *rows and moves `page` past the last event read.
ledger::Status WriteEvents(ledger::EventCursor& events, const ExportOptions& o, bool csv,
                           uint64_t max_rows, ExportCursor* page, std::ostream& out,
                           uint64_t* rows) {
  std::string line;
  for (; events.Valid(); events.Next()) {
    const auto event = events.event().event();
    const uint64_t position = event.getPosition();
    const ledger::Micros recorded_at = event.getRecordedAt();
    // Positions grow along a stream and recorded_at never decreases along the log, so
    // nothing after an event past either end of the range can be selected.
    if (position > o.to_position || (o.to_time && recorded_at > *o.to_time)) break;
    if (position < o.from_position || (o.from_time && recorded_at < *o.from_time)) continue;
    if (*rows == max_rows) {
      page->next_version = event.getVersion();
      page->next_position = position;
      return ledger::Status::OK();
    }
    try {
      FormatEvent(event, csv, &line);
    } catch (const kj::Exception& e) {
      return ledger::Status::Corruption("event at position " + std::to_string(position) + ": " +
                                        e.getDescription().cStr());
    }
    out << line;
    if (!out) return ledger::Status::IOError("export: writing the output failed");
    ++*rows;
  }
  page->done = events.status().ok();
  return events.status();
}

}  // namespace

ledger::Status ExportPage(const ledger::Store& store, const ExportOptions& options,
                          uint64_t max_rows, ExportCursor* cursor, std::ostream& out,
                          uint64_t* rows) {
  *rows = 0;
  if (options.format != "jsonl" && options.format != "csv") {
    return ledger::Status::InvalidArgument("format must be jsonl or csv");
  }
  if (cursor->done) return ledger::Status::OK();
  const bool csv = options.format == "csv";
  if (csv && cursor->next_version == 0 && cursor->next_position == 0) WriteCsvHeader(out);
  auto events = OpenCursor(store, options, *cursor);
  ledger::Status s = WriteEvents(*events, options, csv, max_rows, cursor, out, rows);
  if (s.ok()) out.flush();
  if (s.ok() && !out) s = ledger::Status::IOError("export: writing the output failed");
  return s;
}

ledger::Status Export(const ledger::Store& store, const ExportOptions& options, std::ostream& out,
                      uint64_t* rows) {
  ExportCursor cursor;
  return ExportPage(store, options, UINT64_MAX, &cursor, out, rows);
}

}  // namespace replay

#include "replay/export.h"

#include <kj/exception.h>

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
// close to the range as the indexes allow.
std::unique_ptr<ledger::EventCursor> OpenCursor(const ledger::Store& store,
                                                const ExportOptions& o) {
  if (o.tenant) return store.ReadStream(*o.tenant);
  return store.ReadLog(o.from_position, o.to_position);
}

// Writes the events of `cursor` that `o` selects, one line each; counts them in *rows.
ledger::Status WriteEvents(ledger::EventCursor& cursor, const ExportOptions& o, bool csv,
                           std::ostream& out, uint64_t* rows) {
  std::string line;
  for (; cursor.Valid(); cursor.Next()) {
    const auto event = cursor.event().event();
    const uint64_t position = event.getPosition();
    const ledger::Micros recorded_at = event.getRecordedAt();
    // Positions grow along a stream and recorded_at never decreases along the log, so
    // nothing after an event past either end of the range can be selected.
    if (position > o.to_position || (o.to_time && recorded_at > *o.to_time)) break;
    if (position < o.from_position || (o.from_time && recorded_at < *o.from_time)) continue;
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
  return cursor.status();
}

}  // namespace

ledger::Status Export(const ledger::Store& store, const ExportOptions& options, std::ostream& out,
                      uint64_t* rows) {
  *rows = 0;
  if (options.format != "jsonl" && options.format != "csv") {
    return ledger::Status::InvalidArgument("format must be jsonl or csv");
  }
  const bool csv = options.format == "csv";
  if (csv) WriteCsvHeader(out);
  auto cursor = OpenCursor(store, options);
  ledger::Status s = WriteEvents(*cursor, options, csv, out, rows);
  if (s.ok()) out.flush();
  if (s.ok() && !out) s = ledger::Status::IOError("export: writing the output failed");
  return s;
}

}  // namespace replay

#include "replay/export.h"

#include <kj/exception.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "replay/event_json.h"
#include "replay/signing.h"

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

// The event formatted as one line of `csv` or JSON lines, into *line (cleared first);
// `audit` adds the stored bytes to a JSON line.
void FormatEvent(const ledger::StoredEvent& stored, bool csv, bool audit, std::string* line) {
  line->clear();
  nlohmann::json json = EventJson(stored.event());
  if (csv) {
    WriteCsvRow(json, line);
  } else {
    if (audit) json["bytes"] = Base64(stored.bytes());
    line->append(Dump(json));
    line->push_back('\n');
  }
}

// Whether `o` selects `event` (and, in *past, whether no later event can be selected:
// positions grow along a stream and recorded_at never decreases along the log).
bool Selects(const ExportOptions& o, ledger::schema::Event::Reader event, bool* past) {
  const uint64_t position = event.getPosition();
  const ledger::Micros recorded_at = event.getRecordedAt();
  *past = position > o.to_position || (o.to_time && recorded_at > *o.to_time);
  return !*past && position >= o.from_position && (!o.from_time || recorded_at >= *o.from_time);
}

// The manifest line of a tenant's audit export: what the events that follow must be.
ledger::Status WriteManifest(const ledger::Store& store, const ExportOptions& o,
                             std::ostream& out) {
  nlohmann::json m = {{"tenant", *o.tenant}, {"count", 0},           {"first_version", 0},
                      {"last_version", 0},   {"prev_hash", nullptr}, {"head_hash", nullptr}};
  uint64_t count = 0;
  auto events = store.ReadStream(*o.tenant, 1);
  try {
    for (bool past = false; events->Valid() && !past; events->Next()) {
      const auto event = events->event().event();
      if (!Selects(o, event, &past)) continue;
      if (count++ == 0) {
        m["first_version"] = event.getVersion();
        m["prev_hash"] = EventJson(event)["prev_hash"];
      }
      m["last_version"] = event.getVersion();
      m["head_hash"] = EventJson(event)["hash"];
    }
  } catch (const kj::Exception& e) {
    return ledger::Status::Corruption(std::string("export manifest: an event cannot be read: ") +
                                      e.getDescription().cStr());
  }
  if (!events->status().ok()) return events->status();
  m["count"] = count;
  std::optional<std::string> note;
  if (count > 0 && o.checkpoint_at_most) note = o.checkpoint_at_most(m["last_version"]);
  m["checkpoint"] = note ? nlohmann::json(*note) : nlohmann::json(nullptr);
  out << Dump(nlohmann::json{{"manifest", m}}) << '\n';
  return ledger::Status::OK();
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
    bool past = false;
    if (!Selects(o, event, &past)) {
      if (past) break;
      continue;
    }
    if (*rows == max_rows) {
      page->next_version = event.getVersion();
      page->next_position = position;
      return ledger::Status::OK();
    }
    try {
      FormatEvent(events.event(), csv, o.audit, &line);
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
  const bool first_page = cursor->next_version == 0 && cursor->next_position == 0;
  if (csv && first_page) WriteCsvHeader(out);
  ledger::Status s;
  if (!csv && first_page && options.audit && options.tenant) {
    s = WriteManifest(store, options, out);
    if (!s.ok()) return s;
  }
  auto events = OpenCursor(store, options, *cursor);
  s = WriteEvents(*events, options, csv, max_rows, cursor, out, rows);
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

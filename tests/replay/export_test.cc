// ledger-replay export as a library call: which events a range selects (tenant, positions,
// recorded times, all inclusive), JSON lines equal to EventJson, and RFC 4180 CSV read
// back field by field.
#include "replay/export.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "replay/event_json.h"
#include "support/ledger_fixture.h"

using json = nlohmann::json;
using ledger::testing::LedgerFixture;

namespace {

using Rows = std::vector<std::vector<std::string>>;

// Two tenants whose events interleave over three days; bob's name and one reason hold
// commas and quotes.
void TwoTenants(LedgerFixture& l) {
  l.StandardSetup();  // positions 1-2 at 2026-01-01T00:00:00Z
  l.Ok({{"type", "create_tenant"},
        {"tenant", "beta"},
        {"actor", "system"},
        {"owner", "bert"},
        {"owner_email", "bert@beta.test"},
        {"at", "2026-01-02T00:00:00Z"}});  // 3
  l.Ok({{"type", "invite_member"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"user", "bob"},
        {"email", "bob@acme.test"},
        {"name", "Smith, \"Bob\""},
        {"at", "2026-01-02T00:00:00Z"}});  // 4
  l.Ok({{"type", "invite_member"},
        {"tenant", "beta"},
        {"actor", "bert"},
        {"user", "bea"},
        {"email", "bea@beta.test"},
        {"at", "2026-01-02T12:00:00Z"}});  // 5
  l.Ok({{"type", "accept_invitation"},
        {"tenant", "acme"},
        {"actor", "bob"},
        {"reason", "typo, \"fixed\""},
        {"at", "2026-01-03T00:00:00Z"}});  // 6
  l.Ok({{"type", "accept_invitation"},
        {"tenant", "beta"},
        {"actor", "bea"},
        {"at", "2026-01-03T00:00:00Z"}});  // 7
}

// Runs Export; REQUIREs success and returns the text.
std::string Run(LedgerFixture& l, const replay::ExportOptions& o, uint64_t* rows = nullptr) {
  std::ostringstream out;
  uint64_t n = 0;
  const ledger::Status s = replay::Export(l.store(), o, out, &n);
  REQUIRE(s.ToString() == "OK");
  if (rows != nullptr) *rows = n;
  return out.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The positions of exported JSON lines.
std::vector<uint64_t> Positions(const std::string& jsonl) {
  std::vector<uint64_t> out;
  for (const auto& line : Lines(jsonl)) out.push_back(json::parse(line)["position"]);
  return out;
}

// EventJson of the event at `position`, compact.
std::string EventAt(LedgerFixture& l, uint64_t position) {
  auto c = l.store().ReadLog(position, position);
  REQUIRE(c->Valid());
  return replay::EventJson(c->event().event()).dump();
}

// A minimal RFC 4180 reader: records end with CRLF; quoted fields may hold commas, CR,
// LF and doubled quotes. Fails the test on a bare LF or a malformed quote.
Rows ParseCsv(const std::string& text) {
  Rows rows;
  std::vector<std::string> row;
  std::string field;
  size_t i = 0;
  bool at_field_start = true;
  while (i < text.size()) {
    const char c = text[i];
    if (at_field_start && c == '"') {
      for (++i;; ++i) {
        REQUIRE(i < text.size());
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            ++i;
          } else {
            ++i;
            break;
          }
        } else {
          field += text[i];
        }
      }
      REQUIRE(i < text.size());
      REQUIRE((text[i] == ',' || text[i] == '\r'));
      at_field_start = false;
      continue;
    }
    if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      at_field_start = true;
      ++i;
    } else if (c == '\r') {
      REQUIRE(i + 1 < text.size());
      REQUIRE(text[i + 1] == '\n');
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      at_field_start = true;
      i += 2;
    } else {
      REQUIRE(c != '\n');  // a line feed outside quotes: not a CRLF line end
      REQUIRE(c != '"');   // a quote inside an unquoted field
      field += c;
      at_field_start = false;
      ++i;
    }
  }
  REQUIRE(row.empty());
  REQUIRE(field.empty());
  return rows;
}

const std::vector<std::string> kHeader = {
    "position",   "tenant",         "version",   "type",        "event_id",
    "command_id", "caused_by",      "actor",     "recorded_at", "effective_at",
    "reason",     "schema_version", "prev_hash", "hash",        "payload"};

}  // namespace

TEST_CASE("export jsonl writes one EventJson line per event of the log", "[export]") {
  LedgerFixture l;
  TwoTenants(l);
  uint64_t rows = 0;
  const std::string text = Run(l, {}, &rows);
  CHECK(rows == 7);
  CHECK(rows == l.store().LastPosition());
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  const auto lines = Lines(text);
  REQUIRE(lines.size() == 7);
  for (uint64_t p = 1; p <= 7; ++p) {
    INFO("position " << p);
    CHECK(lines[p - 1] == EventAt(l, p));
  }
  CHECK(json::parse(lines[3])["payload"]["name"] == "Smith, \"Bob\"");
}

TEST_CASE("export --tenant writes only that tenant's stream, in version order", "[export]") {
  LedgerFixture l;
  TwoTenants(l);
  replay::ExportOptions o;
  o.tenant = "beta";
  uint64_t rows = 0;
  const std::string text = Run(l, o, &rows);
  CHECK(rows == 3);
  CHECK(Positions(text) == std::vector<uint64_t>{3, 5, 7});
  std::vector<uint64_t> versions;
  for (const auto& line : Lines(text)) {
    const json e = json::parse(line);
    CHECK(e["tenant"] == "beta");
    versions.push_back(e["version"]);
  }
  CHECK(versions == std::vector<uint64_t>{1, 2, 3});
  o.tenant = "nobody";
  CHECK(Run(l, o, &rows).empty());
  CHECK(rows == 0);
}

TEST_CASE("export position ranges include both ends, with and without a tenant", "[export]") {
  LedgerFixture l;
  TwoTenants(l);
  replay::ExportOptions o;
  o.from_position = 3;
  o.to_position = 5;
  CHECK(Positions(Run(l, o)) == std::vector<uint64_t>{3, 4, 5});
  o.tenant = "acme";
  CHECK(Positions(Run(l, o)) == std::vector<uint64_t>{4});
  o.to_position = 6;
  CHECK(Positions(Run(l, o)) == std::vector<uint64_t>{4, 6});
  o.tenant.reset();
  o.from_position = 7;
  o.to_position = 7;
  CHECK(Positions(Run(l, o)) == std::vector<uint64_t>{7});
  o.from_position = 8;
  o.to_position = UINT64_MAX;
  CHECK(Run(l, o).empty());
}

TEST_CASE("export time ranges select recorded_at, both ends inclusive", "[export]") {
  LedgerFixture l;
  TwoTenants(l);
  replay::ExportOptions o;
  o.from_time = ledger::ParseRfc3339("2026-01-02T00:00:00Z");
  o.to_time = ledger::ParseRfc3339("2026-01-02T12:00:00Z");
  CHECK(Positions(Run(l, o)) == std::vector<uint64_t>{3, 4, 5});
  // One microsecond inside either end drops the events exactly at that end.
  *o.from_time += 1;
  *o.to_time -= 1;
  CHECK(Run(l, o).empty());
  o.from_time = ledger::ParseRfc3339("2026-01-02T12:00:00Z");
  o.to_time.reset();
  CHECK(Positions(Run(l, o)) == std::vector<uint64_t>{5, 6, 7});
  o.tenant = "acme";
  CHECK(Positions(Run(l, o)) == std::vector<uint64_t>{6});
  // Times and positions bound the range together.
  o.tenant.reset();
  o.from_time.reset();
  o.to_time = ledger::ParseRfc3339("2026-01-03T00:00:00Z");
  o.from_position = 2;
  o.to_position = 4;
  CHECK(Positions(Run(l, o)) == std::vector<uint64_t>{2, 3, 4});
}

TEST_CASE("export csv is RFC 4180: exact header, CRLF lines, quoted fields read back exactly",
          "[export]") {
  LedgerFixture l;
  TwoTenants(l);
  replay::ExportOptions o;
  o.format = "csv";
  uint64_t rows = 0;
  const std::string text = Run(l, o, &rows);
  CHECK(rows == 7);
  CHECK(text.rfind("position,tenant,version,type,event_id,command_id,caused_by,actor,recorded_at,"
                   "effective_at,reason,schema_version,prev_hash,hash,payload\r\n",
                   0) == 0);
  CHECK(text.substr(text.size() - 2) == "\r\n");
  const Rows csv = ParseCsv(text);
  REQUIRE(csv.size() == 8);
  CHECK(csv[0] == kHeader);
  REQUIRE(replay::kExportCsvColumnCount == kHeader.size());
  for (size_t i = 0; i < kHeader.size(); ++i) CHECK(replay::kExportCsvColumns[i] == kHeader[i]);
  // Every row holds the values of EventJson, as text (null: empty).
  for (size_t r = 1; r < csv.size(); ++r) {
    INFO("row " << r);
    REQUIRE(csv[r].size() == kHeader.size());
    const json e = json::parse(EventAt(l, r));
    for (size_t f = 0; f < kHeader.size(); ++f) {
      const json& v = e[kHeader[f]];
      const std::string want = v.is_null() ? "" : v.is_string() ? v.get<std::string>() : v.dump();
      CHECK(csv[r][f] == want);
    }
  }
  // Row 4 (bob's invitation): the name with a comma and quotes survives in the payload.
  CHECK(csv[4][3] == "member_invited");
  CHECK(csv[4][10] == "");  // no reason: empty, not "null"
  CHECK(json::parse(csv[4][14]) == json{{"user", "bob"},
                                        {"email", "bob@acme.test"},
                                        {"role", "member"},
                                        {"name", "Smith, \"Bob\""}});
  CHECK(text.find(R"("{""email"":""bob@acme.test"",""name"":""Smith, \""Bob\"""",)") !=
        std::string::npos);
  // Row 6: a reason with a comma and quotes, read back exactly.
  CHECK(csv[6][10] == "typo, \"fixed\"");
  CHECK(text.find(",\"typo, \"\"fixed\"\"\",") != std::string::npos);
  CHECK(csv[6][6] == "");    // caused_by null
  CHECK(csv[6][0] == "6");   // numbers as digits
  CHECK(csv[6][11] == "1");  // schema_version
}

TEST_CASE("export csv keeps CR and LF inside a quoted field", "[export]") {
  LedgerFixture l;
  l.StandardSetup();
  // Commands refuse control characters in text, but the store keeps whatever it is given
  // (an older writer, an import): the export must not break the row.
  ledger::AppendRequest req;
  req.tenant = "acme";
  req.command_id = "raw-1";
  req.request_hash = ledger::Sha256("raw-1");
  req.actor = "olga";
  req.command_type = "raw";
  req.events.emplace_back();
  req.events.back().actor = "olga";
  req.events.back().reason = "line one\r\nline two\n";
  auto g = req.events.back().payload().initGroupCreated();
  g.setGroup("g1");
  g.setName("a\nb");
  ledger::AppendResult result;
  REQUIRE(l.store().Append(std::move(req), &result).ok());
  REQUIRE(result.kind == ledger::AppendResult::Kind::kAccepted);
  replay::ExportOptions o;
  o.format = "csv";
  o.from_position = 3;
  const std::string text = Run(l, o);
  const Rows csv = ParseCsv(text);
  REQUIRE(csv.size() == 2);
  CHECK(csv[1][3] == "group_created");
  CHECK(csv[1][10] == "line one\r\nline two\n");
  CHECK(csv[1][14] == R"({"group":"g1","name":"a\nb"})");  // JSON escapes its own newline
  CHECK(text.find(",\"line one\r\nline two\n\",") != std::string::npos);
}

TEST_CASE("export csv of an empty range is the header alone", "[export]") {
  LedgerFixture l;
  TwoTenants(l);
  replay::ExportOptions o;
  o.format = "csv";
  o.from_position = 100;
  uint64_t rows = 5;
  const Rows csv = ParseCsv(Run(l, o, &rows));
  CHECK(rows == 0);
  CHECK(csv == Rows{kHeader});
}

TEST_CASE("export rejects an unknown format and writes nothing", "[export]") {
  LedgerFixture l;
  TwoTenants(l);
  replay::ExportOptions o;
  o.format = "xml";
  std::ostringstream out;
  uint64_t rows = 9;
  const ledger::Status s = replay::Export(l.store(), o, out, &rows);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message() == "format must be jsonl or csv");
  CHECK(out.str().empty());
  CHECK(rows == 0);
}

TEST_CASE("export reports a failed output stream as an I/O error", "[export]") {
  LedgerFixture l;
  TwoTenants(l);
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  uint64_t rows = 0;
  const ledger::Status s = replay::Export(l.store(), {}, out, &rows);
  CHECK(s.IsIOError());
  CHECK(rows == 0);
}

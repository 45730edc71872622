// An auditor's work (issue 21, docs/VERIFYING.md) as real processes: pin the ledger's
// public key, keep a signed checkpoint, later export the tenant and verify it with the
// standalone tools/verify_export.py (Python, none of our code) and with ledger-replay.
// Every tamper fixture is made from a real ledger and export, and both verifiers must
// refuse it; the untouched export passes.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit_fixture.h"
#include "ledger/event.h"
#include "ledger/sha256.h"
#include "replay/signing.h"

using ledger::testing::AuditFixture;
using ledger::testing::Run;
using ledger::testing::Shell;
using ledger::testing::TamperWith;
using ledger::testing::Tool;
using ledger::testing::Write;
using nlohmann::json;

namespace {

constexpr char kMore[] =
    R"({"type":"invite_member","tenant":"acme","actor":"olga","id":"m1","user":"erin","email":"erin@acme.test","at":"2026-06-01T00:00:00Z"}
{"type":"accept_invitation","tenant":"acme","actor":"erin","id":"m2","at":"2026-06-02T00:00:00Z"}
{"type":"create_group","tenant":"acme","actor":"olga","id":"m3","group":"ops","name":"Ops","at":"2026-06-03T00:00:00Z"}
)";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The ledger after an auditor's first visit: the pinned key, a checkpoint kept then
// (old.note), more history, and today's export of acme (with the newer checkpoint).
struct Audited : AuditFixture {
  std::string pubkey = dir / "pinned.pem";
  std::string old_note = dir / "old.note";
  std::string exported = dir / "acme.jsonl";

  Audited() {
    const Run key = Replay("pubkey");
    REQUIRE(key.exit_code == 0);
    Write(pubkey, key.text());
    const Run old = Replay("checkpoint --tenant acme");
    REQUIRE(old.exit_code == 0);
    Write(old_note, old.text());
    Write(dir / "more.jsonl", kMore);
    REQUIRE(Tool(LEDGERCTL, "--data " + data + " submit " + (dir / "more.jsonl")).exit_code == 0);
    REQUIRE(Replay("checkpoint --tenant acme").exit_code == 0);
    const Run e = Replay("export --tenant acme --format jsonl");
    REQUIRE(e.exit_code == 0);
    Write(exported, e.text());
  }

  // ledger-replay verify --export on `file` (our decoder): exit code and report.
  Run Ours(const std::string& file, const std::string& extra = "") const {
    return Shell(std::string(LEDGER_REPLAY) + " verify --export " + file + " --key " + pubkey +
                 " " + extra + " 2>&1");
  }

  // verify_export.py on `file`: its exit code, and its report (stdout and stderr).
  Run Standalone(const std::string& file, const std::string& extra = "") const {
    return Shell("/usr/bin/python3 " VERIFY_EXPORT " " + file + " --key " + pubkey + " " + extra +
                 " 2>&1");
  }

  // The export with `change` applied to its lines (line 0 is the manifest), as a file.
  std::string Tampered(const std::string& name,
                       const std::function<void(std::vector<std::string>*)>& change) const {
    std::vector<std::string> lines = Lines(ReadFile(exported));
    change(&lines);
    const std::string path = dir / name;
    Write(path, Join(lines));
    return path;
  }
};

// The stored bytes of an export line, changed by `change`, put back.
void ChangeBytes(std::string* line, const std::function<void(std::string*)>& change) {
  json event = json::parse(*line);
  std::string bytes;
  REQUIRE(replay::FromBase64(event["bytes"].get<std::string>(), &bytes));
  change(&bytes);
  event["bytes"] = replay::Base64(bytes);
  *line = event.dump();
}

// "payload byte" -> "payload-byte.jsonl".
std::string FileName(std::string name) {
  std::replace(name.begin(), name.end(), ' ', '-');
  return name + ".jsonl";
}

// The 32 bytes of the hash an export line claims.
std::string HashBytes(const std::string& line) {
  ledger::Digest d;
  REQUIRE(ledger::FromHex(json::parse(line)["hash"].get<std::string>(), &d));
  return std::string(ledger::AsBytes(d));
}

// A key of the events column family: the big-endian position.
std::string PositionKey(uint64_t position) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i, position >>= 8) key[static_cast<size_t>(i)] = char(position & 255);
  return key;
}

bool Says(const Run& r, const std::string& what) {
  return r.text().find(what) != std::string::npos;
}

TEST_CASE("an untouched export verifies with the standalone tool and ledger-replay",
          "[replay][auditor]") {
  Audited a;
  const std::vector<std::string> lines = Lines(ReadFile(a.exported));
  const json manifest = json::parse(lines.at(0))["manifest"];
  CHECK(manifest["tenant"] == "acme");
  CHECK(manifest["first_version"] == 1);
  CHECK(manifest["count"] == lines.size() - 1);
  CHECK(manifest["last_version"] == lines.size() - 1);
  CHECK(manifest["checkpoint"].get<std::string>().find("\n" + std::to_string(lines.size() - 1) +
                                                       "\n") != std::string::npos);
  const Run ok = a.Standalone(a.exported, "--since " + a.old_note);
  INFO(ok.text());
  CHECK(ok.exit_code == 0);
  CHECK(Says(ok, "the history extends the older checkpoint"));
  CHECK(a.Replay("verify --since " + a.old_note + " --key " + a.pubkey).exit_code == 0);
  const Run ours = a.Ours(a.exported, "--since " + a.old_note);
  INFO(ours.text());
  CHECK(ours.exit_code == 0);
  CHECK(Says(ours, "extends the older checkpoint"));
  // The kept notes read back: the latest is the export's, the first one is old.note.
  CHECK(a.Replay("checkpoint --tenant acme --latest").text() == manifest["checkpoint"]);
  const std::string old_version = Lines(ReadFile(a.old_note)).at(1);
  CHECK(a.Replay("checkpoint --tenant acme --version " + old_version).text() ==
        ReadFile(a.old_note));
}

TEST_CASE("the standalone verifier refuses every tampered export, naming the first bad event",
          "[replay][auditor]") {
  Audited a;
  struct Fixture {
    const char* name;
    std::function<void(std::vector<std::string>*)> change;
    const char* says;
  };
  const std::vector<Fixture> fixtures = {
      // Line v is version v, at position v + 1 (position 1 is the catalog's product).
      {"payload byte",
       [](auto* l) {
         ChangeBytes(&l->at(15), [](std::string* b) { (*b)[b->find("carol")] = 'k'; });
       },
       "version 15 (position 16): its bytes do not hash"},
      {"hash byte",
       [](auto* l) {
         const std::string hash = HashBytes(l->at(5));
         ChangeBytes(&l->at(5), [&](std::string* b) { (*b)[b->find(hash) + 7] ^= 1; });
       },
       "version 5 (position 6): its bytes do not hash"},
      {"deleted event", [](auto* l) { l->erase(l->begin() + 7); }, "version 7 expected"},
      {"swapped events", [](auto* l) { std::swap(l->at(3), l->at(4)); }, "version 3 expected"},
      {"cut off", [](auto* l) { l->resize(l->size() - 2); }, "cut off or padded"},
      {"manifest count",
       [](auto* l) {
         json m = json::parse(l->at(0));
         m["manifest"]["count"] = m["manifest"]["count"].get<int>() + 1;
         l->at(0) = m.dump();
       },
       "cut off or padded"},
  };
  for (const Fixture& f : fixtures) {
    const std::string file = a.Tampered(FileName(f.name), f.change);
    const Run r = a.Standalone(file);
    INFO(f.name << ": " << r.text());
    CHECK(r.exit_code == 1);
    CHECK(Says(r, f.says));
    const Run ours = a.Ours(file);  // ledger-replay verify --export: the same verdict
    INFO(f.name << ": " << ours.text());
    CHECK(ours.exit_code == 3);
    CHECK(Says(ours, f.says));
  }
}

TEST_CASE("a checkpoint by another key, or a history rewritten since, fails both verifiers",
          "[replay][auditor]") {
  Audited a;
  // Another ledger (its own key) with the same commands: its note is no proof for acme.
  AuditFixture other;
  REQUIRE(other.Replay("checkpoint --tenant acme").exit_code == 0);
  const Run other_note = other.Replay("checkpoint --tenant acme --latest");
  REQUIRE(other_note.exit_code == 0);
  const std::string forged = a.Tampered("foreign.jsonl", [&](auto* l) {
    json m = json::parse(l->at(0));
    m["manifest"]["checkpoint"] = other_note.text();
    l->at(0) = m.dump();
  });
  const Run r1 = a.Standalone(forged);
  INFO(r1.text());
  CHECK(r1.exit_code == 1);
  CHECK(Says(r1, "no signature by the pinned key"));
  CHECK(a.Ours(forged).exit_code == 3);
  Write(a.dir / "foreign.note", other_note.text());
  CHECK(a.Replay("verify --since " + (a.dir / "foreign.note") + " --key " + a.pubkey).exit_code ==
        3);

  // The same key, a rewritten history: carol's email differs from version 3 on, every
  // hash recomputed and a new checkpoint signed. Only the older checkpoint shows it.
  ledger::testing::TempDir d2;
  const std::string data2 = d2 / "ledger";
  std::string history = ledger::testing::kHistory;
  history.replace(history.find("carol@acme.test"), 15, "carol@evil.test");
  Write(d2 / "in.jsonl", history);
  REQUIRE(Tool(LEDGERCTL, "--data " + data2 + " --clock manual submit " + (d2 / "in.jsonl"))
              .exit_code == 0);
  std::filesystem::copy_file(a.data + "/signing.key", data2 + "/signing.key");
  REQUIRE(Tool(LEDGER_REPLAY, "--data " + data2 + " checkpoint --tenant acme").exit_code == 0);
  const Run e2 = Tool(LEDGER_REPLAY, "--data " + data2 + " export --tenant acme --format jsonl");
  REQUIRE(e2.exit_code == 0);
  Write(d2 / "rewritten.jsonl", e2.text());
  const Run alone = a.Standalone(d2 / "rewritten.jsonl");
  INFO(alone.text());
  CHECK(alone.exit_code == 0);  // consistent in itself, and signed by the ledger's key
  const Run since = a.Standalone(d2 / "rewritten.jsonl", "--since " + a.old_note);
  INFO(since.text());
  CHECK(since.exit_code == 1);
  CHECK(Says(since, "rewritten since the older checkpoint"));
  const Run ours = a.Ours(d2 / "rewritten.jsonl", "--since " + a.old_note);
  INFO(ours.text());
  CHECK(ours.exit_code == 3);
  CHECK(Says(ours, "rewritten"));
  CHECK(a.Ours(d2 / "rewritten.jsonl").exit_code == 0);
  const Run replay = Tool(LEDGER_REPLAY, "--data " + data2 + " verify --since " + a.old_note +
                                             " --key " + a.pubkey + " --json");
  CHECK(replay.exit_code == 3);
  CHECK(Says(replay, "digest: version"));
}

TEST_CASE("ledger-replay verify --since refuses tampered stored events", "[replay][auditor]") {
  struct Fixture {
    const char* name;
    std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)> change;
  };
  auto get = [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* f, uint64_t p) {
    std::string v;
    REQUIRE(db->Get(rocksdb::ReadOptions(), f, PositionKey(p), &v).ok());
    return v;
  };
  auto put = [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* f, uint64_t p, const std::string& v) {
    REQUIRE(db->Put(rocksdb::WriteOptions(), f, PositionKey(p), v).ok());
  };
  const std::vector<Fixture> fixtures = {
      {"payload byte",
       [&](auto* db, auto* f) {
         std::string v = get(db, f, 16);
         v[v.find("carol")] = 'k';
         put(db, f, 16, v);
       }},
      {"hash byte",
       [&](auto* db, auto* f) {
         std::string v = get(db, f, 6);
         std::string next = get(db, f, 7);  // its prev_hash: the 32 bytes to find in v
         ledger::StoredEvent e;
         REQUIRE(e.Parse(next).ok());
         const auto prev = e.event().getPrevHash();
         const size_t at = v.find(std::string(reinterpret_cast<const char*>(prev.begin()), 32));
         REQUIRE(at != std::string::npos);
         v[at + 7] ^= 1;
         put(db, f, 6, v);
       }},
      {"deleted event",
       [&](auto* db, auto* f) {
         REQUIRE(db->Delete(rocksdb::WriteOptions(), f, PositionKey(7)).ok());
       }},
      {"swapped events",
       [&](auto* db, auto* f) {
         const std::string a3 = get(db, f, 3), a4 = get(db, f, 4);
         put(db, f, 3, a4);
         put(db, f, 4, a3);
       }},
  };
  for (const Fixture& fx : fixtures) {
    Audited a;
    TamperWith(a.data, "events", fx.change);
    const Run r = a.Replay("verify --since " + a.old_note + " --key " + a.pubkey);
    INFO(fx.name << ": " << r.text());
    CHECK(r.exit_code == 3);
  }
  // Cut off: the last events gone (and the head moved back with them) — the kept
  // checkpoint's version is no longer in the history.
  Audited a;
  const std::string latest = a.dir / "latest.note";
  Write(latest, a.Replay("checkpoint --tenant acme --latest").text());
  const uint64_t last = json::parse(Lines(ReadFile(a.exported)).at(0))["manifest"]["count"];
  TamperWith(a.data, "events", [&](auto* db, auto* f) {
    for (uint64_t p = last; p <= last + 1; ++p) {
      REQUIRE(db->Delete(rocksdb::WriteOptions(), f, PositionKey(p)).ok());
    }
  });
  const Run r = a.Replay("verify --since " + latest + " --key " + a.pubkey);
  INFO(r.text());
  CHECK(r.exit_code == 3);
}

TEST_CASE("the verifiers' bad usage exits 2, an empty export never passes", "[replay][auditor]") {
  Audited a;
  CHECK(a.Standalone(a.dir / "missing.jsonl").exit_code == 2);
  CHECK(Shell("/usr/bin/python3 " VERIFY_EXPORT " " + a.exported + " 2>&1").exit_code == 2);
  Write(a.dir / "not-a-key.pem", "hello\n");
  CHECK(Shell("/usr/bin/python3 " VERIFY_EXPORT " " + a.exported + " --key " +
              (a.dir / "not-a-key.pem") + " 2>&1")
            .exit_code == 2);
  Write(a.dir / "empty.jsonl", "");
  CHECK(a.Standalone(a.dir / "empty.jsonl").exit_code == 1);
  CHECK(a.Ours(a.dir / "empty.jsonl").exit_code == 3);
  CHECK(a.Ours(a.dir / "missing.jsonl").exit_code == 2);
  CHECK(Tool(LEDGER_REPLAY, "verify --export " + a.exported).exit_code == 2);  // no --key
  const std::string header_only = a.Tampered("header.jsonl", [](auto* l) { l->resize(1); });
  CHECK(a.Standalone(header_only).exit_code == 1);
  CHECK(a.Ours(header_only).exit_code == 3);
  CHECK(a.Replay("checkpoint --tenant nobody").exit_code == 2);
  CHECK(a.Replay("checkpoint --tenant acme --version 999").exit_code == 2);
  CHECK(a.Replay("checkpoint --tenant acme --version x").exit_code == 2);
}

}  // namespace

// A ledger for the audit tools' tests: a tenant's history submitted through ledgerctl on
// disk, and a way to change its RocksDB files as an attacker with disk access would.
#pragma once

#include <rocksdb/db.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/run_tool.h"
#include "support/temp_dir.h"

namespace ledger::testing {

// pCon-style: bob and olga in group pro on a 2-seat lock_all subscription; carol joins the
// group on March 1 (3 users on 2 seats: locked), is removed on April 1 (cascade); on May 1
// a backdated correction revokes... dave's direct seat effective February 15.
inline constexpr char kHistory[] =
    R"({"type":"define_product","actor":"system","id":"p1","product":"pcon","editions":["std","pro"],"at":"2026-01-05T09:00:00Z"}
{"type":"create_tenant","tenant":"acme","actor":"system","id":"t1","owner":"olga","owner_email":"olga@acme.test"}
{"type":"invite_member","tenant":"acme","actor":"olga","id":"c1","user":"bob","email":"bob@acme.test"}
{"type":"accept_invitation","tenant":"acme","actor":"bob","id":"c2"}
{"type":"invite_member","tenant":"acme","actor":"olga","id":"c3","user":"carol","email":"carol@acme.test"}
{"type":"accept_invitation","tenant":"acme","actor":"carol","id":"c4"}
{"type":"invite_member","tenant":"acme","actor":"olga","id":"c5","user":"dave","email":"dave@acme.test"}
{"type":"accept_invitation","tenant":"acme","actor":"dave","id":"c6"}
{"type":"purchase_subscription","tenant":"acme","actor":"olga","id":"s1","subscription":"L1","product":"pcon","edition":"pro","seats":2,"period_start":"2026-01-01T00:00:00Z","period_end":"2027-01-01T00:00:00Z"}
{"type":"purchase_subscription","tenant":"acme","actor":"olga","id":"s2","subscription":"D1","product":"pcon","edition":"std","seats":1,"period_start":"2026-01-01T00:00:00Z","period_end":"2027-01-01T00:00:00Z"}
{"type":"assign_seat","tenant":"acme","actor":"olga","id":"d1","subscription":"D1","user":"dave"}
{"type":"create_group","tenant":"acme","actor":"olga","id":"g1","group":"pro","name":"PRO"}
{"type":"add_group_member","tenant":"acme","actor":"olga","id":"g2","group":"pro","user":"bob"}
{"type":"add_group_member","tenant":"acme","actor":"olga","id":"g3","group":"pro","user":"olga"}
{"type":"assign_group","tenant":"acme","actor":"olga","id":"g4","subscription":"L1","group":"pro","at":"2026-02-01T10:00:00Z"}
{"type":"add_group_member","tenant":"acme","actor":"olga","id":"g5","group":"pro","user":"carol","at":"2026-03-01T10:00:00Z"}
{"type":"assign_seat","tenant":"acme","actor":"bob","id":"x1","subscription":"L1","user":"bob"}
{"type":"remove_member","tenant":"acme","actor":"olga","id":"r1","user":"carol","at":"2026-04-01T10:00:00Z"}
{"type":"revoke_seat","tenant":"acme","actor":"olga","id":"b1","subscription":"D1","user":"dave","at":"2026-05-01T10:00:00Z","effective_at":"2026-02-15T00:00:00Z","reason":"dave left in February"}
)";

// A ledger directory with kHistory submitted through ledgerctl (manual clock).
struct AuditFixture {
  using json = nlohmann::json;
  TempDir dir;
  std::string data = dir / "ledger";

  AuditFixture() {
    Write(dir / "in.jsonl", kHistory);
    const Run r =
        Tool(LEDGERCTL, "--data " + data + " --clock manual submit " + (dir / "in.jsonl"));
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.lines.size() == 19);
  }

  Run Replay(const std::string& args) const {
    return Tool(LEDGER_REPLAY, "--data " + data + " " + args);
  }

  json ReplayJson(const std::string& args) const {
    const Run r = Replay(args + " --json");
    INFO(args);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.lines.size() == 1);
    return json::parse(r.lines[0]);
  }
};

// Opens the ledger's RocksDB directly (as an attacker with disk access would) and runs
// `change(db, family)` on the column family `name`.
inline void TamperWith(
    const std::string& data, const std::string& name,
    const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& change) {
  rocksdb::DBOptions options;
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(options, data, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names) families.push_back({n, rocksdb::ColumnFamilyOptions()});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(options, data, families, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* family = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) family = handles[i];
  }
  REQUIRE(family != nullptr);
  change(db.get(), family);
  for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
}

}  // namespace ledger::testing

// ledger-replay as auditors and support run it: a ledger built with `ledgerctl submit` on
// disk, then each verb as a real process — output fields, exit codes, a tampered event, a
// backdated correction seen with and without --known-at, and a live writer.
#include <rocksdb/db.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "audit_fixture.h"
#include "ledger/store.h"
#include "projections/views.h"
#include "support/run_tool.h"
#include "support/store_helpers.h"
#include "support/temp_dir.h"

using ledger::testing::AuditFixture;
using ledger::testing::Run;
using ledger::testing::TamperWith;
using ledger::testing::TempDir;
using ledger::testing::Tool;
using ledger::testing::Write;
using nlohmann::json;

namespace {

std::vector<std::string> Names(const json& list, const char* key) {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item[key].get<std::string>());
  return out;
}

const json& Find(const json& list, const char* key, const std::string& id) {
  for (const auto& item : list) {
    if (item[key] == id) return item;
  }
  FAIL("no " << key << " " << id << " in " << list.dump());
  static json none;
  return none;
}

}  // namespace

TEST_CASE("state --json prints the fields of DESIGN 6.2", "[replay][state]") {
  AuditFixture f;
  const json s = f.ReplayJson("state --tenant acme --at 2026-03-15T00:00:00Z");
  CHECK(s["tenant"] == "acme");
  CHECK(s["at"] == "2026-03-15T00:00:00Z");
  CHECK(Names(s["members"], "user") == std::vector<std::string>{"bob", "carol", "dave", "olga"});
  const json& bob = Find(s["members"], "user", "bob");
  CHECK(
      bob ==
      json{{"user", "bob"}, {"email", "bob@acme.test"}, {"role", "member"}, {"status", "active"}});
  const json& pro = Find(s["groups"], "group", "pro");
  CHECK(pro == json{{"group", "pro"}, {"name", "PRO"}, {"members", {"bob", "carol", "olga"}}});
  const json& l1 = Find(s["subscriptions"], "subscription", "L1");
  CHECK(l1["product"] == "pcon");
  CHECK(l1["edition"] == "pro");
  CHECK(l1["seats"] == 2);
  CHECK(l1["seat_model"] == "named");
  CHECK(l1["status"] == "active");
  CHECK(l1["auto_renew"] == true);
  CHECK(l1["period_start"] == "2026-01-01T00:00:00Z");
  CHECK(l1["period_end"] == "2027-01-01T00:00:00Z");
  CHECK(l1["purchase_order"].is_null());
  CHECK(l1["groups"] == json{"pro"});
  CHECK(l1["direct"] == json::array());
  CHECK(l1["assigned"] == json{"bob", "carol", "olga"});
  CHECK(l1["violations"] == json{"over_assigned"});
  CHECK(l1["pending"] == json::array());
  // After carol's removal (cascade), the lock is gone.
  const json now = f.ReplayJson("state --tenant acme");
  CHECK(Find(now["members"], "user", "carol")["status"] == "removed");
  CHECK(Find(now["subscriptions"], "subscription", "L1")["violations"] == json::array());
  // --position: right after the group was assigned (bob and olga on 2 seats).
  const Run by_position = f.Replay("state --tenant acme --position 15");
  REQUIRE(by_position.exit_code == 0);
  CHECK(by_position.text().find("L1") != std::string::npos);
  const json p = f.ReplayJson("state --tenant acme --position 15");
  CHECK(p["position"] == 15);
  CHECK(Find(p["subscriptions"], "subscription", "L1")["assigned"] == json{"bob", "olga"});
}

TEST_CASE("a backdated correction is seen with and without --known-at", "[replay][state]") {
  AuditFixture f;
  // Effective February 15, recorded May 1: true on March 15 as known today...
  const json today = f.ReplayJson("state --tenant acme --at 2026-03-15T00:00:00Z");
  CHECK(Find(today["subscriptions"], "subscription", "D1")["direct"] == json::array());
  // ...but not as the ledger knew it on April 15.
  const json then =
      f.ReplayJson("state --tenant acme --at 2026-03-15T00:00:00Z --known-at 2026-04-15T00:00:00Z");
  CHECK(Find(then["subscriptions"], "subscription", "D1")["direct"] == json{"dave"});
}

TEST_CASE("diff lists exactly the users who lost and gained access", "[replay][diff]") {
  AuditFixture f;
  // Feb 15 → Mar 15: carol joined the group: everyone on L1 lost pcon (locked); dave's
  // seat was revoked effective Feb 15 (backdated), so he had already lost it by Feb 15.
  const json d =
      f.ReplayJson("diff --tenant acme --from 2026-02-15T00:00:00Z --to 2026-03-15T00:00:00Z");
  std::vector<std::string> lost;
  for (const auto& l : d["access"]["lost"]) {
    lost.push_back(l["user"].get<std::string>());
    CHECK(l["product"] == "pcon");
    CHECK(l["reason"] == "subscription_locked");
  }
  CHECK(lost == std::vector<std::string>{"bob", "olga"});
  CHECK(d["access"]["gained"] == json::array());
  CHECK(d["groups"]["changed"][0]["group"] == "pro");
  // Positions work too: the removal of carol unlocks L1 again.
  const json back = f.ReplayJson("diff --tenant acme --from 16 --to 19");
  CHECK(Names(back["access"]["gained"], "user") == std::vector<std::string>{"bob", "olga"});
  CHECK(Find(back["members"]["changed"], "user", "carol")["fields"]["status"] ==
        json{"active", "removed"});
}

TEST_CASE("history shows cascades under their cause and rejected attempts", "[replay][history]") {
  AuditFixture f;
  const json h = f.ReplayJson("history --tenant acme --user carol");
  const json& entries = h["entries"];
  REQUIRE(entries.size() == 4);  // invited, accepted, added to pro, removed (with cascade)
  const json& removal = entries[3];
  CHECK(removal["type"] == "member_removed");
  CHECK(removal["actor"] == "olga");
  CHECK(removal["recorded_at"] == "2026-04-01T10:00:00Z");
  REQUIRE(removal["caused"].size() == 1);
  CHECK(removal["caused"][0]["type"] == "group_member_removed");
  // bob's own forbidden attempt is in his history, marked as rejected.
  const json b = f.ReplayJson("history --tenant acme --user bob");
  bool rejected = false;
  for (const auto& e : b["entries"]) {
    if (e.value("rejected", false)) {
      rejected = true;
      CHECK(e["code"] == "forbidden");
      CHECK(e["command_type"] == "assign_seat");
      CHECK(e["actor"] == "bob");
    }
  }
  CHECK(rejected);
  // The backdated correction carries its reason and both times.
  const json d = f.ReplayJson("history --tenant acme --subscription D1");
  const json& last = d["entries"].back();
  CHECK(last["type"] == "seat_revoked");
  CHECK(last["reason"] == "dave left in February");
  CHECK(last["effective_at"] == "2026-02-15T00:00:00Z");
  CHECK(last["recorded_at"] == "2026-05-01T10:00:00Z");
  // A table by default.
  const Run table = f.Replay("history --tenant acme --group pro");
  REQUIRE(table.exit_code == 0);
  CHECK(table.lines.at(0).rfind("POSITION", 0) == 0);
}

TEST_CASE("explain gives the answer and the chain of deciding events", "[replay][explain]") {
  AuditFixture f;
  const json e =
      f.ReplayJson("explain --tenant acme --user bob --product pcon --at 2026-03-15T00:00:00Z");
  CHECK(e["allowed"] == false);
  CHECK(e["reason"] == "subscription_locked");
  CHECK(e["subscription"] == "L1");
  REQUIRE(!e["because"].empty());
  const json& last = e["because"].back();
  CHECK(last["type"] == "group_member_added");
  CHECK(last["actor"] == "olga");
  CHECK(last["summary"] ==
        "carol added to group pro by olga → 3 users on 2 seats → subscription L1 locked "
        "(lock_all)");
  // Oldest first, each with position, type, recorded_at, actor and summary.
  uint64_t previous = 0;
  for (const auto& b : e["because"]) {
    CHECK(b["position"].get<uint64_t>() > previous);
    previous = b["position"].get<uint64_t>();
    CHECK(b.contains("recorded_at"));
    CHECK(!b["summary"].get<std::string>().empty());
  }
  const json now = f.ReplayJson("explain --tenant acme --user bob --product pcon");
  CHECK(now["allowed"] == true);
  CHECK(now["subscription"] == "L1");
}

TEST_CASE("verify passes on an intact ledger and digests prove earlier heads", "[replay][verify]") {
  AuditFixture f;
  const json ok = f.ReplayJson("verify");
  CHECK(ok["ok"] == true);
  CHECK(ok["events"] == 19);  // 18 accepted commands; the removal has a cascade
  CHECK(ok["views_checked"] == true);
  CHECK(f.Replay("verify --tenant acme").exit_code == 0);
  const Run digest = f.Replay("digest --json");
  REQUIRE(digest.exit_code == 0);
  Write(f.dir / "digest.json", digest.lines.at(0));
  // More history later: the digest still holds.
  Write(
      f.dir / "more.jsonl",
      R"({"type":"invite_member","tenant":"acme","actor":"olga","id":"m1","user":"erin","email":"erin@acme.test","at":"2026-06-01T00:00:00Z"})"
      "\n");
  REQUIRE(Tool(LEDGERCTL, "--data " + f.data + " submit " + (f.dir / "more.jsonl")).exit_code == 0);
  CHECK(f.Replay("verify --digest " + (f.dir / "digest.json")).exit_code == 0);
  // A digest whose hash was not in the history fails with exit 3.
  json d = json::parse(digest.lines.at(0));
  for (auto& t : d["tenants"]) {
    if (t["tenant"] == "acme") t["hash"] = std::string(64, 'a');
  }
  Write(f.dir / "forged.json", d.dump());
  CHECK(f.Replay("verify --digest " + (f.dir / "forged.json")).exit_code == 3);
  // A malformed digest is bad input.
  Write(f.dir / "bad.json", "{\"tenants\":[{\"tenant\":\"acme\"}]}");
  CHECK(f.Replay("verify --digest " + (f.dir / "bad.json")).exit_code == 2);
}

TEST_CASE("verify names the position of a tampered event, exit 3", "[replay][verify]") {
  AuditFixture f;
  // Flip one byte of the event at position 16 (carol added to group pro): "carol" → "karol".
  TamperWith(f.data, "events", [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* events) {
    std::string key(8, '\0');
    key[7] = 16;
    std::string value;
    REQUIRE(db->Get(rocksdb::ReadOptions(), events, key, &value).ok());
    const size_t at = value.find("carol");
    REQUIRE(at != std::string::npos);
    value[at] = 'k';
    REQUIRE(db->Put(rocksdb::WriteOptions(), events, key, value).ok());
  });
  const Run r = f.Replay("verify --json");
  CHECK(r.exit_code == 3);
  REQUIRE(r.lines.size() == 1);
  const json report = json::parse(r.lines[0]);
  CHECK(report["ok"] == false);
  REQUIRE(!report["problems"].empty());
  CHECK(report["problems"][0]["position"] == 16);
  CHECK(report["problems"][0]["what"].get<std::string>().find("hash") != std::string::npos);
  const Run human = f.Replay("verify");
  CHECK(human.exit_code == 3);
  CHECK(human.lines.at(0).find("first at position 16") != std::string::npos);
}

TEST_CASE("verify names a moved event-index entry, exit 3", "[replay][verify]") {
  AuditFixture f;
  // The index says position 16 (carol added to group pro) concerned karol, not carol:
  // history would show it under the wrong user.
  TamperWith(f.data, "view_index", [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* index) {
    auto key = [](const std::string& user) {
      std::string k = std::string("acme") + '\0' + 'u' + '\0' + user + '\0';
      k += std::string(7, '\0') + '\x10';  // position 16, big-endian
      return k;
    };
    std::string type;
    REQUIRE(db->Get(rocksdb::ReadOptions(), index, key("carol"), &type).ok());
    REQUIRE(db->Delete(rocksdb::WriteOptions(), index, key("carol")).ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), index, key("karol"), type).ok());
  });
  const Run r = f.Replay("verify --json");
  CHECK(r.exit_code == 3);
  REQUIRE(r.lines.size() == 1);
  const json report = json::parse(r.lines[0]);
  REQUIRE(report["problems"].size() == 1);
  CHECK(report["problems"][0]["position"] == 16);
  CHECK(report["problems"][0]["what"] ==
        "index: no index entry for position 16 (group_member_added)");
}

TEST_CASE("bad usage exits 2 naming the problem", "[replay][usage]") {
  AuditFixture f;
  CHECK(f.Replay("state").exit_code == 2);                               // no --tenant
  CHECK(f.Replay("state --tenant acme --at yesterday").exit_code == 2);  // bad time
  CHECK(f.Replay("history --tenant acme").exit_code == 2);               // no entity
  CHECK(f.Replay("export --format xml").exit_code == 2);                 // bad format
  CHECK(f.Replay("frobnicate").exit_code == 2);                          // unknown verb
  CHECK(f.Replay("verify --user bob").exit_code == 2);                   // wrong option
  CHECK(f.Replay("state --tenant nobody").exit_code == 2);               // unknown tenant
  CHECK(Tool(LEDGER_REPLAY, "--data /nonexistent state --tenant acme").exit_code == 2);
}

TEST_CASE("replay tools read a ledger while a writer appends", "[replay][live]") {
  TempDir dir;
  const std::string data = dir / "ledger";
  auto views = std::make_shared<projections::ViewProjector>();
  ledger::StoreOptions options;
  options.projectors = {views};
  std::unique_ptr<ledger::Store> store;
  REQUIRE(ledger::Store::Open(options, data, &store).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> appended{0}, failures{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      ledger::AppendResult r;
      const std::string tenant = "t" + std::to_string(i % 5);
      if (!store->Append(ledger::testing::InviteRequest(tenant, "c" + std::to_string(i), 3), &r)
               .ok()) {
        ++failures;
      }
      ++appended;
    }
  });
  while (appended < 50) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    const Run v = Tool(LEDGER_REPLAY, "--data " + data + " verify --json");
    CHECK(v.exit_code == 0);
    REQUIRE(v.lines.size() == 1);
    CHECK(json::parse(v.lines[0])["ok"] == true);
    const Run s = Tool(LEDGER_REPLAY, "--data " + data + " state --tenant t1 --json");
    CHECK(s.exit_code == 0);
  }
  stop = true;
  writer.join();
  CHECK(failures == 0);
}

// ledgerctl as a user runs it: a real process, real files, exit codes and output lines.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/store.h"
#include "support/run_tool.h"
#include "support/temp_dir.h"

namespace {

using ledger::testing::Run;
using ledger::testing::Tool;
using ledger::testing::Write;

Run Ledgerctl(const std::string& args, const std::string& input_file = "") {
  return Tool(LEDGERCTL, args, input_file);
}

// A catalog with "pcon", tenant acme (owner olga) and subscription S1 with 3 seats.
constexpr char kAcmeWithOneSubscription[] =
    R"({"type":"define_product","actor":"system","id":"p","product":"pcon","editions":["std"],"at":"2026-01-01T00:00:00Z"}
{"type":"create_tenant","tenant":"acme","actor":"system","id":"t","owner":"olga","owner_email":"olga@acme.test"}
{"type":"purchase_subscription","tenant":"acme","actor":"olga","id":"s","subscription":"S1","product":"pcon","edition":"std","seats":3,"period_start":"2026-01-01T00:00:00Z","period_end":"2027-01-01T00:00:00Z"}
)";

nlohmann::json J(const std::string& line) { return nlohmann::json::parse(line); }

}  // namespace

TEST_CASE("ledgerctl submit answers one line per command, in order, exit 0 with rejections",
          "[cli]") {
  ledger::testing::TempDir dir;
  Write(
      dir / "in.jsonl",
      R"({"type":"define_product","actor":"system","id":"p","product":"pcon","editions":["std","pro"],"at":"2026-01-01T00:00:00Z"}
{"type":"create_tenant","tenant":"acme","actor":"system","id":"t","owner":"olga","owner_email":"olga@acme.test"}

{"type":"invite_member","tenant":"acme","actor":"olga","id":"c1","user":"bob","email":"bob@acme.test"}
{"type":"invite_member","tenant":"acme","actor":"olga","id":"c2","user":"bob","email":"bob@acme.test"}
{"type":"invite_member","tenant":"acme","actor":"olga","id":"c1","user":"bob","email":"bob@acme.test"}
this is not json
)");
  const std::string data = "--data " + dir / "ledger" + " --clock manual";
  Run r = Ledgerctl(data + " submit " + dir / "in.jsonl");
  CHECK(r.exit_code == 0);
  REQUIRE(r.lines.size() == 6);
  CHECK(J(r.lines[0])["status"] == "accepted");
  CHECK(J(r.lines[2])["status"] == "accepted");
  CHECK(J(r.lines[2])["events"][0]["type"] == "member_invited");
  CHECK(J(r.lines[3])["code"] == "already_member");
  CHECK(J(r.lines[4])["status"] == "duplicate");
  CHECK(J(r.lines[4])["position"] == J(r.lines[2])["position"]);
  CHECK(J(r.lines[5])["code"] == "bad_request");

  SECTION("from standard input") {
    Write(dir / "more.jsonl",
          R"({"type":"accept_invitation","tenant":"acme","actor":"bob","id":"c3"})"
          "\n");
    Run s = Ledgerctl(data + " submit -", dir / "more.jsonl");
    CHECK(s.exit_code == 0);
    REQUIRE(s.lines.size() == 1);
    CHECK(J(s.lines[0])["status"] == "accepted");
    Run check = Ledgerctl(data + " check --tenant acme --user bob --product pcon");
    CHECK(check.exit_code == 0);
    REQUIRE(check.lines.size() == 1);
    CHECK(check.lines[0] == R"({"allowed":false,"reason":"no_seat","subscription":null})");
  }
}

TEST_CASE("ledgerctl exits 2 on bad usage and unreadable input", "[cli]") {
  ledger::testing::TempDir dir;
  const std::string data = "--data " + dir / "ledger";
  CHECK(Ledgerctl(data + " submit " + dir / "missing.jsonl").exit_code == 2);
  CHECK(Ledgerctl(data + " frobnicate").exit_code == 2);
  CHECK(Ledgerctl(data).exit_code == 2);
  CHECK(Ledgerctl(data + " check --tenant acme").exit_code == 2);
  CHECK(Ledgerctl(data + " --clock sundial submit -").exit_code == 2);
  Write(dir / "bad.csv", "name\nbob\n");
  CHECK(
      Ledgerctl(data + " import-members --tenant acme --actor olga " + dir / "bad.csv").exit_code ==
      2);
}

TEST_CASE("ledgerctl import-members reports every row and commits only on --commit", "[cli]") {
  ledger::testing::TempDir dir;
  const std::string data = "--data " + dir / "ledger" + " --clock manual";
  Write(dir / "setup.jsonl", kAcmeWithOneSubscription);
  REQUIRE(Ledgerctl(data + " submit " + dir / "setup.jsonl").exit_code == 0);
  Write(dir / "people.csv",
        "email,user,name,role\r\n"
        "ann@acme.test,ann,Ann,\r\n"
        "ben@acme.test,,Ben,member\r\n"
        ",cid,Cid,member\r\n"
        "not-an-email,dee,Dee,member\r\n"
        "ann@acme.test,ann2,Ann again,member\r\n"
        "olga@acme.test,olga,Olga,member\r\n");
  const std::string import = data + " import-members --tenant acme --actor olga " +
                             dir / "people.csv" + " --subscription S1";
  Run dry = Ledgerctl(import);
  CHECK(dry.exit_code == 0);
  REQUIRE(dry.lines.size() == 1);
  auto report = J(dry.lines[0]);
  CHECK(report["status"] == "dry_run");
  CHECK(report["report"]["valid"].size() == 2);
  CHECK(report["report"]["valid"][1]["user"] == "ben@acme.test");
  CHECK(report["report"]["incomplete"][0]["line"] == 4);
  CHECK(report["report"]["invalid"][0]["line"] == 5);
  CHECK(report["report"]["duplicates"][0]["line"] == 6);
  CHECK(report["report"]["duplicates"][1]["line"] == 7);

  Run nothing = Ledgerctl(data + " check --tenant acme --user ann --product pcon");
  CHECK(J(nothing.lines.at(0))["reason"] == "not_member");

  Run commit = Ledgerctl(import + " --commit");
  auto committed = J(commit.lines.at(0));
  CHECK(committed["status"] == "accepted");
  CHECK(committed["events"].size() == 4);  // two invitations, two seats, one command
  Run ann = Ledgerctl(data + " check --tenant acme --user ann --product pcon");
  CHECK(J(ann.lines.at(0))["reason"] == "invitation_pending");
}

TEST_CASE("ledgerctl check answers while another process has the ledger open for writing",
          "[cli]") {
  ledger::testing::TempDir dir;
  const std::string data = "--data " + dir / "ledger" + " --clock manual";
  Write(
      dir / "setup.jsonl",
      std::string(kAcmeWithOneSubscription) +
          R"({"type":"assign_seat","tenant":"acme","actor":"olga","id":"a","subscription":"S1","user":"olga"})"
          "\n");
  REQUIRE(Ledgerctl(data + " submit " + dir / "setup.jsonl").exit_code == 0);
  // A writer holds the database (and its lock) open, as ledgerd will.
  std::unique_ptr<ledger::Store> writer;
  REQUIRE(ledger::Store::Open(ledger::StoreOptions(), dir / "ledger", &writer).ok());
  Run check = Ledgerctl(data + " check --tenant acme --user olga --product pcon");
  CHECK(check.exit_code == 0);
  REQUIRE(check.lines.size() == 1);
  CHECK(check.lines[0] == R"({"allowed":true,"reason":null,"subscription":"S1"})");
  // A second writer is refused with a clear failure, not a crash.
  CHECK(Ledgerctl(data + " submit " + dir / "setup.jsonl").exit_code == 1);
}

TEST_CASE("ledger-replay rebuild recreates the views from the log and checks answer the same",
          "[cli]") {
  ledger::testing::TempDir dir;
  Write(
      dir / "in.jsonl",
      std::string(kAcmeWithOneSubscription) +
          R"({"type":"invite_member","tenant":"acme","actor":"olga","id":"i1","user":"bob","email":"bob@acme.test"}
{"type":"accept_invitation","tenant":"acme","actor":"bob","id":"a1"}
{"type":"assign_seat","tenant":"acme","actor":"olga","id":"as1","subscription":"S1","user":"bob"}
)");
  const std::string data = "--data " + dir / "ledger";
  REQUIRE(Ledgerctl(data + " --clock manual submit " + dir / "in.jsonl").exit_code == 0);
  const std::string check = data + " check --tenant acme --user bob --product pcon";
  Run before = Ledgerctl(check);
  REQUIRE(before.lines.size() == 1);
  CHECK(J(before.lines[0])["allowed"] == true);

  Run rebuilt = Tool(LEDGER_REPLAY, data + " rebuild");
  REQUIRE(rebuilt.exit_code == 0);
  REQUIRE(rebuilt.lines.size() == 1);
  CHECK(J(rebuilt.lines[0])["rebuilt"] == "views");
  CHECK(J(rebuilt.lines[0])["position"] == 6);  // every event of the log folded
  CHECK(J(rebuilt.lines[0])["events"] == 6);
  Run after = Ledgerctl(check);
  REQUIRE(after.lines == before.lines);

  CHECK(Tool(LEDGER_REPLAY, data + " frobnicate").exit_code == 2);
  CHECK(Tool(LEDGER_REPLAY, "rebuild").exit_code == 2);  // no --data
}

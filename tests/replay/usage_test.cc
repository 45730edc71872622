// Concurrent seats as tools show them (R19): `ledgerctl checkout|heartbeat|checkin` as
// real processes on a data directory, `ledger-replay state --at` showing the leases in use
// at a past time, and `ledger-replay usage` on a known history.
#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/run_tool.h"
#include "support/temp_dir.h"

using ledger::testing::Run;
using ledger::testing::TempDir;
using ledger::testing::Tool;
using ledger::testing::Write;
using nlohmann::json;

namespace {

// acme: bob, carol, dave assigned to F1 (2 concurrent seats, TTL 1 hour), from Jan 5.
constexpr char kSetup[] =
    R"({"type":"define_product","actor":"system","id":"p1","product":"pcon","editions":["std"],"at":"2026-01-05T00:00:00Z"}
{"type":"create_tenant","tenant":"acme","actor":"system","id":"t1","owner":"olga","owner_email":"olga@acme.test"}
{"type":"invite_member","tenant":"acme","actor":"olga","id":"i1","user":"bob","email":"bob@acme.test"}
{"type":"accept_invitation","tenant":"acme","actor":"bob","id":"a1"}
{"type":"invite_member","tenant":"acme","actor":"olga","id":"i2","user":"carol","email":"carol@acme.test"}
{"type":"accept_invitation","tenant":"acme","actor":"carol","id":"a2"}
{"type":"invite_member","tenant":"acme","actor":"olga","id":"i3","user":"dave","email":"dave@acme.test"}
{"type":"accept_invitation","tenant":"acme","actor":"dave","id":"a3"}
{"type":"purchase_subscription","tenant":"acme","actor":"olga","id":"s1","subscription":"F1","product":"pcon","edition":"std","seats":2,"seat_model":"concurrent","lease_ttl_seconds":3600,"period_start":"2026-01-01T00:00:00Z","period_end":"2027-01-01T00:00:00Z"}
{"type":"assign_seat","tenant":"acme","actor":"olga","id":"b1","subscription":"F1","user":"bob"}
{"type":"assign_seat","tenant":"acme","actor":"olga","id":"b2","subscription":"F1","user":"carol"}
{"type":"assign_seat","tenant":"acme","actor":"olga","id":"b3","subscription":"F1","user":"dave"}
)";

struct LeaseLedger {
  TempDir dir;
  std::string data = dir / "ledger";
  LeaseLedger() {
    Write(dir / "setup.jsonl", kSetup);
    REQUIRE(Tool(LEDGERCTL, "--data " + data + " --clock manual submit " + (dir / "setup.jsonl"))
                .exit_code == 0);
  }
  // Runs a ledgerctl verb; returns the result line and checks the exit code.
  json Ctl(const std::string& args, int expected_exit = 0) {
    const Run r = Tool(LEDGERCTL, "--data " + data + " " + args);
    INFO(args << " → " << r.text());
    REQUIRE(r.exit_code == expected_exit);
    REQUIRE(r.lines.size() == 1);
    return json::parse(r.lines[0]);
  }
  json Checkout(const std::string& user, const std::string& at, int expected_exit = 0) {
    return Ctl("checkout --tenant acme --subscription F1 --user " + user + " --device pc-" + user +
                   " --at " + at,
               expected_exit);
  }
  json Replay(const std::string& args) {
    const Run r = Tool(LEDGER_REPLAY, "--data " + data + " " + args + " --json");
    INFO(args << " → " << r.text());
    REQUIRE(r.exit_code == 0);
    return json::parse(r.text());
  }
};

std::vector<std::string> LeaseUsers(const json& state) {
  std::vector<std::string> users;
  for (const auto& s : state["subscriptions"]) {
    for (const auto& l : s["leases"]) users.push_back(l["user"]);
  }
  std::sort(users.begin(), users.end());
  return users;
}

}  // namespace

TEST_CASE("ledgerctl checkout, heartbeat and checkin, and state --at shows the leases in use then",
          "[replay][leases]") {
  LeaseLedger l;
  // Jan 5: bob 09:00–11:00 (renewed, then checked in), carol 10:00 on (renewed at 10:50,
  // so until 11:50), dave refused at 10:30 (both seats in use), granted at 11:30.
  const json bob = l.Checkout("bob", "2026-01-05T09:00:00Z");
  CHECK(bob["status"] == "accepted");
  CHECK(bob["expires_at"] == "2026-01-05T10:00:00Z");
  // bob renews: his granted expiry is 10:00.
  l.Ctl("heartbeat --tenant acme --actor bob --lease " + bob["lease"].get<std::string>() +
        " --at 2026-01-05T09:55:00Z");
  const json carol = l.Checkout("carol", "2026-01-05T10:00:00Z");
  const json refused = l.Checkout("dave", "2026-01-05T10:30:00Z", /*expected_exit=*/1);
  CHECK(refused["code"] == "no_free_seat");
  const json beat = l.Ctl("heartbeat --tenant acme --actor carol --lease " +
                          carol["lease"].get<std::string>() + " --at 2026-01-05T10:50:00Z");
  CHECK(beat["expires_at"] == "2026-01-05T11:50:00Z");
  l.Ctl("heartbeat --tenant acme --actor bob --lease " + bob["lease"].get<std::string>() +
        " --at 2026-01-05T10:50:00Z");
  const json released = l.Ctl("checkin --tenant acme --actor bob --lease " +
                              bob["lease"].get<std::string>() + " --at 2026-01-05T11:00:00Z");
  CHECK(released["events"][0]["type"] == "lease_released");
  CHECK(l.Checkout("dave", "2026-01-05T11:30:00Z")["status"] == "accepted");
  // Bad usage names the missing option.
  const Run missing = Tool(LEDGERCTL, "--data " + l.data + " checkout --tenant acme --user bob");
  CHECK(missing.exit_code == 2);

  CHECK(LeaseUsers(l.Replay("state --tenant acme --at 2026-01-05T09:30:00Z")) ==
        std::vector<std::string>{"bob"});
  CHECK(LeaseUsers(l.Replay("state --tenant acme --at 2026-01-05T10:45:00Z")) ==
        std::vector<std::string>{"bob", "carol"});
  CHECK(LeaseUsers(l.Replay("state --tenant acme --at 2026-01-05T11:15:00Z")) ==
        std::vector<std::string>{"carol"});
  CHECK(LeaseUsers(l.Replay("state --tenant acme --at 2026-01-05T11:45:00Z")) ==
        std::vector<std::string>{"carol", "dave"});
  // The table output lists them too.
  const Run table = Tool(LEDGER_REPLAY, "--data " + l.data + " state --tenant acme");
  CHECK(table.text().find("leases in use") != std::string::npos);
}

TEST_CASE("usage: peak and average concurrent use per day, days at capacity", "[replay][leases]") {
  LeaseLedger l;
  // Jan 6: bob 06:00–18:00 (12 h), carol 12:00–18:00 (6 h), both renewed within the hour
  // and checked in: peak 2 = capacity, average (12 + 6) / 24 = 0.75.
  // Jan 7: dave from 00:00, renewed until 11:00, so expiring at 12:00 — written only by
  // the next command (Jan 8 09:00), but effective at 12:00: peak 1, average 0.5.
  // Jan 8: peak 0.
  std::string bob, carol, dave;
  auto beat = [&](const std::string& user, const std::string& lease, const std::string& at) {
    l.Ctl("heartbeat --tenant acme --actor " + user + " --lease " + lease + " --at " + at);
  };
  bob = l.Checkout("bob", "2026-01-06T06:00:00Z")["lease"];
  for (int h = 6; h < 18; ++h) {
    const std::string hour = fmt::format("2026-01-06T{:02}:", h);
    if (h == 12) carol = l.Checkout("carol", hour + "00:00Z")["lease"];
    beat("bob", bob, hour + "15:00Z");
    if (h >= 12) beat("carol", carol, hour + "20:00Z");
    beat("bob", bob, hour + "45:00Z");
    if (h >= 12) beat("carol", carol, hour + "50:00Z");
  }
  l.Ctl("checkin --tenant acme --actor bob --lease " + bob + " --at 2026-01-06T18:00:00Z");
  l.Ctl("checkin --tenant acme --actor carol --lease " + carol + " --at 2026-01-06T18:00:00Z");
  dave = l.Checkout("dave", "2026-01-07T00:00:00Z")["lease"];
  for (int h = 0; h < 11; ++h) {
    beat("dave", dave, fmt::format("2026-01-07T{:02}:15:00Z", h));
    beat("dave", dave, fmt::format("2026-01-07T{:02}:45:00Z", h));
  }
  beat("dave", dave, "2026-01-07T11:00:00Z");
  Write(l.dir / "tick.jsonl",
        R"({"type":"tick","tenant":"acme","actor":"system","at":"2026-01-08T09:00:00Z"})"
        "\n");
  REQUIRE(Tool(LEDGERCTL, "--data " + l.data + " submit " + (l.dir / "tick.jsonl")).exit_code == 0);

  const json u = l.Replay(
      "usage --tenant acme --subscription F1 --from 2026-01-06T00:00:00Z --to "
      "2026-01-09T00:00:00Z");
  INFO(u.dump());
  REQUIRE(u["days"].size() == 3);
  CHECK(u["days"][0]["date"] == "2026-01-06");
  CHECK(u["days"][0]["peak"] == 2);
  CHECK(u["days"][0]["average"] == 0.75);
  CHECK(u["days"][0]["seats"] == 2);
  CHECK(u["days"][0]["at_capacity"] == true);
  CHECK(u["days"][1]["peak"] == 1);
  CHECK(u["days"][1]["average"] == 0.5);  // dave until the expiry at 12:00, not 09:00 Jan 8
  CHECK(u["days"][1]["at_capacity"] == false);
  CHECK(u["days"][2]["peak"] == 0);
  CHECK(u["peak"] == 2);
  CHECK(u["days_at_capacity"] == 1);
  CHECK(u["average"] == 0.42);  // (18 + 12) / 72 hours

  const Run table = Tool(LEDGER_REPLAY, "--data " + l.data +
                                            " usage --tenant acme --subscription F1 --from "
                                            "2026-01-06T00:00:00Z --to 2026-01-09T00:00:00Z");
  CHECK(table.exit_code == 0);
  CHECK(table.text().find("1 day(s) at capacity") != std::string::npos);
  // Unknown subscription and bad ranges.
  CHECK(Tool(LEDGER_REPLAY, "--data " + l.data +
                                " usage --tenant acme --subscription NOPE --from "
                                "2026-01-06T00:00:00Z --to 2026-01-09T00:00:00Z")
            .exit_code == 2);
  CHECK(Tool(LEDGER_REPLAY, "--data " + l.data +
                                " usage --tenant acme --subscription F1 --from "
                                "2026-01-09T00:00:00Z --to 2026-01-06T00:00:00Z")
            .exit_code == 2);
}

TEST_CASE("usage of a named subscription: users holding a seat per day, backdated included",
          "[replay][usage]") {
  LeaseLedger l;
  // N1, 2 named seats: bob directly from Jan 10 12:00, carol through group g from Jan 12,
  // bob revoked Jan 15 06:00, and given back by a correction recorded on Jan 20 but
  // effective Jan 17 12:00.
  Write(
      l.dir / "named.jsonl",
      R"({"type":"purchase_subscription","tenant":"acme","actor":"olga","id":"n1","subscription":"N1","product":"pcon","edition":"std","seats":2,"period_start":"2026-01-01T00:00:00Z","period_end":"2027-01-01T00:00:00Z","at":"2026-01-10T00:00:00Z"}
{"type":"assign_seat","tenant":"acme","actor":"olga","id":"n2","subscription":"N1","user":"bob","at":"2026-01-10T12:00:00Z"}
{"type":"create_group","tenant":"acme","actor":"olga","id":"n3","group":"g","name":"G","at":"2026-01-12T00:00:00Z"}
{"type":"add_group_member","tenant":"acme","actor":"olga","id":"n4","group":"g","user":"carol"}
{"type":"assign_group","tenant":"acme","actor":"olga","id":"n5","subscription":"N1","group":"g"}
{"type":"revoke_seat","tenant":"acme","actor":"olga","id":"n6","subscription":"N1","user":"bob","at":"2026-01-15T06:00:00Z"}
{"type":"assign_seat","tenant":"acme","actor":"olga","id":"n7","subscription":"N1","user":"bob","at":"2026-01-20T00:00:00Z","effective_at":"2026-01-17T12:00:00Z","reason":"ticket 1: the revocation was a mistake"}
)");
  const Run submitted =
      Tool(LEDGERCTL, "--data " + l.data + " --clock manual submit " + (l.dir / "named.jsonl"));
  INFO(submitted.text());
  REQUIRE(submitted.exit_code == 0);
  REQUIRE(submitted.text().find("rejected") == std::string::npos);
  const json r = l.Replay(
      "usage --tenant acme --subscription N1 --from 2026-01-09T00:00:00Z --to "
      "2026-01-21T00:00:00Z");
  REQUIRE(r["days"].size() == 12);
  auto day = [&](int i) { return r["days"][static_cast<size_t>(i)]; };
  INFO(r.dump());
  CHECK(day(0)["date"] == "2026-01-09");
  CHECK(day(0)["peak"] == 0);
  CHECK(day(1)["peak"] == 1);  // Jan 10: bob from noon
  CHECK(day(1)["average"] == 0.5);
  CHECK(day(2)["average"] == 1.0);
  CHECK(day(4)["peak"] == 2);  // Jan 13: bob and carol, every seat taken
  CHECK(day(4)["at_capacity"] == true);
  CHECK(day(6)["average"] == 1.25);  // Jan 15: bob until 06:00
  CHECK(day(7)["peak"] == 1);        // Jan 16
  CHECK(day(7)["at_capacity"] == false);
  CHECK(day(8)["average"] == 1.5);  // Jan 17: the correction counts from noon
  CHECK(day(10)["peak"] == 2);      // Jan 19
  CHECK(r["peak"] == 2);
}

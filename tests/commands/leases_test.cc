// Concurrent seats (R19): checkout, heartbeat, checkin and expiry, decided by the real
// service on a real store (in-memory Env, manual clock), with the events, codes, the
// access check (fold and views) and the lease table a restart relies on.
#include <catch2/catch.hpp>

#include "commands/lease_table.h"
#include "support/ledger_fixture.h"

using json = nlohmann::json;
using ledger::testing::LedgerFixture;

namespace {

// acme with members bob, carol, dave (active), ivan (invited), eve (active, no seat);
// F1: 2 concurrent seats of pcon.planner, lease TTL 10 minutes, assigned to bob, carol,
// dave and ivan; N1: a named subscription with bob. Ledger time 2026-01-01.
void World(LedgerFixture& l) {
  l.StandardSetup();
  for (const char* u : {"bob", "carol", "dave", "eve"}) l.AddMember(u);
  l.Ok({{"type", "invite_member"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"user", "ivan"},
        {"email", "ivan@acme.test"}});
  l.Buy("F1", 2, {{"seat_model", "concurrent"}, {"lease_ttl_seconds", 600}});
  l.Buy("N1", 5);
  for (const char* u : {"bob", "carol", "dave", "ivan"}) {
    l.Ok({{"type", "assign_seat"},
          {"tenant", "acme"},
          {"actor", "olga"},
          {"subscription", "F1"},
          {"user", u}});
  }
  l.Ok({{"type", "assign_seat"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"subscription", "N1"},
        {"user", "bob"}});
}

json Checkout(const std::string& user, const std::string& device, const std::string& at,
              const std::string& actor = "") {
  return {{"type", "checkout"},
          {"tenant", "acme"},
          {"actor", actor.empty() ? user : actor},
          {"subscription", "F1"},
          {"user", user},
          {"device", device},
          {"at", at}};
}

json OnLease(const std::string& type, const std::string& lease, const std::string& actor,
             const std::string& at) {
  return {{"type", type}, {"tenant", "acme"}, {"actor", actor}, {"lease", lease}, {"at", at}};
}

json Tick(const std::string& at) {
  return {{"type", "tick"}, {"tenant", "acme"}, {"actor", "system"}, {"at", at}};
}

json Result(LedgerFixture& l, json command) {
  const std::string text = command.dump();
  auto r = l.Run(std::move(command));
  INFO(text << " → " << r.ToJson());
  return json::parse(r.ToJson());
}

size_t LeaseTableSize(LedgerFixture& l) {
  size_t n = 0;
  REQUIRE(commands::LeaseTable(l.store())
              .ForEach("acme",
                       [&n](std::string_view, std::string_view, ledger::Micros) {
                         ++n;
                         return true;
                       })
              .ok());
  return n;
}

}  // namespace

TEST_CASE(
    "checkout grants leases until every seat is in use, the same device gets its own "
    "lease back, and checkin frees the seat",
    "[commands][leases]") {
  LedgerFixture l;
  World(l);
  json bob = Result(l, Checkout("bob", "laptop", "2026-01-02T09:00:00Z"));
  REQUIRE(bob["status"] == "accepted");
  REQUIRE(bob["events"].size() == 1);
  CHECK(bob["events"][0]["type"] == "lease_granted");
  const std::string lease = bob["lease"];
  CHECK(lease == "lease-" + std::to_string(bob["events"][0]["version"].get<uint64_t>()));
  CHECK(bob["subscription"] == "F1");
  CHECK(bob["expires_at"] == "2026-01-02T09:10:00Z");

  // The same checkout retried (same id, e.g. after a lost answer): duplicate, same lease.
  json retried = Checkout("bob", "laptop", "2026-01-02T09:00:00Z");
  retried["id"] = bob["id"];
  json dup = Result(l, retried);
  CHECK(dup["status"] == "duplicate");
  CHECK(dup["lease"] == lease);

  // Again from the same device: the same lease, renewed, and no new event.
  json again = Result(l, Checkout("bob", "laptop", "2026-01-02T09:01:00Z"));
  CHECK(again["status"] == "accepted");
  CHECK(again["events"].empty());
  CHECK(again["lease"] == lease);
  CHECK(again["expires_at"] == "2026-01-02T09:11:00Z");

  CHECK(l.Ok(Checkout("carol", "pc", "2026-01-02T09:02:00Z")) ==
        std::vector<std::string>{"lease_granted"});
  CHECK(l.Rejected(Checkout("dave", "pc", "2026-01-02T09:03:00Z")) == "no_free_seat");
  CHECK(l.Check("acme", "dave", "pcon.planner").reason == "no_free_seat");
  CHECK(l.Check("acme", "bob", "pcon.planner").allowed);
  CHECK(LeaseTableSize(l) == 2);

  CHECK(l.Ok(OnLease("checkin", lease, "bob", "2026-01-02T09:04:00Z")) ==
        std::vector<std::string>{"lease_released"});
  CHECK(LeaseTableSize(l) == 1);
  CHECK(l.Check("acme", "dave", "pcon.planner").allowed);  // a seat is free again
  CHECK(l.Ok(Checkout("dave", "pc", "2026-01-02T09:05:00Z")) ==
        std::vector<std::string>{"lease_granted"});
  const auto state = l.State("acme");
  const auto& leases = state.subscriptions.at("F1").leases;
  REQUIRE(leases.size() == 2);
  std::set<std::string> users;
  for (const auto& [id, held] : leases) users.insert(held.user);
  CHECK(users == std::set<std::string>{"carol", "dave"});
  CHECK(l.ViewsMismatch("acme") == "");
}

TEST_CASE("who may check out, heartbeat and check in", "[commands][leases]") {
  LedgerFixture l;
  World(l);
  const std::string t = "2026-01-02T09:00:00Z";
  json named = Checkout("bob", "laptop", t);
  named["subscription"] = "N1";
  CHECK(l.Rejected(named) == "bad_request");
  CHECK(l.Rejected(Checkout("eve", "pc", t)) == "no_seat");  // not assigned
  CHECK(l.Rejected(Checkout("ivan", "pc", t, "olga")) == "invitation_pending");
  CHECK(l.Rejected(Checkout("bob", "pc", t, "carol")) == "forbidden");  // for someone else
  json missing = Checkout("bob", "pc", t);
  missing.erase("device");
  CHECK(l.Rejected(missing) == "bad_request");
  json granted = Result(l, Checkout("bob", "pc", t, "olga"));  // the owner may
  REQUIRE(granted["status"] == "accepted");
  const std::string lease = granted["lease"];
  CHECK(l.Rejected(OnLease("heartbeat", lease, "carol", t)) == "forbidden");
  CHECK(l.Rejected(OnLease("checkin", lease, "carol", t)) == "forbidden");
  CHECK(l.Rejected(OnLease("heartbeat", "lease-999", "bob", t)) == "not_found");
  // Losing the seat: the lease can no longer be renewed (it ends at its expiry).
  l.Ok({{"type", "revoke_seat"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"subscription", "F1"},
        {"user", "bob"},
        {"at", "2026-01-02T09:01:00Z"}});
  CHECK(l.Rejected(OnLease("heartbeat", lease, "bob", "2026-01-02T09:02:00Z")) == "no_seat");
  CHECK(l.Ok(OnLease("checkin", lease, "bob", "2026-01-02T09:03:00Z")) ==
        std::vector<std::string>{"lease_released"});
  CHECK(l.Rejected(OnLease("checkin", lease, "bob", "2026-01-02T09:04:00Z")) == "not_found");
}

TEST_CASE("a lease not renewed expires at its TTL, effective when it fell due",
          "[commands][leases]") {
  LedgerFixture l;
  World(l);
  const std::string lease = Result(l, Checkout("bob", "laptop", "2026-01-02T09:00:00Z"))["lease"];
  json beat = Result(l, OnLease("heartbeat", lease, "bob", "2026-01-02T09:05:00Z"));
  CHECK(beat["status"] == "accepted");
  CHECK(beat["events"].empty());
  CHECK(beat["expires_at"] == "2026-01-02T09:15:00Z");
  // Past the granted expiry (09:10) but within the renewed one: still held.
  CHECK(l.Ok(Tick("2026-01-02T09:14:00Z")).empty());
  CHECK(l.State("acme").subscriptions.at("F1").leases.count(lease) == 1);
  CHECK(l.Ok(Tick("2026-01-02T09:16:00Z")) == std::vector<std::string>{"lease_expired"});
  CHECK(l.State("acme").subscriptions.at("F1").leases.empty());
  CHECK(LeaseTableSize(l) == 0);
  // The expiry is effective at 09:15 (recorded at 09:16): as of 09:14:59 bob held it.
  auto c = l.store().ReadStream("acme");
  std::optional<ledger::Micros> effective;
  for (; c->Valid(); c->Next()) {
    if (std::string(c->event().type_name()) == "lease_expired") {
      effective = c->event().event().getEffectiveAt();
    }
  }
  REQUIRE(effective);
  CHECK(ledger::FormatRfc3339(*effective) == "2026-01-02T09:15:00Z");
  CHECK(l.State("acme", ledger::ParseRfc3339("2026-01-02T09:14:59Z"))
            .subscriptions.at("F1")
            .leases.count(lease) == 1);
  CHECK(l.Rejected(OnLease("heartbeat", lease, "bob", "2026-01-02T09:17:00Z")) == "not_found");

  // An expiry also comes due before any later command, not only on tick.
  const std::string carol = Result(l, Checkout("carol", "pc", "2026-01-02T10:00:00Z"))["lease"];
  auto r = l.Run(Checkout("dave", "pc", "2026-01-02T10:30:00Z"));
  REQUIRE(r.status == "accepted");
  CHECK(l.State("acme").subscriptions.at("F1").leases.count(carol) == 0);
  CHECK(l.StreamTypes("acme").back() == "lease_granted");
  CHECK(l.StreamTypes("acme")[l.StreamTypes("acme").size() - 2] == "lease_expired");
}

TEST_CASE("a restart keeps every lease and its latest heartbeat: none lost or expired early",
          "[commands][leases]") {
  LedgerFixture l;
  World(l);
  const std::string lease = Result(l, Checkout("bob", "laptop", "2026-01-02T09:00:00Z"))["lease"];
  CHECK(Result(l, OnLease("heartbeat", lease, "bob", "2026-01-02T09:08:00Z"))["expires_at"] ==
        "2026-01-02T09:18:00Z");
  l.Close();
  l.Open();
  // After the restart the granted expiry (09:10) has passed, the renewed one (09:18) not.
  CHECK(l.Ok(Tick("2026-01-02T09:12:00Z")).empty());
  CHECK(l.State("acme").subscriptions.at("F1").leases.count(lease) == 1);
  CHECK(l.service().TenantsWithLeasesDue(*ledger::ParseRfc3339("2026-01-02T09:17:00Z")).empty());
  CHECK(l.service().TenantsWithLeasesDue(*ledger::ParseRfc3339("2026-01-02T09:18:00Z")) ==
        std::vector<std::string>{"acme"});
  CHECK(l.Ok(Tick("2026-01-02T09:19:00Z")) == std::vector<std::string>{"lease_expired"});
  CHECK(l.service().TenantsWithLeasesDue(*ledger::ParseRfc3339("2027-01-01T00:00:00Z")).empty());
}

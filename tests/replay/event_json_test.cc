// Events as auditors read them: the JSON of EventJson/PayloadJson (exact envelope and
// payload for several event types, every type of a realistic story) and the one-line
// summaries of Summary.
#include "replay/event_json.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "replay/summary.h"
#include "support/ledger_fixture.h"

using json = nlohmann::json;
using ledger::testing::LedgerFixture;

namespace {

// Lowercase hex, written independently of the code under test.
std::string Hex(capnp::Data::Reader data) {
  std::string out;
  for (uint8_t b : data) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", b);
    out += two;
  }
  return out;
}

// EventJson of every event of `tenant`, in stream order.
std::vector<json> StreamJson(LedgerFixture& l, const std::string& tenant) {
  std::vector<json> out;
  for (auto c = l.store().ReadStream(tenant); c->Valid(); c->Next()) {
    out.push_back(replay::EventJson(c->event().event()));
  }
  return out;
}

// Summary of every event of `tenant`, in stream order.
std::vector<std::string> StreamSummaries(LedgerFixture& l, const std::string& tenant) {
  std::vector<std::string> out;
  for (auto c = l.store().ReadStream(tenant); c->Valid(); c->Next()) {
    out.push_back(replay::Summary(c->event().event()));
  }
  return out;
}

// The last event of `tenant` as JSON, with its own hashes (hex) for comparison.
json LastEvent(LedgerFixture& l, const std::string& tenant, std::string* prev_hash,
               std::string* hash) {
  auto c = l.store().ReadStream(tenant, l.State(tenant).version);
  REQUIRE(c->Valid());
  const auto e = c->event().event();
  *prev_hash = Hex(e.getPrevHash());
  *hash = Hex(e.getHash());
  return replay::EventJson(e);
}

json Cmd(const std::string& type, const std::string& actor, json fields) {
  fields["type"] = type;
  fields["tenant"] = "acme";
  fields["actor"] = actor;
  return fields;
}

json Sub(const std::string& type, const std::string& subscription, json fields = json::object()) {
  fields["subscription"] = subscription;
  return Cmd(type, "olga", std::move(fields));
}

json Purchase(const std::string& subscription, int seats, json extra = json::object()) {
  json c = Sub("purchase_subscription", subscription,
               {{"product", "pcon.planner"},
                {"edition", "pro"},
                {"seats", seats},
                {"period_start", "2026-01-01T00:00:00Z"},
                {"period_end", "2027-01-01T00:00:00Z"}});
  for (auto& [k, v] : extra.items()) c[k] = v;
  return c;
}

// A year of acme (pcon.planner, owner olga) that produces every event type the commands
// can produce: members and roles, groups, subscriptions with resizes, edition changes,
// renewal changes, trials, a purchase order, a backdated correction, a member removal
// with its cascade, and the time effects of the anniversary.
void Story(LedgerFixture& l) {
  l.StandardSetup();  // 2026-01-01: product_defined (catalog), tenant_created
  l.Ok(Cmd("invite_member", "olga",
           {{"user", "bob"}, {"email", "bob@acme.test"}, {"at", "2026-01-05T09:00:00Z"}}));
  l.Ok(Cmd("accept_invitation", "bob", json::object()));
  l.Ok(Cmd("invite_member", "olga",
           {{"user", "carol"},
            {"email", "carol@acme.test"},
            {"role", "user_manager"},
            {"name", "Carol Smith"}}));
  l.Ok(Cmd("resend_invitation", "olga", {{"user", "carol"}}));
  l.Ok(Cmd("accept_invitation", "carol", json::object()));
  l.Ok(Cmd("change_role", "olga", {{"user", "carol"}, {"role", "admin"}}));
  l.Ok(Cmd("create_group", "olga", {{"group", "pro"}, {"name", "pCon.planner PRO"}}));
  l.Ok(Cmd("rename_group", "olga", {{"group", "pro"}, {"name", "Planner PRO"}}));
  l.Ok(Cmd("add_group_member", "olga", {{"group", "pro"}, {"user", "carol"}}));
  l.Ok(Purchase("L10427", 2, {{"overage", "lock_all"}, {"max_groups", 1}}));
  l.Ok(Sub("assign_seat", "L10427", {{"user", "bob"}}));
  l.Ok(Sub("assign_group", "L10427", {{"group", "pro"}}));
  l.Ok(Sub("set_purchase_order", "L10427", {{"purchase_order", "PO-77"}}));
  l.Ok(Sub("resize", "L10427", {{"seats", 5}}));
  l.Ok(Sub("resize", "L10427", {{"seats", 3}}));
  l.Ok(Sub("cancel_scheduled_change", "L10427"));
  l.Ok(Sub("resize", "L10427", {{"seats", 4}}));
  l.Ok(Sub("change_edition", "L10427", {{"edition", "premium"}}));
  l.Ok(Sub("change_edition", "L10427", {{"edition", "standard"}}));
  l.Ok(Sub("cancel_renewal", "L10427"));
  l.Ok(Sub("resume_renewal", "L10427"));
  l.Ok(Purchase("T-1", 1, {{"trial_days", 30}}));
  l.Ok(Sub("convert_trial", "T-1", {{"edition", "premium"}, {"seats", 2}}));
  l.Ok(Sub("assign_seat", "T-1", {{"user", "bob"}}));
  l.Ok(Purchase("T-2", 1, {{"trial_days", 30}, {"seat_model", "concurrent"}}));
  l.Ok(Purchase("N-1", 3, {{"auto_renew", false}}));
  // A month later (the T-2 trial has lapsed on Jan 31): bob's L10427 seat is corrected
  // back to Jan 10, when he stopped using it.
  l.Ok(Sub("revoke_seat", "L10427",
           {{"user", "bob"},
            {"effective_at", "2026-01-10T00:00:00Z"},
            {"reason", "seat was never used"},
            {"at", "2026-02-01T09:00:00Z"}}));
  l.Ok(Cmd("delete_group", "olga", {{"group", "pro"}}));  // unassigns it and empties it first
  l.Ok(Cmd("transfer_ownership", "olga", {{"user", "carol"}}));
  l.Ok(Cmd("remove_member", "carol", {{"user", "bob"}, {"reason", "left the company"}}));
  l.Ok(Cmd("tick", "system", {{"at", "2027-01-01T00:00:00Z"}}));
}

}  // namespace

TEST_CASE("a member_invited event as JSON has the whole envelope, its role and RFC 3339 times",
          "[event_json]") {
  LedgerFixture l;
  l.StandardSetup();
  l.Ok({{"type", "invite_member"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"id", "inv-bob"},
        {"user", "bob"},
        {"email", "bob@acme.test"},
        {"at", "2026-01-05T09:00:00.25Z"}});
  std::string prev_hash, hash;
  const json e = LastEvent(l, "acme", &prev_hash, &hash);
  const json expected = {
      {"position", 3},  // after product_defined and tenant_created
      {"tenant", "acme"},
      {"version", 2},
      {"type", "member_invited"},
      {"event_id", "acme/2"},
      {"command_id", "inv-bob"},
      {"caused_by", nullptr},
      {"actor", "olga"},
      {"recorded_at", "2026-01-05T09:00:00.25Z"},
      {"effective_at", "2026-01-05T09:00:00.25Z"},
      {"reason", nullptr},
      {"schema_version", 1},
      {"prev_hash", prev_hash},
      {"hash", hash},
      {"payload", {{"user", "bob"}, {"email", "bob@acme.test"}, {"role", "member"}, {"name", ""}}},
  };
  CHECK(e == expected);
  CHECK(e.size() == 15);
  // The hashes chain: 64 hex digits, prev_hash is the tenant_created event's hash.
  CHECK(hash.size() == 64);
  CHECK(hash.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(StreamJson(l, "acme").front()["hash"] == prev_hash);
  CHECK(StreamJson(l, "acme").front()["prev_hash"] == std::string(64, '0'));
}

TEST_CASE("enum fields print as snake_case text (user_manager, lock_all, deny_excess)",
          "[event_json]") {
  LedgerFixture l;
  l.StandardSetup();
  l.Ok(Cmd("invite_member", "olga",
           {{"user", "marc"}, {"email", "marc@acme.test"}, {"role", "user_manager"}}));
  l.Ok(Purchase("S-2", 1, {{"overage", "deny_excess"}, {"seat_model", "concurrent"}}));
  const auto events = StreamJson(l, "acme");
  REQUIRE(events.size() == 3);
  CHECK(events[1]["payload"]["role"] == "user_manager");
  CHECK(events[2]["payload"]["overage"] == "deny_excess");
  CHECK(events[2]["payload"]["seat_model"] == "concurrent");
  CHECK(events[0]["payload"] == json{{"owner", "olga"}, {"owner_email", "olga@acme.test"}});
}

TEST_CASE("a subscription_purchased payload has snake_case keys, period times and a null trial",
          "[event_json]") {
  LedgerFixture l;
  l.StandardSetup();
  l.Ok(Purchase("L10427", 2, {{"overage", "lock_all"}, {"max_groups", 1}}));
  l.Ok(Purchase("T-1", 1, {{"trial_days", 30}, {"add_on_of", "L10427"}}));
  const auto events = StreamJson(l, "acme");
  REQUIRE(events.size() == 3);
  CHECK(events[1]["payload"] == json{{"subscription", "L10427"},
                                     {"product", "pcon.planner"},
                                     {"edition", "pro"},
                                     {"seats", 2},
                                     {"seat_model", "named"},
                                     {"period_start", "2026-01-01T00:00:00Z"},
                                     {"period_end", "2027-01-01T00:00:00Z"},
                                     {"auto_renew", true},
                                     {"overage", "lock_all"},
                                     {"max_groups", 1},
                                     {"add_on_of", ""},
                                     {"trial_end", nullptr},
                                     {"lease_ttl_seconds", 0}});
  // A trial: its end is a time like the others.
  CHECK(events[2]["payload"]["trial_end"] == "2026-01-31T00:00:00Z");
  CHECK(events[2]["payload"]["add_on_of"] == "L10427");
  // The same payload as PayloadJson gives it on its own.
  auto c = l.store().ReadStream("acme", 2, 2);
  REQUIRE(c->Valid());
  CHECK(replay::PayloadJson(c->event().event()) == events[1]["payload"]);
}

TEST_CASE("a backdated correction shows effective_at before recorded_at and its reason",
          "[event_json]") {
  LedgerFixture l;
  l.StandardSetup();
  l.AddMember("mel");
  l.Buy("S1", 2);
  l.Ok(Sub("assign_seat", "S1", {{"user", "mel"}, {"at", "2026-01-02T00:00:00Z"}}));
  l.Ok(Sub("revoke_seat", "S1",
           {{"user", "mel"},
            {"effective_at", "2026-01-05T12:30:00Z"},
            {"reason", "seat was never used"},
            {"at", "2026-03-01T00:00:00Z"}}));
  const json e = StreamJson(l, "acme").back();
  CHECK(e["type"] == "seat_revoked");
  CHECK(e["effective_at"] == "2026-01-05T12:30:00Z");
  CHECK(e["recorded_at"] == "2026-03-01T00:00:00Z");
  CHECK(e["reason"] == "seat was never used");
  CHECK(e["caused_by"] == nullptr);
  CHECK(e["payload"] == json{{"subscription", "S1"}, {"user", "mel"}});
}

TEST_CASE("a cascade names the event that caused it in caused_by", "[event_json]") {
  LedgerFixture l;
  l.StandardSetup();
  l.AddMember("mel");
  l.Buy("S1", 2);
  l.Ok(Sub("assign_seat", "S1", {{"user", "mel"}}));
  REQUIRE(l.Ok(Cmd("remove_member", "olga", {{"user", "mel"}})) ==
          std::vector<std::string>{"seat_revoked", "member_removed"});
  const auto events = StreamJson(l, "acme");
  const json& revoked = events[events.size() - 2];
  const json& removed = events.back();
  CHECK(revoked["type"] == "seat_revoked");
  CHECK(revoked["caused_by"] == removed["position"]);
  CHECK(revoked["command_id"] == removed["command_id"]);
  CHECK(removed["caused_by"] == nullptr);
}

TEST_CASE("every event type of a realistic story round-trips through its JSON type name",
          "[event_json]") {
  LedgerFixture l;
  Story(l);
  std::set<std::string> types;
  for (auto c = l.store().ReadLog(1); c->Valid(); c->Next()) {
    const auto event = c->event().event();
    const json e = replay::EventJson(event);
    INFO(e.dump());
    REQUIRE(e["type"].is_string());
    const std::string type = e["type"];
    types.insert(type);
    ledger::PayloadKind kind;
    REQUIRE(ledger::EventKindFromName(type, &kind));
    CHECK(kind == event.getPayload().which());
    CHECK(e["position"] == event.getPosition());
    CHECK(json::parse(e.dump()) == e);
    // The payload has one key per schema field of its variant, none empty-named.
    CHECK(e["payload"].is_object());
    CHECK_FALSE(e["payload"].empty());
    for (const auto& [key, value] : e["payload"].items()) {
      CHECK(key.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos);
    }
  }
  const std::set<std::string> expected = {
      "product_defined",
      "tenant_created",
      "member_invited",
      "invitation_accepted",
      "invitation_resent",
      "role_changed",
      "group_created",
      "group_renamed",
      "group_member_added",
      "subscription_purchased",
      "seat_assigned",
      "group_assigned",
      "purchase_order_set",
      "seats_increased",
      "seat_decrease_scheduled",
      "scheduled_change_cancelled",
      "edition_upgraded",
      "edition_downgrade_scheduled",
      "renewal_cancelled",
      "renewal_resumed",
      "trial_converted",
      "trial_expired",
      "seat_revoked",
      "group_unassigned",
      "group_member_removed",
      "group_deleted",
      "ownership_transferred",
      "member_removed",
      "seats_decreased",
      "edition_downgraded",
      "subscription_renewed",
      "subscription_expired",
  };
  CHECK(types == expected);
}

TEST_CASE("an unknown payload is {} as JSON and an unknown event in a summary",
          "[event_json][summary]") {
  capnp::MallocMessageBuilder message;
  auto e = message.initRoot<ledger::schema::Event>();
  e.setTenant("acme");
  e.setActor("zed");
  e.setRecordedAt(*ledger::ParseRfc3339("2026-01-05T09:00:00Z"));
  e.setEffectiveAt(e.getRecordedAt());
  e.getPayload().setUnknown();
  const auto reader = e.asReader();
  CHECK(replay::PayloadJson(reader) == json::object());
  const json j = replay::EventJson(reader);
  CHECK(j["type"] == "unknown");
  CHECK(j["payload"] == json::object());
  CHECK(j["prev_hash"] == "");
  CHECK(replay::Summary(reader) == "unknown event by zed");
}

TEST_CASE("summaries of events no command makes yet: leases, and a late effect without reason",
          "[summary]") {
  capnp::MallocMessageBuilder message;
  auto e = message.initRoot<ledger::schema::Event>();
  e.setActor("system");
  e.setRecordedAt(*ledger::ParseRfc3339("2026-01-05T09:00:00Z"));
  e.setEffectiveAt(e.getRecordedAt());
  auto granted = e.getPayload().initLeaseGranted();
  granted.setSubscription("C-1");
  granted.setUser("bob");
  granted.setDevice("laptop-7");
  granted.setLease("l-42");
  granted.setExpiresAt(*ledger::ParseRfc3339("2026-01-05T09:15:00Z"));
  CHECK(replay::Summary(e.asReader()) ==
        "lease l-42 of C-1 granted to bob on laptop-7 until 2026-01-05T09:15:00Z by system");
  CHECK(replay::PayloadJson(e.asReader())["expires_at"] == "2026-01-05T09:15:00Z");
  auto released = e.getPayload().initLeaseReleased();
  released.setSubscription("C-1");
  released.setLease("l-42");
  CHECK(replay::Summary(e.asReader()) == "lease l-42 of C-1 released by system");
  auto expired = e.getPayload().initLeaseExpired();
  expired.setSubscription("C-1");
  expired.setLease("l-42");
  e.setEffectiveAt(*ledger::ParseRfc3339("2026-01-05T09:15:00Z"));
  e.setRecordedAt(*ledger::ParseRfc3339("2026-01-05T09:20:00Z"));
  CHECK(replay::Summary(e.asReader()) ==
        "lease l-42 of C-1 expired by system (backdated to 2026-01-05T09:15:00Z)");
}

TEST_CASE("summaries say what each event did, who did it, and when corrections took effect",
          "[summary]") {
  LedgerFixture l;
  Story(l);
  const std::vector<std::string> expected = {
      "tenant created with owner olga (olga@acme.test) by system",
      "bob invited as member (bob@acme.test) by olga",
      "invitation of bob accepted by bob",
      "carol invited as user_manager (Carol Smith <carol@acme.test>) by olga",
      "invitation of carol resent by olga",
      "invitation of carol accepted by carol",
      "role of carol changed user_manager → admin by olga",
      "group pro created (\"pCon.planner PRO\") by olga",
      "group pro renamed to \"Planner PRO\" by olga",
      "carol added to group pro by olga",
      "subscription L10427 purchased (pcon.planner pro, 2 named seats, 2026-01-01 → "
      "2027-01-01) by olga",
      "seat of L10427 assigned to bob by olga",
      "group pro assigned to L10427 by olga",
      "purchase order of L10427 set to PO-77 by olga",
      "seats of L10427 increased 2 → 5 by olga",
      "seats of L10427 to decrease to 3 on 2027-01-01 by olga",
      "scheduled seat decrease of L10427 cancelled by olga",
      "seats of L10427 to decrease to 4 on 2027-01-01 by olga",
      "edition of L10427 upgraded pro → premium by olga",
      "edition of L10427 to downgrade to standard on 2027-01-01 by olga",
      "renewal of L10427 cancelled by olga",
      "renewal of L10427 resumed by olga",
      "subscription T-1 purchased (pcon.planner pro, 1 named seat, 2026-01-01 → 2027-01-01, "
      "trial until 2026-01-31) by olga",
      "trial of T-1 converted to premium with 2 seats by olga",
      "seat of T-1 assigned to bob by olga",
      "subscription T-2 purchased (pcon.planner pro, 1 concurrent seat, 2026-01-01 → "
      "2027-01-01, trial until 2026-01-31) by olga",
      "subscription N-1 purchased (pcon.planner pro, 3 named seats, 2026-01-01 → 2027-01-01, "
      "not renewing) by olga",
      "trial of T-2 expired by system (backdated to 2026-01-31T00:00:00Z: fell due at "
      "2026-01-31T00:00:00Z)",
      "seat of L10427 revoked from bob by olga (backdated to 2026-01-10T00:00:00Z: seat was "
      "never used)",
      "group pro unassigned from L10427 by olga — cascade: group pro deleted",
      "carol removed from group pro by olga — cascade: group pro deleted",
      "group pro deleted by olga",
      "ownership transferred olga → carol (olga is now admin) by olga",
      "seat of T-1 revoked from bob by carol — cascade: member bob removed",
      "member bob removed by carol — left the company",
      "seats of L10427 decreased 5 → 4 by system — fell due at 2027-01-01T00:00:00Z",
      "edition of L10427 downgraded premium → standard by system — fell due at "
      "2027-01-01T00:00:00Z",
      "subscription L10427 renewed until 2028-01-01 by system — fell due at "
      "2027-01-01T00:00:00Z",
      "subscription N-1 expired by system — fell due at 2027-01-01T00:00:00Z",
      "subscription T-1 renewed until 2028-01-01 by system — fell due at 2027-01-01T00:00:00Z",
  };
  const auto summaries = StreamSummaries(l, "acme");
  CHECK(summaries == expected);
  // The catalog event lives in its own stream.
  auto c = l.store().ReadLog(1, 1);
  REQUIRE(c->Valid());
  CHECK(replay::Summary(c->event().event()) ==
        "product pcon.planner defined with editions standard < pro < premium by system");
}

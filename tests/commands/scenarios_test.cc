// End-to-end stories from the admin guides the product came from (shared/seeds/): each
// runs JSON commands through the real store and CommandService with the manual clock and
// checks what an admin or a backend would see — the events appended, the rejection codes,
// the access decisions and the folded state.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "commands/evolve.h"
#include "support/ledger_fixture.h"

using json = nlohmann::json;
using ledger::testing::LedgerFixture;

namespace {

using Types = std::vector<std::string>;
using Users = std::set<std::string>;

// The JSON `check` prints (DESIGN 6.2) for an allowed user.
std::string Allowed(const std::string& subscription) {
  return R"({"allowed":true,"reason":null,"subscription":")" + subscription + R"("})";
}

// The JSON `check` prints for a denied user; `subscription` is the one that denies, if any.
std::string Denied(const std::string& reason, const std::string& subscription = "") {
  return R"({"allowed":false,"reason":")" + reason + R"(","subscription":)" +
         (subscription.empty() ? std::string("null") : "\"" + subscription + "\"") + "}";
}

// The R18 answer as JSON, at `at` or at the ledger's current time.
std::string Access(LedgerFixture& l, const std::string& tenant, const std::string& user,
                   const std::string& product, const std::string& at = "") {
  return l.Check(tenant, user, product, at).ToJson();
}

// The subscription's violations in the folded state.
Types Violations(LedgerFixture& l, const std::string& tenant, const std::string& subscription) {
  const auto state = l.State(tenant);
  return state.Violations(state.subscriptions.at(subscription));
}

// Distinct users holding a seat of the subscription (direct ∪ groups).
Users Holders(LedgerFixture& l, const std::string& tenant, const std::string& subscription) {
  const auto state = l.State(tenant);
  return state.AssignedUsers(state.subscriptions.at(subscription));
}

// The subscription status as `state --json` shows it, at `at`.
std::string Status(LedgerFixture& l, const std::string& tenant, const std::string& subscription,
                   const std::string& at) {
  return commands::StatusAt(l.State(tenant).subscriptions.at(subscription),
                            *ledger::ParseRfc3339(at));
}

// `inviter` invites `user` into `tenant` with `role`, and the user accepts.
void Join(LedgerFixture& l, const std::string& tenant, const std::string& inviter,
          const std::string& user, const std::string& role = "member") {
  REQUIRE(l.Ok({{"type", "invite_member"},
                {"tenant", tenant},
                {"actor", inviter},
                {"user", user},
                {"email", user + "@" + tenant + ".test"},
                {"role", role}}) == Types{"member_invited"});
  REQUIRE(l.Ok({{"type", "accept_invitation"}, {"tenant", tenant}, {"actor", user}}) ==
          Types{"invitation_accepted"});
}

// An assign_seat or revoke_seat command, at `at` when given.
json Seat(const std::string& type, const std::string& tenant, const std::string& actor,
          const std::string& subscription, const std::string& user, const std::string& at = "") {
  json c = {{"type", type},
            {"tenant", tenant},
            {"actor", actor},
            {"subscription", subscription},
            {"user", user}};
  if (!at.empty()) c["at"] = at;
  return c;
}

}  // namespace

// Seed 000 (pCon.login): the subscription is given to a user group; "one subscription = one
// user", and with more users in the group than seats (or more than one group) nobody can
// use pCon.planner PRO until the admin fixes it.
TEST_CASE(
    "pCon: a group with more users than seats locks the subscription for all its users "
    "until the extra user leaves",
    "[scenario][pcon]") {
  LedgerFixture l;
  l.StandardSetup();  // acme, owner olga, product pcon.planner, 2026-01-01
  for (const char* u : {"bruno", "chloe", "damien"}) l.AddMember(u);

  // Step 1: the group "pCon.planner PRO".
  CHECK(l.Ok({{"type", "create_group"},
              {"tenant", "acme"},
              {"actor", "olga"},
              {"group", "pro"},
              {"name", "pCon.planner PRO"},
              {"at", "2026-01-05T09:00:00Z"}}) == Types{"group_created"});
  // Step 2: tick the group for each user who needs the planner.
  for (const char* u : {"bruno", "chloe"}) {
    CHECK(l.Ok({{"type", "add_group_member"},
                {"tenant", "acme"},
                {"actor", "olga"},
                {"group", "pro"},
                {"user", u}}) == Types{"group_member_added"});
  }
  // Step 3: subscription L10427 (2 users, one group at most) given to the group.
  l.Buy("L10427", 2, {{"overage", "lock_all"}, {"max_groups", 1}});
  CHECK(l.Ok({{"type", "assign_group"},
              {"tenant", "acme"},
              {"actor", "olga"},
              {"subscription", "L10427"},
              {"group", "pro"},
              {"at", "2026-01-05T10:00:00Z"}}) == Types{"group_assigned"});
  CHECK(Holders(l, "acme", "L10427") == Users{"bruno", "chloe"});
  CHECK(Violations(l, "acme", "L10427").empty());
  CHECK(Access(l, "acme", "bruno", "pcon.planner") == Allowed("L10427"));
  CHECK(Access(l, "acme", "chloe", "pcon.planner") == Allowed("L10427"));
  CHECK(Access(l, "acme", "damien", "pcon.planner") == Denied("no_seat"));
  // The group already fills both seats: a direct seat for damien is refused.
  CHECK(l.Rejected(Seat("assign_seat", "acme", "olga", "L10427", "damien")) ==
        "seat_limit_reached");

  // A third user ticks the group: the red dot, and access is cut for everyone.
  CHECK(l.Ok({{"type", "add_group_member"},
              {"tenant", "acme"},
              {"actor", "olga"},
              {"group", "pro"},
              {"user", "damien"},
              {"at", "2026-02-01T09:00:00Z"}}) == Types{"group_member_added"});
  CHECK(Holders(l, "acme", "L10427") == Users{"bruno", "chloe", "damien"});
  CHECK(Violations(l, "acme", "L10427") == Types{"over_assigned"});
  for (const char* u : {"bruno", "chloe", "damien"}) {
    INFO(u);
    CHECK(Access(l, "acme", u, "pcon.planner") == Denied("subscription_locked", "L10427"));
  }

  // The admin takes damien out of the group: the two others work again.
  CHECK(l.Ok({{"type", "remove_group_member"},
              {"tenant", "acme"},
              {"actor", "olga"},
              {"group", "pro"},
              {"user", "damien"},
              {"at", "2026-02-03T09:00:00Z"}}) == Types{"group_member_removed"});
  CHECK(Violations(l, "acme", "L10427").empty());
  CHECK(Access(l, "acme", "bruno", "pcon.planner") == Allowed("L10427"));
  CHECK(Access(l, "acme", "chloe", "pcon.planner") == Allowed("L10427"));
  CHECK(Access(l, "acme", "damien", "pcon.planner") == Denied("no_seat"));
  // The ledger still answers for the past: locked on Feb 2, fine on Jan 20.
  CHECK(Access(l, "acme", "bruno", "pcon.planner", "2026-02-02T09:00:00Z") ==
        Denied("subscription_locked", "L10427"));
  CHECK(Access(l, "acme", "bruno", "pcon.planner", "2026-01-20T09:00:00Z") == Allowed("L10427"));

  // The other red dot: a second group on the subscription, even an empty one.
  CHECK(l.Ok({{"type", "create_group"},
              {"tenant", "acme"},
              {"actor", "olga"},
              {"group", "standard"},
              {"name", "Utilisateurs standards"},
              {"at", "2026-02-10T09:00:00Z"}}) == Types{"group_created"});
  CHECK(l.Ok({{"type", "assign_group"},
              {"tenant", "acme"},
              {"actor", "olga"},
              {"subscription", "L10427"},
              {"group", "standard"}}) == Types{"group_assigned"});
  CHECK(Violations(l, "acme", "L10427") == Types{"too_many_groups"});
  CHECK(Access(l, "acme", "bruno", "pcon.planner") == Denied("subscription_locked", "L10427"));
  CHECK(l.Ok({{"type", "unassign_group"},
              {"tenant", "acme"},
              {"actor", "olga"},
              {"subscription", "L10427"},
              {"group", "standard"},
              {"at", "2026-02-10T10:00:00Z"}}) == Types{"group_unassigned"});
  CHECK(Violations(l, "acme", "L10427").empty());
  CHECK(Access(l, "acme", "bruno", "pcon.planner") == Allowed("L10427"));
}

// Seed 003 (Hilti PROFIS Engineering): a 30-day premium trial that lapses in one company and
// is converted in another; then more seats at once, fewer only at renewal, an upgrade now
// and a downgrade at renewal, and finally "cancel the renewal": access until the day
// before the anniversary.
TEST_CASE(
    "PROFIS: trials lapse unless converted, seat and edition decreases wait for the "
    "renewal, a cancelled renewal ends access at period end",
    "[scenario][profis]") {
  LedgerFixture l;
  const std::string profis = "profis.engineering";
  l.Ok({{"type", "define_product"},
        {"actor", "system"},
        {"product", profis},
        {"editions", {"standard", "professional", "premium"}},
        {"at", "2026-01-02T00:00:00Z"}});
  l.Ok({{"type", "create_tenant"},
        {"tenant", "beton"},
        {"actor", "system"},
        {"owner", "bea"},
        {"owner_email", "bea@beton.test"}});
  l.Ok({{"type", "create_tenant"},
        {"tenant", "statik"},
        {"actor", "system"},
        {"owner", "olga"},
        {"owner_email", "olga@statik.test"}});
  for (const char* u : {"eric", "fatima", "gus", "hana"}) Join(l, "statik", "olga", u);
  auto trial = [&](const std::string& tenant, const std::string& actor, const std::string& sub,
                   int seats) {
    return json{{"type", "purchase_subscription"},
                {"tenant", tenant},
                {"actor", actor},
                {"subscription", sub},
                {"product", profis},
                {"edition", "premium"},
                {"seats", seats},
                {"period_start", "2026-01-02T00:00:00Z"},
                {"period_end", "2027-01-02T00:00:00Z"},
                {"trial_days", 30}};
  };
  CHECK(l.Ok(trial("beton", "bea", "PE-T1", 1)) == Types{"subscription_purchased"});
  CHECK(l.Ok(Seat("assign_seat", "beton", "bea", "PE-T1", "bea")) == Types{"seat_assigned"});
  CHECK(l.Ok(trial("statik", "olga", "PE-100", 2)) == Types{"subscription_purchased"});
  CHECK(l.Ok(Seat("assign_seat", "statik", "olga", "PE-100", "eric")) == Types{"seat_assigned"});
  CHECK(l.Ok(Seat("assign_seat", "statik", "olga", "PE-100", "fatima")) == Types{"seat_assigned"});

  // Both companies are trying the premium features.
  CHECK(Access(l, "beton", "bea", profis, "2026-01-15T12:00:00Z") == Allowed("PE-T1"));
  CHECK(Access(l, "statik", "eric", profis, "2026-01-15T12:00:00Z") == Allowed("PE-100"));
  CHECK(Status(l, "beton", "PE-T1", "2026-01-15T12:00:00Z") == "trial");

  // statik buys before the trial ends: Professional, 2 seats.
  CHECK(l.Ok({{"type", "convert_trial"},
              {"tenant", "statik"},
              {"actor", "olga"},
              {"subscription", "PE-100"},
              {"edition", "professional"},
              {"seats", 2},
              {"at", "2026-01-20T10:00:00Z"}}) == Types{"trial_converted"});
  {
    const auto pe = l.State("statik").subscriptions.at("PE-100");
    CHECK(pe.edition == "professional");
    CHECK(pe.seats == 2u);
    CHECK(pe.trial_end == 0);
  }
  CHECK(Status(l, "statik", "PE-100", "2026-01-20T10:00:00Z") == "active");

  // beton does nothing. The trial ends on Feb 1 (30 days): denied from then on, even before
  // any event says so.
  CHECK(Access(l, "beton", "bea", profis, "2026-01-31T23:59:59Z") == Allowed("PE-T1"));
  CHECK(Access(l, "beton", "bea", profis, "2026-02-01T00:00:00Z") ==
        Denied("subscription_expired", "PE-T1"));
  CHECK(l.Ok({{"type", "tick"},
              {"tenant", "beton"},
              {"actor", "system"},
              {"at", "2026-02-03T00:00:00Z"}}) == Types{"trial_expired"});
  CHECK(Access(l, "beton", "bea", profis) == Denied("subscription_expired", "PE-T1"));
  CHECK(Status(l, "beton", "PE-T1", "2026-02-03T00:00:00Z") == "expired");
  CHECK(l.Rejected({{"type", "convert_trial"},
                    {"tenant", "beton"},
                    {"actor", "bea"},
                    {"subscription", "PE-T1"},
                    {"at", "2026-02-04T00:00:00Z"}}) == "subscription_expired");
  // The converted trial does not lapse.
  CHECK(l.Ok({{"type", "tick"}, {"tenant", "statik"}, {"actor", "system"}}).empty());
  CHECK(Access(l, "statik", "eric", profis) == Allowed("PE-100"));

  // More seats: first the purchase order for the invoice, then the quantity, usable at once.
  CHECK(l.Ok({{"type", "set_purchase_order"},
              {"tenant", "statik"},
              {"actor", "olga"},
              {"subscription", "PE-100"},
              {"purchase_order", "BC-2026-117"},
              {"at", "2026-03-02T09:00:00Z"}}) == Types{"purchase_order_set"});
  CHECK(l.Rejected(Seat("assign_seat", "statik", "olga", "PE-100", "gus")) == "seat_limit_reached");
  CHECK(l.Ok({{"type", "resize"},
              {"tenant", "statik"},
              {"actor", "olga"},
              {"subscription", "PE-100"},
              {"seats", 4}}) == Types{"seats_increased"});
  CHECK(l.State("statik").subscriptions.at("PE-100").seats == 4u);
  CHECK(l.Ok(Seat("assign_seat", "statik", "olga", "PE-100", "gus")) == Types{"seat_assigned"});
  CHECK(l.Ok(Seat("assign_seat", "statik", "olga", "PE-100", "hana")) == Types{"seat_assigned"});
  CHECK(Access(l, "statik", "hana", profis) == Allowed("PE-100"));
  CHECK(l.State("statik").subscriptions.at("PE-100").purchase_order == "BC-2026-117");

  // Fewer seats only at the renewal date: nothing changes today.
  CHECK(l.Ok({{"type", "resize"},
              {"tenant", "statik"},
              {"actor", "olga"},
              {"subscription", "PE-100"},
              {"seats", 3},
              {"at", "2026-04-01T09:00:00Z"}}) == Types{"seat_decrease_scheduled"});
  {
    const auto pe = l.State("statik").subscriptions.at("PE-100");
    CHECK(pe.seats == 4u);
    REQUIRE(pe.pending_decrease);
    CHECK(pe.pending_decrease->seats == 3u);
    CHECK(ledger::FormatRfc3339(pe.pending_decrease->effective_at) == "2027-01-02T00:00:00Z");
  }
  CHECK(Access(l, "statik", "hana", profis) == Allowed("PE-100"));

  // Upgrade now, downgrade at renewal.
  CHECK(l.Ok({{"type", "change_edition"},
              {"tenant", "statik"},
              {"actor", "olga"},
              {"subscription", "PE-100"},
              {"edition", "premium"},
              {"at", "2026-05-01T09:00:00Z"}}) == Types{"edition_upgraded"});
  CHECK(l.State("statik").subscriptions.at("PE-100").edition == "premium");
  CHECK(l.Ok({{"type", "change_edition"},
              {"tenant", "statik"},
              {"actor", "olga"},
              {"subscription", "PE-100"},
              {"edition", "standard"},
              {"at", "2026-06-01T09:00:00Z"}}) == Types{"edition_downgrade_scheduled"});
  {
    const auto pe = l.State("statik").subscriptions.at("PE-100");
    CHECK(pe.edition == "premium");
    REQUIRE(pe.pending_downgrade);
    CHECK(pe.pending_downgrade->edition == "standard");
  }

  // The anniversary: from then on the subscription has 3 seats for 4 users (R8) — a check
  // applies the time rules at the time asked (R15), before the clock has written anything.
  CHECK(Access(l, "statik", "eric", profis, "2027-01-01T23:59:59Z") == Allowed("PE-100"));
  CHECK(Access(l, "statik", "eric", profis, "2027-01-02T12:00:00Z") ==
        Denied("subscription_locked", "PE-100"));
  // The scheduled changes apply as their own events, then the renewal.
  CHECK(l.Ok({{"type", "tick"},
              {"tenant", "statik"},
              {"actor", "system"},
              {"at", "2027-01-03T00:00:00Z"}}) ==
        Types{"seats_decreased", "edition_downgraded", "subscription_renewed"});
  {
    const auto pe = l.State("statik").subscriptions.at("PE-100");
    CHECK(pe.seats == 3u);
    CHECK(pe.edition == "standard");
    CHECK_FALSE(pe.pending_decrease);
    CHECK_FALSE(pe.pending_downgrade);
    CHECK(ledger::FormatRfc3339(pe.period_start) == "2027-01-02T00:00:00Z");
    CHECK(ledger::FormatRfc3339(pe.period_end) == "2028-01-02T00:00:00Z");
    // Nobody lost a seat silently: four users on three seats is a violation (R8).
    CHECK(pe.direct == Users{"eric", "fatima", "gus", "hana"});
  }
  CHECK(Violations(l, "statik", "PE-100") == Types{"over_assigned"});
  CHECK(Access(l, "statik", "eric", profis) == Denied("subscription_locked", "PE-100"));
  // Once written, the same question about the same moment gets the same answer.
  CHECK(Access(l, "statik", "eric", profis, "2027-01-02T12:00:00Z") ==
        Denied("subscription_locked", "PE-100"));
  CHECK(l.Ok(Seat("revoke_seat", "statik", "olga", "PE-100", "hana", "2027-01-04T09:00:00Z")) ==
        Types{"seat_revoked"});
  CHECK(Violations(l, "statik", "PE-100").empty());
  CHECK(Access(l, "statik", "eric", profis) == Allowed("PE-100"));

  // "Annuler le renouvellement": usable until the last day before the anniversary.
  CHECK(l.Ok({{"type", "cancel_renewal"},
              {"tenant", "statik"},
              {"actor", "olga"},
              {"subscription", "PE-100"},
              {"at", "2027-03-01T09:00:00Z"}}) == Types{"renewal_cancelled"});
  CHECK(Status(l, "statik", "PE-100", "2027-03-01T09:00:00Z") == "cancelled");
  CHECK(Access(l, "statik", "eric", profis, "2028-01-01T23:59:59Z") == Allowed("PE-100"));
  CHECK(Access(l, "statik", "eric", profis, "2028-01-02T00:00:00Z") ==
        Denied("subscription_expired", "PE-100"));
  CHECK(l.Ok({{"type", "tick"},
              {"tenant", "statik"},
              {"actor", "system"},
              {"at", "2028-01-03T00:00:00Z"}}) == Types{"subscription_expired"});
  CHECK(Access(l, "statik", "eric", profis) == Denied("subscription_expired", "PE-100"));
  CHECK(Status(l, "statik", "PE-100", "2028-01-03T00:00:00Z") == "expired");
  CHECK(l.Rejected(Seat("assign_seat", "statik", "olga", "PE-100", "hana")) ==
        "subscription_expired");
  // Assignments are kept for history.
  CHECK(l.State("statik").subscriptions.at("PE-100").direct == Users{"eric", "fatima", "gus"});
}

// Seed 004 (GoTo Admin): removing a user's GoTo Connect licence does not remove their
// Contact Center licence; it keeps costing money and is useless until removed too.
TEST_CASE(
    "GoTo: an add-on kept after its base licence is revoked is reported orphaned and "
    "grants nothing",
    "[scenario][goto]") {
  LedgerFixture l;
  l.Ok({{"type", "define_product"},
        {"actor", "system"},
        {"product", "goto.connect"},
        {"editions", {"standard", "premium"}},
        {"at", "2026-01-01T00:00:00Z"}});
  l.Ok({{"type", "define_product"},
        {"actor", "system"},
        {"product", "goto.contact_center"},
        {"editions", {"agent"}}});
  l.Ok({{"type", "create_tenant"},
        {"tenant", "callcenter"},
        {"actor", "system"},
        {"owner", "olga"},
        {"owner_email", "olga@callcenter.test"}});
  Join(l, "callcenter", "olga", "marc", "user_manager");  // "Gérer les utilisateurs"
  Join(l, "callcenter", "olga", "bob");
  Join(l, "callcenter", "olga", "carol");
  auto buy = [](const std::string& sub, const std::string& product, const std::string& edition,
                int seats) {
    return json{{"type", "purchase_subscription"},
                {"tenant", "callcenter"},
                {"actor", "olga"},
                {"subscription", sub},
                {"product", product},
                {"edition", edition},
                {"seats", seats},
                {"period_start", "2026-01-01T00:00:00Z"},
                {"period_end", "2027-01-01T00:00:00Z"}};
  };
  CHECK(l.Ok(buy("GC-PHONE", "goto.connect", "standard", 5)) == Types{"subscription_purchased"});
  json addon = buy("GC-CC", "goto.contact_center", "agent", 2);
  addon["add_on_of"] = "GC-NOPE";
  CHECK(l.Rejected(addon) == "not_found");
  addon["add_on_of"] = "GC-PHONE";
  CHECK(l.Ok(addon) == Types{"subscription_purchased"});

  // The user manager adds the products to bob and carol.
  CHECK(l.Ok(Seat("assign_seat", "callcenter", "marc", "GC-PHONE", "bob")) ==
        Types{"seat_assigned"});
  CHECK(l.Ok(Seat("assign_seat", "callcenter", "marc", "GC-CC", "bob")) == Types{"seat_assigned"});
  CHECK(l.Ok(Seat("assign_seat", "callcenter", "marc", "GC-PHONE", "carol")) ==
        Types{"seat_assigned"});
  CHECK(Access(l, "callcenter", "bob", "goto.contact_center") == Allowed("GC-CC"));
  CHECK(Access(l, "callcenter", "bob", "goto.connect") == Allowed("GC-PHONE"));
  CHECK(Violations(l, "callcenter", "GC-CC").empty());

  // "Supprimer les produits": only GoTo Connect is unticked for bob.
  CHECK(l.Ok(Seat("revoke_seat", "callcenter", "marc", "GC-PHONE", "bob",
                  "2026-02-01T09:00:00Z")) == Types{"seat_revoked"});
  CHECK(l.State("callcenter").subscriptions.at("GC-CC").direct == Users{"bob"});
  CHECK(Violations(l, "callcenter", "GC-CC") == Types{"orphaned_add_on"});
  CHECK(Access(l, "callcenter", "bob", "goto.contact_center") ==
        Denied("base_not_entitled", "GC-CC"));
  CHECK(Access(l, "callcenter", "bob", "goto.connect") == Denied("no_seat"));
  CHECK(Access(l, "callcenter", "carol", "goto.connect") == Allowed("GC-PHONE"));
  CHECK(Access(l, "callcenter", "bob", "goto.contact_center", "2026-01-15T09:00:00Z") ==
        Allowed("GC-CC"));

  // The user manager may not buy anything to fix it.
  CHECK(l.Rejected({{"type", "resize"},
                    {"tenant", "callcenter"},
                    {"actor", "marc"},
                    {"subscription", "GC-CC"},
                    {"seats", 1}}) == "forbidden");
  // The guide's advice: remove the add-on too.
  CHECK(l.Ok(Seat("revoke_seat", "callcenter", "marc", "GC-CC", "bob", "2026-02-01T10:00:00Z")) ==
        Types{"seat_revoked"});
  CHECK(Violations(l, "callcenter", "GC-CC").empty());
  CHECK(Access(l, "callcenter", "bob", "goto.contact_center") == Denied("no_seat"));

  // An add-on also stops when its base ends: carol's base will not renew.
  CHECK(l.Ok(Seat("assign_seat", "callcenter", "marc", "GC-CC", "carol")) ==
        Types{"seat_assigned"});
  CHECK(Access(l, "callcenter", "carol", "goto.contact_center") == Allowed("GC-CC"));
  CHECK(l.Ok({{"type", "cancel_renewal"},
              {"tenant", "callcenter"},
              {"actor", "olga"},
              {"subscription", "GC-PHONE"}}) == Types{"renewal_cancelled"});
  CHECK(Access(l, "callcenter", "carol", "goto.contact_center", "2026-12-31T23:59:59Z") ==
        Allowed("GC-CC"));
  CHECK(Access(l, "callcenter", "carol", "goto.contact_center", "2027-01-01T00:00:00Z") ==
        Denied("base_not_entitled", "GC-CC"));
}

// Seed 001 (Allplan / Bimplus): licences are given and taken back one by one with a
// checkbox per team member.
TEST_CASE("Allplan: seats are ticked and unticked one user at a time within the seat count",
          "[scenario][allplan]") {
  LedgerFixture l;
  l.Ok({{"type", "define_product"},
        {"actor", "system"},
        {"product", "allplan.online"},
        {"editions", {"basic"}},
        {"at", "2026-01-01T00:00:00Z"}});
  l.Ok({{"type", "create_tenant"},
        {"tenant", "bimteam"},
        {"actor", "system"},
        {"owner", "olga"},
        {"owner_email", "olga@bimteam.test"}});
  for (const char* u : {"bob", "carol", "erin", "frank"}) Join(l, "bimteam", "olga", u);
  // dave has been invited and has not accepted yet.
  CHECK(l.Ok({{"type", "invite_member"},
              {"tenant", "bimteam"},
              {"actor", "olga"},
              {"user", "dave"},
              {"email", "dave@bimteam.test"}}) == Types{"member_invited"});
  CHECK(l.Ok({{"type", "purchase_subscription"},
              {"tenant", "bimteam"},
              {"actor", "olga"},
              {"subscription", "AP-1"},
              {"product", "allplan.online"},
              {"edition", "basic"},
              {"seats", 2},
              {"period_start", "2026-01-01T00:00:00Z"},
              {"period_end", "2027-01-01T00:00:00Z"}}) == Types{"subscription_purchased"});
  auto tick_box = [&](const std::string& user, const std::string& at) {
    return l.Run(Seat("assign_seat", "bimteam", "olga", "AP-1", user, at));
  };

  // Tick bob and carol; the third box is refused.
  CHECK(l.Ok(Seat("assign_seat", "bimteam", "olga", "AP-1", "bob", "2026-01-10T09:00:00Z")) ==
        Types{"seat_assigned"});
  CHECK(l.Ok(Seat("assign_seat", "bimteam", "olga", "AP-1", "carol")) == Types{"seat_assigned"});
  CHECK(tick_box("dave", "2026-01-10T09:05:00Z").code == "seat_limit_reached");
  CHECK(l.Rejected(Seat("assign_seat", "bimteam", "olga", "AP-1", "bob")) == "already_assigned");
  CHECK(l.Rejected(Seat("assign_seat", "bimteam", "olga", "AP-1", "zoe")) == "not_member");
  // A plain team member has no checkboxes.
  CHECK(l.Rejected(Seat("assign_seat", "bimteam", "bob", "AP-1", "frank")) == "forbidden");
  CHECK(Access(l, "bimteam", "carol", "allplan.online") == Allowed("AP-1"));

  // Untick carol: her seat is free again, and unticking twice is refused.
  CHECK(l.Ok(Seat("revoke_seat", "bimteam", "olga", "AP-1", "carol", "2026-02-01T09:00:00Z")) ==
        Types{"seat_revoked"});
  CHECK(Access(l, "bimteam", "carol", "allplan.online") == Denied("no_seat"));
  CHECK(l.Rejected(Seat("revoke_seat", "bimteam", "olga", "AP-1", "carol")) == "not_assigned");
  CHECK(tick_box("dave", "2026-02-01T09:05:00Z").status == "accepted");
  CHECK(Holders(l, "bimteam", "AP-1") == Users{"bob", "dave"});
  // dave holds a seat but can only use it once he has accepted the invitation.
  CHECK(Access(l, "bimteam", "dave", "allplan.online") == Denied("invitation_pending"));
  CHECK(l.Ok({{"type", "accept_invitation"}, {"tenant", "bimteam"}, {"actor", "dave"}}) ==
        Types{"invitation_accepted"});
  CHECK(Access(l, "bimteam", "dave", "allplan.online") == Allowed("AP-1"));

  // One more seat, given to a group of modellers: its seats are not unticked one by one.
  CHECK(l.Ok({{"type", "resize"},
              {"tenant", "bimteam"},
              {"actor", "olga"},
              {"subscription", "AP-1"},
              {"seats", 3},
              {"at", "2026-03-01T09:00:00Z"}}) == Types{"seats_increased"});
  CHECK(l.Ok({{"type", "create_group"},
              {"tenant", "bimteam"},
              {"actor", "olga"},
              {"group", "modelers"},
              {"name", "Modeleurs"}}) == Types{"group_created"});
  CHECK(l.Ok({{"type", "add_group_member"},
              {"tenant", "bimteam"},
              {"actor", "olga"},
              {"group", "modelers"},
              {"user", "erin"}}) == Types{"group_member_added"});
  CHECK(l.Ok({{"type", "assign_group"},
              {"tenant", "bimteam"},
              {"actor", "olga"},
              {"subscription", "AP-1"},
              {"group", "modelers"}}) == Types{"group_assigned"});
  CHECK(Holders(l, "bimteam", "AP-1") == Users{"bob", "dave", "erin"});
  CHECK(Access(l, "bimteam", "erin", "allplan.online") == Allowed("AP-1"));
  CHECK(tick_box("frank", "2026-03-01T09:10:00Z").code == "seat_limit_reached");
  CHECK(l.Rejected(Seat("revoke_seat", "bimteam", "olga", "AP-1", "erin")) ==
        "seat_inherited_from_group");
  CHECK(Access(l, "bimteam", "erin", "allplan.online") == Allowed("AP-1"));
  CHECK(l.Ok({{"type", "remove_group_member"},
              {"tenant", "bimteam"},
              {"actor", "olga"},
              {"group", "modelers"},
              {"user", "erin"},
              {"at", "2026-03-02T09:00:00Z"}}) == Types{"group_member_removed"});
  CHECK(l.Rejected(Seat("revoke_seat", "bimteam", "olga", "AP-1", "erin")) == "not_assigned");
  CHECK(Access(l, "bimteam", "erin", "allplan.online") == Denied("no_seat"));
  CHECK(tick_box("frank", "2026-03-02T09:05:00Z").status == "accepted");
  CHECK(Access(l, "bimteam", "frank", "allplan.online") == Allowed("AP-1"));
}

// Seed 002 (AFAS Profit): an accountant works in the firm's own environment and in each
// client's environment, with different rights in each.
TEST_CASE(
    "AFAS: one person is a member of several tenants with a different role and "
    "independent access in each",
    "[scenario][afas]") {
  LedgerFixture l;
  l.Ok({{"type", "define_product"},
        {"actor", "system"},
        {"product", "afas.profit"},
        {"editions", {"basic", "plus"}},
        {"at", "2026-01-01T00:00:00Z"}});
  l.Ok({{"type", "create_tenant"},
        {"tenant", "kantoor"},
        {"actor", "system"},
        {"owner", "karel"},
        {"owner_email", "karel@kantoor.test"}});
  l.Ok({{"type", "create_tenant"},
        {"tenant", "klant-bakker"},
        {"actor", "system"},
        {"owner", "bert"},
        {"owner_email", "bert@bakker.test"}});
  // anna: admin at the accounting firm, plain member at the client.
  Join(l, "kantoor", "karel", "anna", "admin");
  Join(l, "klant-bakker", "bert", "anna", "member");
  CHECK(l.State("kantoor").members.at("anna").role == commands::Role::ADMIN);
  CHECK(l.State("klant-bakker").members.at("anna").role == commands::Role::MEMBER);

  auto invite = [](const std::string& tenant, const std::string& actor, const std::string& user,
                   const std::string& role = "member") {
    return json{{"type", "invite_member"},
                {"tenant", tenant},
                {"actor", actor},
                {"user", user},
                {"email", user + "@" + tenant + ".test"},
                {"role", role}};
  };
  auto buy = [](const std::string& tenant, const std::string& actor, const std::string& sub) {
    return json{{"type", "purchase_subscription"},
                {"tenant", tenant},
                {"actor", actor},
                {"subscription", sub},
                {"product", "afas.profit"},
                {"edition", "plus"},
                {"seats", 3},
                {"period_start", "2026-01-01T00:00:00Z"},
                {"period_end", "2027-01-01T00:00:00Z"}};
  };
  // What anna may do at the firm, she may not do at the client.
  CHECK(l.Ok(invite("kantoor", "anna", "piet")) == Types{"member_invited"});
  CHECK(l.Rejected(invite("klant-bakker", "anna", "jan")) == "forbidden");
  CHECK(l.Ok(buy("kantoor", "anna", "K-1")) == Types{"subscription_purchased"});
  CHECK(l.Rejected(buy("klant-bakker", "anna", "B-1")) == "forbidden");
  CHECK(l.Ok({{"type", "create_group"},
              {"tenant", "kantoor"},
              {"actor", "anna"},
              {"group", "boekhouders"},
              {"name", "Boekhouders"}}) == Types{"group_created"});
  CHECK(l.Rejected({{"type", "create_group"},
                    {"tenant", "klant-bakker"},
                    {"actor", "anna"},
                    {"group", "boekhouders"},
                    {"name", "Boekhouders"}}) == "forbidden");
  CHECK(l.Ok(Seat("assign_seat", "kantoor", "anna", "K-1", "anna")) == Types{"seat_assigned"});

  // The client buys its own licence but gives anna no seat: access is per tenant.
  CHECK(l.Ok(buy("klant-bakker", "bert", "B-1")) == Types{"subscription_purchased"});
  CHECK(Access(l, "kantoor", "anna", "afas.profit") == Allowed("K-1"));
  CHECK(Access(l, "klant-bakker", "anna", "afas.profit") == Denied("no_seat"));
  CHECK(Access(l, "klant-elders", "anna", "afas.profit") == Denied("unknown_tenant"));
  CHECK(Access(l, "klant-bakker", "piet", "afas.profit") == Denied("not_member"));

  // The client makes anna user manager: she may now invite plain members there, no more.
  CHECK(l.Ok({{"type", "change_role"},
              {"tenant", "klant-bakker"},
              {"actor", "bert"},
              {"user", "anna"},
              {"role", "user_manager"},
              {"at", "2026-02-01T09:00:00Z"}}) == Types{"role_changed"});
  CHECK(l.Ok(invite("klant-bakker", "anna", "jan")) == Types{"member_invited"});
  CHECK(l.Rejected(invite("klant-bakker", "anna", "kees", "admin")) == "forbidden");
  CHECK(l.Rejected(buy("klant-bakker", "anna", "B-2")) == "forbidden");
  CHECK(l.State("kantoor").members.at("anna").role == commands::Role::ADMIN);
  CHECK(l.State("klant-bakker").members.at("anna").role == commands::Role::USER_MANAGER);
  CHECK(l.Ok(Seat("assign_seat", "klant-bakker", "bert", "B-1", "anna")) == Types{"seat_assigned"});
  CHECK(Access(l, "klant-bakker", "anna", "afas.profit") == Allowed("B-1"));

  // anna leaves the firm: her firm seat goes with her, the client keeps her.
  CHECK(l.Ok({{"type", "remove_member"},
              {"tenant", "kantoor"},
              {"actor", "karel"},
              {"user", "anna"},
              {"at", "2026-03-01T09:00:00Z"}}) == Types{"seat_revoked", "member_removed"});
  CHECK(Access(l, "kantoor", "anna", "afas.profit") == Denied("member_removed"));
  CHECK(Access(l, "klant-bakker", "anna", "afas.profit") == Allowed("B-1"));
  CHECK(l.Rejected(invite("kantoor", "anna", "wim")) == "forbidden");
  CHECK(l.Ok(invite("klant-bakker", "anna", "wim")) == Types{"member_invited"});
  CHECK(l.State("kantoor").subscriptions.at("K-1").direct.empty());
  CHECK(l.State("klant-bakker").subscriptions.at("B-1").direct == Users{"anna"});
}

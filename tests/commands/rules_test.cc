// Table-driven tests of the rules R1–R17: for each command, accepted cases with the exact
// events appended and rejected cases with the exact code.
#include <catch2/catch.hpp>

#include "support/ledger_fixture.h"

using json = nlohmann::json;
using ledger::testing::LedgerFixture;

namespace {

// acme: olga (owner), alice (admin), uma (user_manager), mel and max (members), ivan
// (invited), rex (removed). Group "pro" = {mel}. Subscription S1: pro, 2 seats, named,
// lock_all, mel direct. S2: standard, 5 seats. Ledger time 2026-01-01.
void World(LedgerFixture& l) {
  l.StandardSetup();
  for (const char* u : {"mel", "max", "rex"}) l.AddMember(u);
  l.AddMember("alice", "admin");
  l.AddMember("uma", "user_manager");
  l.Ok({{"type", "invite_member"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"user", "ivan"},
        {"email", "ivan@acme.test"}});
  l.Ok({{"type", "remove_member"}, {"tenant", "acme"}, {"actor", "olga"}, {"user", "rex"}});
  l.Ok({{"type", "create_group"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"group", "pro"},
        {"name", "pCon.planner PRO"}});
  l.Ok({{"type", "add_group_member"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"group", "pro"},
        {"user", "mel"}});
  l.Buy("S1", 2);
  l.Buy("S2", 5, json::object(), "standard");
  l.Ok({{"type", "assign_seat"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"subscription", "S1"},
        {"user", "mel"}});
}

struct Case {
  const char* behaviour;
  json command;                     // tenant "acme" is added when absent
  std::vector<std::string> events;  // expected event types when accepted
  std::string code;                 // expected rejection code, or "" when accepted
};

void RunTable(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SECTION(c.behaviour) {
      LedgerFixture l;
      World(l);
      json cmd = c.command;
      if (!cmd.contains("tenant") && cmd["type"] != "define_product") cmd["tenant"] = "acme";
      if (c.code.empty()) {
        CHECK(l.Ok(cmd) == c.events);
      } else {
        CHECK(l.Rejected(cmd) == c.code);
      }
    }
  }
}

json Cmd(const char* type, const char* actor, json fields = json::object()) {
  fields["type"] = type;
  fields["actor"] = actor;
  return fields;
}

}  // namespace

TEST_CASE("R1 tenants: only system creates tenants, once", "[rules]") {
  RunTable({
      {"system creates a tenant",
       Cmd("create_tenant", "system",
           {{"tenant", "beta"}, {"owner", "bo"}, {"owner_email", "bo@b.test"}}),
       {"tenant_created"},
       ""},
      {"a member cannot create a tenant",
       Cmd("create_tenant", "olga",
           {{"tenant", "beta"}, {"owner", "bo"}, {"owner_email", "bo@b.test"}}),
       {},
       "forbidden"},
      {"an existing tenant cannot be created again",
       Cmd("create_tenant", "system", {{"owner", "x"}, {"owner_email", "x@a.test"}}),
       {},
       "already_exists"},
      {"commands on an unknown tenant",
       Cmd("invite_member", "system",
           {{"tenant", "nowhere"}, {"user", "u"}, {"email", "u@x.test"}}),
       {},
       "unknown_tenant"},
      {"only system defines products",
       Cmd("define_product", "olga", {{"product", "p2"}, {"editions", {"a"}}}),
       {},
       "forbidden"},
  });
}

TEST_CASE("R2 members: invite, resend, accept, remove", "[rules]") {
  RunTable({
      {"invite a new member",
       Cmd("invite_member", "olga", {{"user", "nia"}, {"email", "nia@acme.test"}}),
       {"member_invited"},
       ""},
      {"invite an active member",
       Cmd("invite_member", "olga", {{"user", "mel"}, {"email", "mel@acme.test"}}),
       {},
       "already_member"},
      {"invite an invited member",
       Cmd("invite_member", "olga", {{"user", "ivan"}, {"email", "ivan@acme.test"}}),
       {},
       "already_member"},
      {"a removed member may be invited again",
       Cmd("invite_member", "olga", {{"user", "rex"}, {"email", "rex@acme.test"}}),
       {"member_invited"},
       ""},
      {"nobody is invited as owner",
       Cmd("invite_member", "olga", {{"user", "nia"}, {"email", "n@acme.test"}, {"role", "owner"}}),
       {},
       "bad_request"},
      {"resend a pending invitation",
       Cmd("resend_invitation", "olga", {{"user", "ivan"}}),
       {"invitation_resent"},
       ""},
      {"resend to an active member",
       Cmd("resend_invitation", "olga", {{"user", "mel"}}),
       {},
       "not_invited"},
      {"the invited user accepts", Cmd("accept_invitation", "ivan"), {"invitation_accepted"}, ""},
      {"system accepts for a user",
       Cmd("accept_invitation", "system", {{"user", "ivan"}}),
       {"invitation_accepted"},
       ""},
      {"someone else cannot accept",
       Cmd("accept_invitation", "olga", {{"user", "ivan"}}),
       {},
       "forbidden"},
      {"accepting twice", Cmd("accept_invitation", "mel"), {}, "not_invited"},
      {"remove cascades seats and groups first, then the member",
       Cmd("remove_member", "olga", {{"user", "mel"}}),
       {"seat_revoked", "group_member_removed", "member_removed"},
       ""},
      {"the owner cannot be removed",
       Cmd("remove_member", "alice", {{"user", "olga"}}),
       {},
       "owner_cannot_be_removed"},
      {"removing a removed member",
       Cmd("remove_member", "olga", {{"user", "rex"}}),
       {},
       "not_member"},
      {"a removed member cannot act",
       Cmd("invite_member", "rex", {{"user", "nia"}, {"email", "n@acme.test"}}),
       {},
       "forbidden"},
      {"an invited member cannot act",
       Cmd("invite_member", "ivan", {{"user", "nia"}, {"email", "n@acme.test"}}),
       {},
       "forbidden"},
      {"a stranger cannot act",
       Cmd("invite_member", "zed", {{"user", "nia"}, {"email", "n@acme.test"}}),
       {},
       "forbidden"},
  });
}

TEST_CASE("R3 roles: the permission matrix", "[rules]") {
  RunTable({
      {"admin invites",
       Cmd("invite_member", "alice", {{"user", "nia"}, {"email", "n@acme.test"}}),
       {"member_invited"},
       ""},
      {"user_manager invites a member",
       Cmd("invite_member", "uma", {{"user", "nia"}, {"email", "n@acme.test"}}),
       {"member_invited"},
       ""},
      {"user_manager cannot invite an admin",
       Cmd("invite_member", "uma", {{"user", "nia"}, {"email", "n@acme.test"}, {"role", "admin"}}),
       {},
       "forbidden"},
      {"user_manager cannot remove an admin",
       Cmd("remove_member", "uma", {{"user", "alice"}}),
       {},
       "forbidden"},
      {"user_manager assigns a seat to a member",
       Cmd("assign_seat", "uma", {{"subscription", "S2"}, {"user", "max"}}),
       {"seat_assigned"},
       ""},
      {"user_manager cannot assign a seat to an admin",
       Cmd("assign_seat", "uma", {{"subscription", "S2"}, {"user", "alice"}}),
       {},
       "forbidden"},
      {"member cannot invite",
       Cmd("invite_member", "mel", {{"user", "nia"}, {"email", "n@acme.test"}}),
       {},
       "forbidden"},
      {"member cannot assign seats",
       Cmd("assign_seat", "mel", {{"subscription", "S2"}, {"user", "max"}}),
       {},
       "forbidden"},
      {"user_manager cannot create groups",
       Cmd("create_group", "uma", {{"group", "g2"}, {"name", "G"}}),
       {},
       "forbidden"},
      {"user_manager cannot purchase",
       Cmd("cancel_renewal", "uma", {{"subscription", "S1"}}),
       {},
       "forbidden"},
      {"admin changes a role",
       Cmd("change_role", "alice", {{"user", "mel"}, {"role", "user_manager"}}),
       {"role_changed"},
       ""},
      {"nobody changes the owner's role",
       Cmd("change_role", "alice", {{"user", "olga"}, {"role", "member"}}),
       {},
       "forbidden"},
      {"change_role does not make owners",
       Cmd("change_role", "olga", {{"user", "mel"}, {"role", "owner"}}),
       {},
       "bad_request"},
      {"user_manager cannot change roles",
       Cmd("change_role", "uma", {{"user", "mel"}, {"role", "admin"}}),
       {},
       "forbidden"},
      {"owner transfers ownership",
       Cmd("transfer_ownership", "olga", {{"user", "alice"}}),
       {"ownership_transferred"},
       ""},
      {"admin cannot transfer ownership",
       Cmd("transfer_ownership", "alice", {{"user", "alice"}}),
       {},
       "forbidden"},
      {"ownership goes only to an active member",
       Cmd("transfer_ownership", "olga", {{"user", "ivan"}}),
       {},
       "not_member"},
      {"system may do everything",
       Cmd("resize", "system", {{"subscription", "S1"}, {"seats", 9}}),
       {"seats_increased"},
       ""},
  });
}

TEST_CASE("R4 groups", "[rules]") {
  RunTable({
      {"create a group",
       Cmd("create_group", "alice", {{"group", "std"}, {"name", "Standard"}}),
       {"group_created"},
       ""},
      {"create an existing group",
       Cmd("create_group", "olga", {{"group", "pro"}, {"name", "x"}}),
       {},
       "already_exists"},
      {"rename a group",
       Cmd("rename_group", "olga", {{"group", "pro"}, {"name", "Pro users"}}),
       {"group_renamed"},
       ""},
      {"rename a missing group",
       Cmd("rename_group", "olga", {{"group", "nope"}, {"name", "x"}}),
       {},
       "not_found"},
      {"add a member",
       Cmd("add_group_member", "uma", {{"group", "pro"}, {"user", "max"}}),
       {"group_member_added"},
       ""},
      {"add an invited member",
       Cmd("add_group_member", "olga", {{"group", "pro"}, {"user", "ivan"}}),
       {"group_member_added"},
       ""},
      {"add a removed member",
       Cmd("add_group_member", "olga", {{"group", "pro"}, {"user", "rex"}}),
       {},
       "not_member"},
      {"add twice",
       Cmd("add_group_member", "olga", {{"group", "pro"}, {"user", "mel"}}),
       {},
       "already_in_group"},
      {"remove a member",
       Cmd("remove_group_member", "olga", {{"group", "pro"}, {"user", "mel"}}),
       {"group_member_removed"},
       ""},
      {"remove a non-member of the group",
       Cmd("remove_group_member", "olga", {{"group", "pro"}, {"user", "max"}}),
       {},
       "not_in_group"},
      {"delete unassigns, empties, then deletes",
       Cmd("delete_group", "olga", {{"group", "pro"}}),
       {"group_member_removed", "group_deleted"},
       ""},
  });
}

TEST_CASE("R5 purchase", "[rules]") {
  auto buy = [](json extra) {
    json c = Cmd("purchase_subscription", "olga",
                 {{"subscription", "S9"},
                  {"product", "pcon.planner"},
                  {"edition", "pro"},
                  {"seats", 3},
                  {"period_start", "2026-01-01T00:00:00Z"},
                  {"period_end", "2027-01-01T00:00:00Z"}});
    for (auto& [k, v] : extra.items()) c[k] = v;
    return c;
  };
  RunTable({
      {"purchase", buy({}), {"subscription_purchased"}, ""},
      {"purchase an existing id", buy({{"subscription", "S1"}}), {}, "already_exists"},
      {"an undefined product", buy({{"product", "autocad"}}), {}, "not_found"},
      {"an edition the product lacks", buy({{"edition", "gold"}}), {}, "bad_request"},
      {"an add-on of a missing base", buy({{"add_on_of", "S7"}}), {}, "not_found"},
      {"an add-on", buy({{"add_on_of", "S1"}}), {"subscription_purchased"}, ""},
      {"members cannot purchase", buy({{"actor", "mel"}}), {}, "forbidden"},
  });
}

TEST_CASE("R6 direct seats", "[rules]") {
  RunTable({
      {"assign a seat",
       Cmd("assign_seat", "olga", {{"subscription", "S1"}, {"user", "max"}}),
       {"seat_assigned"},
       ""},
      {"assign to an invited member",
       Cmd("assign_seat", "olga", {{"subscription", "S1"}, {"user", "ivan"}}),
       {"seat_assigned"},
       ""},
      {"assign to a removed member",
       Cmd("assign_seat", "olga", {{"subscription", "S1"}, {"user", "rex"}}),
       {},
       "not_member"},
      {"assign twice",
       Cmd("assign_seat", "olga", {{"subscription", "S1"}, {"user", "mel"}}),
       {},
       "already_assigned"},
      {"assign on a missing subscription",
       Cmd("assign_seat", "olga", {{"subscription", "S7"}, {"user", "max"}}),
       {},
       "not_found"},
      {"revoke a direct seat",
       Cmd("revoke_seat", "olga", {{"subscription", "S1"}, {"user", "mel"}}),
       {"seat_revoked"},
       ""},
      {"revoke a seat never given",
       Cmd("revoke_seat", "olga", {{"subscription", "S1"}, {"user", "max"}}),
       {},
       "not_assigned"},
  });
}

TEST_CASE("R6 the seat limit counts distinct users, direct and through groups", "[rules]") {
  LedgerFixture l;
  World(l);
  // S1 has 2 seats and mel. Assigning "pro" (= {mel}) adds nobody new.
  l.Ok(Cmd("assign_group", "olga", {{"tenant", "acme"}, {"subscription", "S1"}, {"group", "pro"}}));
  CHECK(l.Ok(Cmd("assign_seat", "olga",
                 {{"tenant", "acme"}, {"subscription", "S1"}, {"user", "max"}})) ==
        std::vector<std::string>{"seat_assigned"});
  CHECK(l.Rejected(Cmd("assign_seat", "olga",
                       {{"tenant", "acme"}, {"subscription", "S1"}, {"user", "alice"}})) ==
        "seat_limit_reached");
  // mel holds the seat through "pro" too: revoking the direct seat keeps her seat.
  l.Ok(Cmd("revoke_seat", "olga", {{"tenant", "acme"}, {"subscription", "S1"}, {"user", "mel"}}));
  CHECK(l.Rejected(Cmd("revoke_seat", "olga",
                       {{"tenant", "acme"}, {"subscription", "S1"}, {"user", "mel"}})) ==
        "seat_inherited_from_group");
  CHECK(l.Check("acme", "mel", "pcon.planner").allowed);
}

TEST_CASE("R7 groups on subscriptions never fail for capacity, violations follow the policy",
          "[rules]") {
  for (const std::string overage : {"lock_all", "deny_excess", "allow"}) {
    SECTION(overage) {
      LedgerFixture l;
      World(l);
      l.Buy("S3", 1, {{"overage", overage}, {"max_groups", 1}});
      l.Ok(Cmd("assign_seat", "olga",
               {{"tenant", "acme"}, {"subscription", "S3"}, {"user", "max"}}));
      l.Ok(Cmd("assign_group", "olga",
               {{"tenant", "acme"}, {"subscription", "S3"}, {"group", "pro"}}));
      auto state = l.State("acme");
      CHECK(state.Violations(state.subscriptions.at("S3")) ==
            std::vector<std::string>{"over_assigned"});
      auto max = l.Check("acme", "max", "pcon.planner");
      auto mel = l.Check("acme", "mel", "pcon.planner");
      // S1 also grants pcon.planner to mel; check S3 alone by removing her S1 seat first.
      l.Ok(Cmd("revoke_seat", "olga",
               {{"tenant", "acme"}, {"subscription", "S1"}, {"user", "mel"}}));
      mel = l.Check("acme", "mel", "pcon.planner");
      if (overage == "lock_all") {
        CHECK(max.reason == "subscription_locked");
        CHECK(mel.reason == "subscription_locked");
      } else if (overage == "deny_excess") {
        CHECK(max.allowed);  // had the seat first
        CHECK(mel.reason == "count_violation");
      } else {
        CHECK(max.allowed);
        CHECK(mel.allowed);
      }
      l.Ok({{"type", "create_group"},
            {"tenant", "acme"},
            {"actor", "olga"},
            {"group", "g2"},
            {"name", "G2"}});
      l.Ok(Cmd("assign_group", "olga",
               {{"tenant", "acme"}, {"subscription", "S3"}, {"group", "g2"}}));
      state = l.State("acme");
      CHECK(state.Violations(state.subscriptions.at("S3")) ==
            std::vector<std::string>{"over_assigned", "too_many_groups"});
    }
  }
  RunTable({
      {"assign a group twice",
       Cmd("assign_group", "olga", {{"subscription", "S2"}, {"group", "pro"}}),
       {"group_assigned"},
       ""},
      {"assign a missing group",
       Cmd("assign_group", "olga", {{"subscription", "S2"}, {"group", "nope"}}),
       {},
       "not_found"},
      {"unassign a group not assigned",
       Cmd("unassign_group", "olga", {{"subscription", "S2"}, {"group", "pro"}}),
       {},
       "not_assigned"},
      {"user_manager cannot assign groups",
       Cmd("assign_group", "uma", {{"subscription", "S2"}, {"group", "pro"}}),
       {},
       "forbidden"},
  });
}

TEST_CASE("R8 resize: increase now, decrease at period end", "[rules]") {
  RunTable({
      {"increase",
       Cmd("resize", "olga", {{"subscription", "S1"}, {"seats", 4}}),
       {"seats_increased"},
       ""},
      {"decrease is scheduled",
       Cmd("resize", "olga", {{"subscription", "S1"}, {"seats", 1}}),
       {"seat_decrease_scheduled"},
       ""},
      {"same size with nothing pending",
       Cmd("resize", "olga", {{"subscription", "S1"}, {"seats", 2}}),
       {},
       "bad_request"},
      {"nothing to cancel",
       Cmd("cancel_scheduled_change", "olga", {{"subscription", "S1"}}),
       {},
       "no_scheduled_change"},
  });
  LedgerFixture l;
  World(l);
  json resize = Cmd("resize", "olga", {{"tenant", "acme"}, {"subscription", "S1"}, {"seats", 1}});
  l.Ok(resize);
  auto s = l.State("acme").subscriptions.at("S1");
  REQUIRE(s.pending_decrease);
  CHECK(s.pending_decrease->seats == 1);
  CHECK(s.seats == 2);
  resize["seats"] = 3;  // a later resize replaces the pending one
  CHECK(l.Ok(resize) == std::vector<std::string>{"scheduled_change_cancelled", "seats_increased"});
  s = l.State("acme").subscriptions.at("S1");
  CHECK_FALSE(s.pending_decrease);
  CHECK(s.seats == 3);
  resize["seats"] = 1;
  l.Ok(resize);
  CHECK(
      l.Ok(Cmd("cancel_scheduled_change", "olga", {{"tenant", "acme"}, {"subscription", "S1"}})) ==
      std::vector<std::string>{"scheduled_change_cancelled"});
  CHECK(l.State("acme").subscriptions.at("S1").seats == 3);
}

TEST_CASE("R9 editions: upgrade now, downgrade at period end", "[rules]") {
  RunTable({
      {"upgrade",
       Cmd("change_edition", "olga", {{"subscription", "S1"}, {"edition", "premium"}}),
       {"edition_upgraded"},
       ""},
      {"downgrade is scheduled",
       Cmd("change_edition", "olga", {{"subscription", "S1"}, {"edition", "standard"}}),
       {"edition_downgrade_scheduled"},
       ""},
      {"unknown edition",
       Cmd("change_edition", "olga", {{"subscription", "S1"}, {"edition", "gold"}}),
       {},
       "bad_request"},
      {"same edition",
       Cmd("change_edition", "olga", {{"subscription", "S1"}, {"edition", "pro"}}),
       {},
       "bad_request"},
  });
}

TEST_CASE("R10 renewal and R12 purchase order", "[rules]") {
  RunTable({
      {"cancel renewal",
       Cmd("cancel_renewal", "olga", {{"subscription", "S1"}}),
       {"renewal_cancelled"},
       ""},
      {"resume a renewing subscription",
       Cmd("resume_renewal", "olga", {{"subscription", "S1"}}),
       {},
       "renewal_not_cancelled"},
      {"set a purchase order",
       Cmd("set_purchase_order", "alice", {{"subscription", "S1"}, {"purchase_order", "PO-77"}}),
       {"purchase_order_set"},
       ""},
      {"members cannot set purchase orders",
       Cmd("set_purchase_order", "mel", {{"subscription", "S1"}, {"purchase_order", "PO-77"}}),
       {},
       "forbidden"},
  });
  LedgerFixture l;
  World(l);
  l.Ok(Cmd("cancel_renewal", "olga", {{"tenant", "acme"}, {"subscription", "S1"}}));
  CHECK(l.Rejected(Cmd("cancel_renewal", "olga", {{"tenant", "acme"}, {"subscription", "S1"}})) ==
        "renewal_already_cancelled");
  CHECK(l.State("acme").subscriptions.at("S1").auto_renew == false);
  CHECK(l.Ok(Cmd("resume_renewal", "olga", {{"tenant", "acme"}, {"subscription", "S1"}})) ==
        std::vector<std::string>{"renewal_resumed"});
}

TEST_CASE("R11 trials", "[rules]") {
  LedgerFixture l;
  World(l);
  l.Buy("T1", 2, {{"trial_days", 30}});
  CHECK(l.Rejected(Cmd("convert_trial", "olga", {{"tenant", "acme"}, {"subscription", "S1"}})) ==
        "not_trial");
  CHECK(l.Ok(Cmd("convert_trial", "olga",
                 {{"tenant", "acme"}, {"subscription", "T1"}, {"seats", 4}})) ==
        std::vector<std::string>{"trial_converted"});
  auto t1 = l.State("acme").subscriptions.at("T1");
  CHECK(t1.trial_end == 0);
  CHECK(t1.seats == 4);
}

TEST_CASE("R13 add-ons need the base entitlement", "[rules]") {
  LedgerFixture l;
  World(l);
  l.Ok({{"type", "define_product"},
        {"actor", "system"},
        {"product", "addon.x"},
        {"editions", {"std"}}});
  l.Ok(Cmd("purchase_subscription", "olga",
           {{"tenant", "acme"},
            {"subscription", "A1"},
            {"product", "addon.x"},
            {"edition", "std"},
            {"seats", 5},
            {"period_start", "2026-01-01T00:00:00Z"},
            {"period_end", "2027-01-01T00:00:00Z"},
            {"add_on_of", "S1"}}));
  l.Ok(Cmd("assign_seat", "olga", {{"tenant", "acme"}, {"subscription", "A1"}, {"user", "mel"}}));
  l.Ok(Cmd("assign_seat", "olga", {{"tenant", "acme"}, {"subscription", "A1"}, {"user", "max"}}));
  CHECK(l.Check("acme", "mel", "addon.x").allowed);
  auto max = l.Check("acme", "max", "addon.x");
  CHECK(max.reason == "base_not_entitled");
  CHECK(max.subscription == "A1");
  auto state = l.State("acme");
  CHECK(state.Violations(state.subscriptions.at("A1")) ==
        std::vector<std::string>{"orphaned_add_on"});
}

TEST_CASE("R16 idempotency and R17 expected_version through the service", "[rules]") {
  LedgerFixture l;
  World(l);
  json c = Cmd("assign_seat", "olga",
               {{"tenant", "acme"}, {"subscription", "S2"}, {"user", "max"}, {"id", "k1"}});
  auto first = l.Run(c);
  auto again = l.Run(c);
  CHECK(first.status == "accepted");
  CHECK(again.status == "duplicate");
  CHECK(again.position == first.position);
  c["user"] = "mel";
  CHECK(l.Run(c).code == "idempotency_key_reused");

  const uint64_t version = l.State("acme").version;
  json stale = Cmd("assign_seat", "olga",
                   {{"tenant", "acme"},
                    {"subscription", "S2"},
                    {"user", "mel"},
                    {"expected_version", version - 1}});
  CHECK(l.Rejected(stale) == "conflict");
  stale["expected_version"] = version;
  CHECK(l.Ok(stale) == std::vector<std::string>{"seat_assigned"});
}

TEST_CASE("backdated corrections carry effective_at and their reason", "[rules]") {
  LedgerFixture l;
  World(l);
  l.Ok({{"type", "revoke_seat"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"subscription", "S1"},
        {"user", "mel"},
        {"effective_at", "2026-01-01T00:00:00Z"},
        {"reason", "seat was never used"},
        {"at", "2026-03-01T00:00:00Z"}});
  auto c = l.store().ReadStream("acme", l.State("acme").version);
  REQUIRE(c->Valid());
  auto e = c->event().event();
  CHECK(ledger::FormatRfc3339(e.getEffectiveAt()) == "2026-01-01T00:00:00Z");
  CHECK(ledger::FormatRfc3339(e.getRecordedAt()) == "2026-03-01T00:00:00Z");
  CHECK(std::string(e.getReason()) == "seat was never used");
  CHECK(l.Rejected({{"type", "revoke_seat"},
                    {"tenant", "acme"},
                    {"actor", "olga"},
                    {"subscription", "S1"},
                    {"user", "mel"},
                    {"effective_at", "2026-09-01T00:00:00Z"},
                    {"reason", "future"}}) == "bad_request");
}

TEST_CASE("R15 effects due are appended before a later command, in time order", "[rules][time]") {
  LedgerFixture l;
  World(l);
  // S1 renews 2027-01-01 with a decrease and a downgrade pending; S2 will not renew.
  l.Ok(Cmd("resize", "olga", {{"tenant", "acme"}, {"subscription", "S1"}, {"seats", 1}}));
  l.Ok(Cmd("change_edition", "olga",
           {{"tenant", "acme"}, {"subscription", "S1"}, {"edition", "standard"}}));
  l.Ok(Cmd("cancel_renewal", "olga", {{"tenant", "acme"}, {"subscription", "S2"}}));
  const auto before = l.StreamTypes("acme").size();
  auto r = l.Run(Cmd("invite_member", "olga",
                     {{"tenant", "acme"},
                      {"user", "nia"},
                      {"email", "n@acme.test"},
                      {"at", "2027-01-01T00:00:00Z"}}));
  CHECK(r.status == "accepted");
  auto types = l.StreamTypes("acme");
  std::vector<std::string> appended(types.begin() + static_cast<long>(before), types.end());
  CHECK(appended == std::vector<std::string>{"seats_decreased", "edition_downgraded",
                                             "subscription_renewed", "subscription_expired",
                                             "member_invited"});
  auto s1 = l.State("acme").subscriptions.at("S1");
  CHECK(s1.seats == 1);
  CHECK(s1.edition == "standard");
  CHECK(ledger::FormatRfc3339(s1.period_end) == "2028-01-01T00:00:00Z");
  // mel is alone on S1 (1 seat): still allowed; S2 expired.
  CHECK(l.Check("acme", "mel", "pcon.planner").allowed);
  CHECK(l.State("acme").subscriptions.at("S2").expired);
}

TEST_CASE("R15 a rejected command still brings the due effects and tick brings them alone",
          "[rules][time]") {
  LedgerFixture l;
  World(l);
  l.Ok(Cmd("cancel_renewal", "olga", {{"tenant", "acme"}, {"subscription", "S1"}}));
  CHECK(l.Rejected(Cmd("assign_seat", "mel",
                       {{"tenant", "acme"},
                        {"subscription", "S2"},
                        {"user", "max"},
                        {"at", "2027-02-01T00:00:00Z"}})) == "forbidden");
  auto types = l.StreamTypes("acme");
  REQUIRE(types.size() >= 2);
  // Due at the same moment: in subscription order, S1 expires and S2 renews.
  CHECK(types[types.size() - 2] == "subscription_expired");
  CHECK(types.back() == "subscription_renewed");
  CHECK(l.Ok(Cmd("tick", "system", {{"tenant", "acme"}, {"at", "2027-02-02T00:00:00Z"}})).empty());
  // Several periods later: one renewal at the end, then one into the current period.
  CHECK(l.Ok(Cmd("tick", "system", {{"tenant", "acme"}, {"at", "2030-06-01T00:00:00Z"}})) ==
        std::vector<std::string>{"subscription_renewed", "subscription_renewed"});
  auto s2 = l.State("acme").subscriptions.at("S2");
  CHECK(ledger::FormatRfc3339(s2.period_start) == "2030-01-01T00:00:00Z");
  CHECK(ledger::FormatRfc3339(s2.period_end) == "2031-01-01T00:00:00Z");
}

TEST_CASE("R18 every reason code of the access check", "[rules][access]") {
  LedgerFixture l;
  World(l);
  l.Buy("T1", 5, {{"trial_days", 10}});
  l.Ok(Cmd("assign_seat", "olga", {{"tenant", "acme"}, {"subscription", "T1"}, {"user", "max"}}));
  CHECK(l.Check("nowhere", "mel", "pcon.planner").reason == "unknown_tenant");
  CHECK(l.Check("acme", "zed", "pcon.planner").reason == "not_member");
  CHECK(l.Check("acme", "ivan", "pcon.planner").reason == "invitation_pending");
  CHECK(l.Check("acme", "rex", "pcon.planner").reason == "member_removed");
  CHECK(l.Check("acme", "alice", "pcon.planner").reason == "no_seat");
  auto mel = l.Check("acme", "mel", "pcon.planner");
  CHECK(mel.allowed);
  CHECK(mel.subscription == "S1");
  CHECK(mel.ToJson() == R"({"allowed":true,"reason":null,"subscription":"S1"})");
  // Time rules at query time: the trial ends on 2026-01-11 before any event says so.
  CHECK(l.Check("acme", "max", "pcon.planner", "2026-01-05T00:00:00Z").allowed);
  CHECK(l.Check("acme", "max", "pcon.planner", "2026-01-11T00:00:00Z").reason ==
        "subscription_expired");
  // --at in the past: before mel got her seat.
  CHECK(l.Check("acme", "mel", "pcon.planner", "2025-12-31T00:00:00Z").reason == "unknown_tenant");
}

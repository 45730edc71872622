// Rejected commands: kept in the rejection log in the order they were sent (R3), and the
// time-driven effects that fell due before a rejected command stay in the log (R15).
#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "conformance/conformance.h"
#include "ledger/time.h"
#include "support/test_scale.h"

using namespace conformance;
using commands::CommandResult;
using ledger::testing::Scaled;

namespace {

// Every rejection of `tenant`, oldest first.
std::vector<ledger::RejectionRecord> RejectionLog(Backend& b, const std::string& tenant) {
  std::vector<ledger::RejectionRecord> log;
  REQUIRE(b.store()
              .ForEachRejection(tenant,
                                [&](const ledger::RejectionRecord& r) {
                                  log.push_back(r);
                                  return true;
                                })
              .ok());
  return log;
}

// Command i of the rejection script and the code it must get ("" = accepted). A cycle of
// eight: an accepted invitation, then rejections of every layer — the domain rules, the
// permissions, the JSON reader, the expected version and the idempotency key.
std::pair<std::string, std::string> ScriptCommand(int i) {
  const std::string id = "q" + std::to_string(i);
  const std::string n = std::to_string(i);
  switch (i % 8) {
    case 0:
      return {Invite("acme", "n" + n, id).dump(), ""};
    case 1:
      return {Invite("acme", "bob", id).dump(), "already_member"};
    case 2:
      return {json{{"type", "assign_seat"},
                   {"tenant", "acme"},
                   {"actor", "olga"},
                   {"id", id},
                   {"subscription", "S"},
                   {"user", "ghost" + n}}
                  .dump(),
              "not_member"};
    case 3: {
      json c = Invite("acme", "x" + n, id);
      c["actor"] = "bob";  // a plain member
      return {c.dump(), "forbidden"};
    }
    case 4: {
      json c = Invite("acme", "y" + n, id);
      c["zzz"] = 1;
      return {c.dump(), "bad_request"};
    }
    case 5:
      return {json{{"type", "tick"},
                   {"tenant", "acme"},
                   {"actor", "system"},
                   {"id", id},
                   {"expected_version", 1}}
                  .dump(),
              "conflict"};
    case 6:  // the id of the invitation that opened this cycle, for another user
      return {Invite("acme", "other" + n, "q" + std::to_string(i - 6)).dump(),
              "idempotency_key_reused"};
    default:
      return {json{{"type", "revoke_seat"},
                   {"tenant", "acme"},
                   {"actor", "olga"},
                   {"id", id},
                   {"subscription", "S"},
                   {"user", "bob"}}
                  .dump(),
              "not_assigned"};
  }
}

}  // namespace

TEST_CASE("the rejection log lists rejected commands in the order they were sent, with their "
          "codes",
          "[conformance][rejections]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      DefineProduct(*b);
      CreateTenant(*b, "acme", /*seats=*/1);
      CreateTenant(*b, "other");
      Accept(*b, Invite("acme", "bob", "bob-invited"));
      Accept(*b, {{"type", "accept_invitation"}, {"tenant", "acme"}, {"actor", "bob"}});

      // One client sends the whole script without waiting for answers, interleaved with
      // rejections of another tenant.
      const int count = Scaled(400, 80) / 8 * 8;
      std::mutex mu;
      std::condition_variable cv;
      std::vector<CommandResult> results(static_cast<size_t>(count));
      int answered = 0;
      for (int i = 0; i < count; ++i) {
        b->service().SubmitJson(ScriptCommand(i).first, [&, i](CommandResult r) {
          std::lock_guard<std::mutex> lock(mu);
          results[static_cast<size_t>(i)] = std::move(r);
          ++answered;
          cv.notify_all();
        });
        if (i % 8 == 7) {
          b->service().SubmitJson(Invite("other", "olga", "o" + std::to_string(i)).dump(),
                                  [&](CommandResult) {
                                    std::lock_guard<std::mutex> lock(mu);
                                    ++answered;
                                    cv.notify_all();
                                  });
        }
      }
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return answered == count + count / 8; });
      }

      // What each client was told, and what the log must list.
      std::vector<std::pair<std::string, std::string>> expected;  // (id, code)
      for (int i = 0; i < count; ++i) {
        const auto [command, code] = ScriptCommand(i);
        const CommandResult& r = results[static_cast<size_t>(i)];
        INFO(command << " -> " << r.ToJson());
        CHECK(r.status == (code.empty() ? "accepted" : "rejected"));
        CHECK(r.code == code);
        if (!code.empty()) expected.emplace_back(json::parse(command)["id"], code);
      }

      auto check_log = [&](const std::string& when) {
        INFO(when);
        std::vector<std::pair<std::string, std::string>> listed;
        uint64_t last_sequence = 0;
        bool ordered = true;
        for (const auto& r : RejectionLog(*b, "acme")) {
          listed.emplace_back(r.command_id, r.code);
          ordered = ordered && r.sequence > last_sequence;
          last_sequence = r.sequence;
          CHECK(r.tenant == "acme");
          CHECK(r.actor == (r.code == "forbidden" ? "bob" : r.code == "conflict" ? "system"
                                                                                  : "olga"));
        }
        CHECK(ordered);
        CHECK(listed == expected);
        const auto other = RejectionLog(*b, "other");
        CHECK(other.size() == static_cast<size_t>(count / 8));
        for (const auto& r : other) CHECK(r.code == "already_member");
      };
      check_log("as written");
      REQUIRE(b->Reopen().ToString() == "OK");
      check_log("after a restart");
    }
  }
}

TEST_CASE("renewals and expiries due before a rejected command stay in the log",
          "[conformance][rejections][time]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      DefineProduct(*b);
      CreateTenant(*b, "acme");  // S: 2026-01-01 to 2027-01-01, renews
      Accept(*b, {{"type", "purchase_subscription"},
                  {"tenant", "acme"},
                  {"actor", "olga"},
                  {"subscription", "E"},
                  {"product", kProduct},
                  {"edition", "standard"},
                  {"seats", 5},
                  {"period_start", "2026-01-01T00:00:00Z"},
                  {"period_end", "2027-01-01T00:00:00Z"}});
      Accept(*b, {{"type", "cancel_renewal"},
                  {"tenant", "acme"},
                  {"actor", "olga"},
                  {"subscription", "E"},
                  {"at", "2026-06-01T00:00:00Z"}});
      Accept(*b, Invite("acme", "bob", "bob-invited"));
      ledger::StreamHead before;
      REQUIRE(b->store().GetHead("acme", &before).ok());

      // A day after both fell due: a seat on the expired subscription is refused...
      const json late = {{"type", "assign_seat"},
                         {"tenant", "acme"},
                         {"actor", "olga"},
                         {"id", "late-seat"},
                         {"subscription", "E"},
                         {"user", "bob"},
                         {"at", "2027-01-02T00:00:00Z"}};
      const CommandResult refused = Run(*b, late);
      INFO(refused.ToJson());
      REQUIRE(refused.status == "rejected");
      CHECK(refused.code == "subscription_expired");

      // ...but the renewal of S and the expiry of E it brought due are in the log, by the
      // system, effective when they fell due.
      auto check_effects = [&](const std::string& when, size_t rejections) {
        INFO(when);
        ledger::StreamHead head;
        REQUIRE(b->store().GetHead("acme", &head).ok());
        REQUIRE(head.version == before.version + 2);
        std::vector<std::string> types;
        for (auto c = b->store().ReadStream("acme", before.version + 1); c->Valid(); c->Next()) {
          const auto e = c->event().event();
          types.emplace_back(c->event().type_name());
          CHECK(std::string(e.getActor()) == "system");
          CHECK(std::string(e.getCommandId()) != "late-seat");
          CHECK(ledger::FormatRfc3339(e.getEffectiveAt()) == "2027-01-01T00:00:00Z");
          CHECK(ledger::FormatRfc3339(e.getRecordedAt()) == "2027-01-02T00:00:00Z");
        }
        std::sort(types.begin(), types.end());
        CHECK(types == std::vector<std::string>{"subscription_expired", "subscription_renewed"});
        // The rejected command itself appended nothing and is in the rejection log.
        ledger::AppendResult none;
        CHECK(b->store().LookupCommand("acme", "late-seat", &none).IsNotFound());
        const auto log = RejectionLog(*b, "acme");
        REQUIRE(log.size() == rejections);
        for (const auto& r : log) {
          CHECK(r.command_id == "late-seat");
          CHECK(r.code == "subscription_expired");
          CHECK(ledger::FormatRfc3339(r.at) == "2027-01-02T00:00:00Z");
        }
        // The views agree: S renewed to 2028, E expired.
        commands::TenantState state;
        REQUIRE(b->reader().StateAt("acme", std::nullopt, &state).ok());
        CHECK(ledger::FormatRfc3339(state.subscriptions.at("S").period_end) ==
              "2028-01-01T00:00:00Z");
        CHECK(state.subscriptions.at("E").expired);
        CHECK(b->ViewsMismatch("acme") == "");
      };
      check_effects("as rejected", 1);
      // Sent again, it is refused again and the effects are not appended twice.
      CHECK(Run(*b, late).code == "subscription_expired");
      check_effects("refused twice", 2);
      REQUIRE(b->Reopen().ToString() == "OK");
      check_effects("after a restart", 2);
    }
  }
}

// R16: a command id is unique within its tenant forever. The same command again is a
// `duplicate` with the original result, however much later; the same id for something
// else is `idempotency_key_reused`. Neither appends anything.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "conformance/conformance.h"
#include "support/test_scale.h"

using namespace conformance;
using commands::CommandResult;
using ledger::testing::Scaled;

namespace {

// The result as DESIGN 6.1 shows it (id, version, position, events), without its status.
// (An import's report is not kept with the idempotency record: a duplicate has none.)
std::string WithoutStatus(const CommandResult& r) {
  json j = json::parse(r.ToJson());
  j.erase("status");
  j.erase("report");
  return j.dump();
}

// Runs `count` invitations into `tenant` (ids "<prefix>-<i>"), up to 256 in flight at a
// time; REQUIREs every one accepted.
void InviteMany(Backend& b, const std::string& tenant, const std::string& prefix, int count) {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0, accepted = 0;
  std::string first_problem;
  for (int i = 0; i < count; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < 256; });
      ++in_flight;
    }
    const std::string user = prefix + "-" + std::to_string(i);
    b.service().SubmitJson(Invite(tenant, user, user).dump(), [&](CommandResult r) {
      std::lock_guard<std::mutex> lock(mu);
      if (r.status == "accepted") {
        ++accepted;
      } else if (first_problem.empty()) {
        first_problem = r.ToJson();
      }
      --in_flight;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
  INFO(first_problem);
  REQUIRE(accepted == count);
}

// The tenant's head and the log's end, to show that nothing was appended.
struct Mark {
  uint64_t version = 0;
  uint64_t events = 0;
  bool operator==(const Mark&) const = default;
};
Mark MarkOf(Backend& b, const std::string& tenant) {
  ledger::StreamHead head;
  REQUIRE(b.store().GetHead(tenant, &head).ok());
  return Mark{head.version, EventCount(b.store())};
}

}  // namespace

TEST_CASE(
    "a command sent again gets its original result as duplicate, after a restart and "
    "after 10,000 later commands",
    "[conformance][idempotency]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      DefineProduct(*b);
      CreateTenant(*b, "acme");
      CreateTenant(*b, "other");
      // A multi-event command: its result names three events.
      const json original = {{"type", "import_members"},
                             {"tenant", "acme"},
                             {"actor", "olga"},
                             {"id", "c-0042"},
                             {"rows", {{{"email", "bob@acme.test"}, {"user", "bob"}}}},
                             {"subscription", "S"},
                             {"group", "G"},
                             {"commit", true}};
      const CommandResult first = Accept(*b, original);
      REQUIRE(first.events.size() == 3);
      const std::string told = WithoutStatus(first);
      // The same content written differently is the same command.
      const std::string reordered =
          R"({ "commit": true, "group": "G", "subscription": "S", "id": "c-0042",
               "rows": [ {"user": "bob", "email": "bob@acme.test"} ],
               "actor": "olga", "tenant": "acme", "type": "import_members" })";

      auto expect_duplicate = [&](const std::string& when) {
        INFO(when);
        const Mark before = MarkOf(*b, "acme");
        const CommandResult again = Run(*b, original);
        CHECK(again.status == "duplicate");
        CHECK(WithoutStatus(again) == told);
        const CommandResult respelled = b->service().ExecuteJson(reordered);
        CHECK(respelled.status == "duplicate");
        CHECK(WithoutStatus(respelled) == told);
        CHECK(MarkOf(*b, "acme") == before);  // nothing appended
        // And the log still holds the command once, where the result says.
        const auto stream = ReadStream(b->store(), "acme");
        int found = 0;
        for (const auto& e : stream) found += e.command_id == "c-0042" ? 1 : 0;
        CHECK(found == 3);
      };
      expect_duplicate("at once");
      REQUIRE(b->Reopen().ToString() == "OK");
      expect_duplicate("after a restart");

      const int later = Scaled(10000, 500);
      InviteMany(*b, "acme", "later", later * 3 / 4);
      InviteMany(*b, "other", "later", later - later * 3 / 4);
      ledger::StreamHead head;
      REQUIRE(b->store().GetHead("acme", &head).ok());
      REQUIRE(head.version == 3 + 3 + static_cast<uint64_t>(later * 3 / 4));
      expect_duplicate("after " + std::to_string(later) + " later commands");
      REQUIRE(b->Reopen().ToString() == "OK");
      expect_duplicate("after " + std::to_string(later) + " later commands and a restart");
      // The id is the tenant's: another tenant may use it for its own command.
      json elsewhere = original;
      elsewhere["tenant"] = "other";
      CHECK(Run(*b, elsewhere).status == "accepted");
    }
  }
}

TEST_CASE(
    "an id sent again with different content is rejected idempotency_key_reused and "
    "appends nothing",
    "[conformance][idempotency]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      DefineProduct(*b);
      CreateTenant(*b, "acme");
      const json original = Invite("acme", "bob", "c-7");
      const CommandResult first = Accept(*b, original);

      auto expect_reused = [&](const std::string& when) {
        INFO(when);
        const Mark before = MarkOf(*b, "acme");
        // A different user, a different actor, one more field: all different content.
        json other_user = Invite("acme", "carol", "c-7");
        json other_actor = original;
        other_actor["actor"] = "system";
        json more = original;
        more["name"] = "Bob";
        for (const json& c : {other_user, other_actor, more}) {
          const CommandResult r = Run(*b, c);
          INFO(c.dump() << " -> " << r.ToJson());
          CHECK(r.status == "rejected");
          CHECK(r.code == "idempotency_key_reused");
          CHECK(r.events.empty());
        }
        CHECK(MarkOf(*b, "acme") == before);
        // carol was not invited; the original still stands.
        commands::AccessDecision carol;
        REQUIRE(b->reader().Check("acme", "carol", kProduct, std::nullopt, &carol).ok());
        CHECK(carol.reason == "not_member");
        const CommandResult again = Run(*b, original);
        CHECK(again.status == "duplicate");
        CHECK(again.position == first.position);
      };
      expect_reused("at once");
      REQUIRE(b->Reopen().ToString() == "OK");
      expect_reused("after a restart");

      // The rejections are in the rejection log, under the id.
      int logged = 0;
      REQUIRE(b->store()
                  .ForEachRejection("acme",
                                    [&](const ledger::RejectionRecord& r) {
                                      logged += r.command_id == "c-7" &&
                                                r.code == "idempotency_key_reused";
                                      return true;
                                    })
                  .ok());
      CHECK(logged == 6);
    }
  }
}

TEST_CASE(
    "one id raced by 16 clients with different content is accepted once, the rest "
    "rejected idempotency_key_reused",
    "[conformance][idempotency][concurrency]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      DefineProduct(*b);
      CreateTenant(*b, "acme");
      const int rounds = Scaled(20, 4);
      constexpr int kClients = 16;
      for (int round = 0; round < rounds; ++round) {
        INFO("round " << round);
        const std::string id = "race-" + std::to_string(round);
        std::vector<CommandResult> results(kClients);
        std::atomic<int> ready{0};
        std::vector<std::thread> clients;
        for (int c = 0; c < kClients; ++c) {
          clients.emplace_back([&, c] {
            const json command = Invite("acme", "u" + std::to_string(c) + "-" + id, id);
            ++ready;
            while (ready < kClients) std::this_thread::yield();
            results[c] = Run(*b, command);
          });
        }
        for (auto& th : clients) th.join();
        int accepted = 0, reused = 0;
        for (const auto& r : results) {
          accepted += r.status == "accepted";
          reused += r.status == "rejected" && r.code == "idempotency_key_reused";
        }
        CHECK(accepted == 1);
        CHECK(reused == kClients - 1);
        int in_log = 0;
        for (const auto& e : ReadStream(b->store(), "acme")) in_log += e.command_id == id;
        CHECK(in_log == 1);
      }
    }
  }
}

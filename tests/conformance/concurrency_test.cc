// R17 under contention: 64 clients racing on one tenant with expected_version, and 64
// racing for the last seat. Invariants hold however the commands interleave.
#include <atomic>
#include <barrier>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "conformance/conformance.h"
#include "support/test_scale.h"

using namespace conformance;
using commands::CommandResult;
using ledger::testing::Scaled;

namespace {

constexpr int kClients = 64;

// The rejections of `tenant` with `code`.
int Rejections(Backend& b, const std::string& tenant, const std::string& code) {
  int n = 0;
  REQUIRE(b.store()
              .ForEachRejection(tenant,
                                [&](const ledger::RejectionRecord& r) {
                                  n += r.code == code ? 1 : 0;
                                  return true;
                                })
              .ok());
  return n;
}

}  // namespace

TEST_CASE("64 clients racing with expected_version: one winner per version, the others get "
          "conflict",
          "[conformance][concurrency]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      DefineProduct(*b);
      CreateTenant(*b, "acme");
      ledger::StreamHead start;
      REQUIRE(b->store().GetHead("acme", &start).ok());
      const uint64_t target = start.version + static_cast<uint64_t>(Scaled(150, 25));

      std::mutex mu;
      std::map<uint64_t, std::string> winners;  // version → command id
      std::vector<std::string> problems;
      std::atomic<int> conflicts{0};
      std::vector<std::thread> clients;
      for (int t = 0; t < kClients; ++t) {
        clients.emplace_back([&, t] {
          for (int n = 0;; ++n) {
            ledger::StreamHead head;
            if (!b->store().GetHead("acme", &head).ok() || head.version >= target) return;
            const std::string id = "t" + std::to_string(t) + "-" + std::to_string(n);
            json c = Invite("acme", "u" + id, id);
            c["expected_version"] = head.version;
            const CommandResult r = Run(*b, c);
            std::lock_guard<std::mutex> lock(mu);
            if (r.status == "accepted" && r.version == head.version + 1 &&
                winners.emplace(r.version, id).second) {
              continue;
            }
            if (r.status == "rejected" && r.code == "conflict") {
              ++conflicts;
              continue;
            }
            problems.push_back("at v" + std::to_string(head.version) + ": " + r.ToJson());
            return;
          }
        });
      }
      for (auto& th : clients) th.join();
      INFO((problems.empty() ? "" : problems.front()));
      REQUIRE(problems.empty());

      ledger::StreamHead head;
      REQUIRE(b->store().GetHead("acme", &head).ok());
      CHECK(head.version >= target);
      // Every version after the start was won by exactly one client, whose command the
      // stream holds at that version.
      CHECK(winners.size() == head.version - start.version);
      const auto stream = ReadStream(b->store(), "acme", start.version + 1);
      REQUIRE(stream.size() == head.version - start.version);
      for (const auto& e : stream) {
        INFO("version " << e.version);
        CHECK(e.command_id == winners[e.version]);
      }
      CHECK(conflicts > 0);  // the race really happened
      CHECK(Rejections(*b, "acme", "conflict") == conflicts);
    }
  }
}

TEST_CASE("64 clients racing for the last seat: one accepted, the rest seat_limit_reached",
          "[conformance][concurrency]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      DefineProduct(*b);
      const int rounds = Scaled(8, 3);
      // One seat at first; each round adds one and 64 members race for it.
      CreateTenant(*b, "acme", /*seats=*/1);
      json rows = json::array();
      std::vector<std::string> users;
      for (int i = 0; i < kClients + rounds; ++i) {
        users.push_back("u" + std::to_string(i));
        rows.push_back({{"email", users.back() + "@acme.test"}, {"user", users.back()}});
      }
      Accept(*b, {{"type", "import_members"},
                  {"tenant", "acme"},
                  {"actor", "olga"},
                  {"rows", rows},
                  {"commit", true}});
      for (const auto& u : users) {
        Accept(*b, {{"type", "accept_invitation"}, {"tenant", "acme"}, {"actor", u}});
      }

      std::set<std::string> holders;
      int rejected_total = 0;
      for (int round = 0; round < rounds; ++round) {
        INFO("round " << round);
        if (round > 0) {
          Accept(*b, {{"type", "resize"},
                      {"tenant", "acme"},
                      {"actor", "olga"},
                      {"subscription", "S"},
                      {"seats", round + 1}});
        }
        std::vector<std::string> candidates;
        for (const auto& u : users) {
          if (holders.count(u) == 0 && candidates.size() < kClients) candidates.push_back(u);
        }
        std::vector<CommandResult> results(kClients);
        std::barrier start(kClients);
        std::vector<std::thread> clients;
        for (int t = 0; t < kClients; ++t) {
          clients.emplace_back([&, t] {
            const json c = {{"type", "assign_seat"},
                            {"tenant", "acme"},
                            {"actor", "olga"},
                            {"subscription", "S"},
                            {"user", candidates[t]}};
            start.arrive_and_wait();
            results[t] = Run(*b, c);
          });
        }
        for (auto& th : clients) th.join();
        int accepted = 0, full = 0;
        for (int t = 0; t < kClients; ++t) {
          INFO(candidates[t] << " -> " << results[t].ToJson());
          if (results[t].status == "accepted") {
            ++accepted;
            holders.insert(candidates[t]);
          } else {
            CHECK(results[t].code == "seat_limit_reached");
            ++full;
          }
        }
        CHECK(accepted == 1);
        CHECK(full == kClients - 1);
        rejected_total += full;
      }
      CHECK(static_cast<int>(holders.size()) == rounds);
      CHECK(Rejections(*b, "acme", "seat_limit_reached") == rejected_total);
      // What a backend asking "may U use the product?" sees: the winners, no one else.
      for (const auto& u : users) {
        commands::AccessDecision d;
        REQUIRE(b->reader().Check("acme", u, kProduct, std::nullopt, &d).ok());
        INFO(u << " -> " << d.ToJson());
        CHECK(d.allowed == (holders.count(u) > 0));
        if (!d.allowed) CHECK(d.reason == "no_seat");
      }
      CHECK(b->ViewsMismatch("acme") == "");
    }
  }
}

// Power loss at a random moment while clients append multi-event commands: afterwards
// every command is wholly there or wholly absent, every acknowledged one is there, a
// client's retry gets either its original result or a fresh one, and the views equal a
// rebuild from the log.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "commands/access.h"
#include "conformance/conformance.h"
#include "ledger/log_partitions.h"
#include "support/test_scale.h"

using namespace conformance;
using commands::CommandResult;
using ledger::testing::Scaled;

namespace {

constexpr int kClients = 6;

// Clients on tenants t0..t5 and what they were told.
struct Workload {
  std::vector<MultiEventClient> clients;
  std::vector<int> next;                       // per client: first command not acked
  std::map<std::string, CommandResult> acked;  // command id → result
  std::mt19937 rng{std::random_device{}()};

  explicit Workload(Backend& b) {
    DefineProduct(b);
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back("t" + std::to_string(i));
      CreateTenant(b, clients.back().tenant());
      next.push_back(0);
    }
  }
};

// Every client sends its next commands, one at a time, until the power goes off at a
// random moment (after at least two acknowledgements a client); then the ledger restarts.
void CrashWhileWriting(Backend& b, Workload& w) {
  std::mutex mu;
  std::vector<std::string> problems;
  std::atomic<int> acks{0}, stopped{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      for (int n = w.next[i];; ++n) {
        const CommandResult r = Run(b, w.clients[i].Command(n));
        std::lock_guard<std::mutex> lock(mu);
        if (r.status == "accepted") {
          w.acked[r.id] = r;
          w.next[i] = n + 1;
          ++acks;
        } else {
          // Only the power loss may stop a client.
          if (r.code != "unavailable") problems.push_back(r.ToJson());
          ++stopped;
          return;
        }
      }
    });
  }
  while (acks < 2 * kClients && stopped == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int delay_ms = static_cast<int>(w.rng() % static_cast<uint32_t>(Scaled(150, 40)));
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  b.PowerOff();
  for (auto& th : threads) th.join();
  INFO((problems.empty() ? "" : problems.front()));
  REQUIRE(problems.empty());
  REQUIRE(b.Reopen().ToString() == "OK");
}

// After the restart: the log is whole and gap-free; each client's commands in it are its
// acknowledged ones plus perhaps the one in flight; then every client sends the one in
// flight again and is told its original result (it was durable) or a fresh one.
void CheckWholeAndResume(Backend& b, Workload& w) {
  const std::vector<LogEntry> log = ReadLog(b.store());
  CHECK(HalfCommand(log) == "");
  std::map<std::string, uint64_t> versions;
  std::map<std::string, std::vector<const LogEntry*>> by_command;
  for (size_t i = 0; i < log.size(); ++i) {
    REQUIRE(FollowsWithoutGap(i == 0 ? 0 : log[i - 1].position, log[i].position));
    REQUIRE(log[i].version == ++versions[log[i].tenant]);
    by_command[log[i].tenant + "/" + log[i].command_id].push_back(&log[i]);
  }
  CHECK(EventCount(b.store()) == log.size());

  // Every acknowledged command is there, where its result said.
  for (const auto& [id, told] : w.acked) {
    INFO(id << " was told " << told.ToJson());
    const std::string tenant = id.substr(0, id.find('-'));
    ledger::AppendResult found;
    REQUIRE(b.store().LookupCommand(tenant, id, &found).ok());
    CHECK(found.position == told.position);
    CHECK(found.version == told.version);
    const auto& events = by_command[tenant + "/" + id];
    REQUIRE(events.size() == told.events.size());
    CHECK(events.back()->position == told.position);
  }
  for (int i = 0; i < kClients; ++i) {
    const MultiEventClient& client = w.clients[i];
    const int in_flight = w.next[i];
    INFO(client.tenant() << ": " << in_flight << " acknowledged");
    // The client's commands in the stream: a prefix of its script.
    int present = 0;
    while (by_command.count(client.tenant() + "/" + client.Id(present)) > 0) ++present;
    CHECK((present == in_flight || present == in_flight + 1));
    CHECK(by_command.count(client.tenant() + "/" + client.Id(present + 1)) == 0);
    ledger::AppendResult lookup;
    const bool durable =
        b.store().LookupCommand(client.tenant(), client.Id(in_flight), &lookup).ok();
    CHECK(durable == (present == in_flight + 1));

    const CommandResult again = Run(b, client.Command(in_flight));
    INFO("sent again: " << again.ToJson());
    CHECK(again.status == (durable ? "duplicate" : "accepted"));
    CHECK(static_cast<int>(again.events.size()) == MultiEventClient::Events(in_flight));
    if (durable) {
      const auto& events = by_command[client.tenant() + "/" + client.Id(in_flight)];
      CHECK(again.position == events.back()->position);
    } else {
      // Appended after everything its partition held (positions name their partition).
      uint64_t partition_last = 0;
      for (const LogEntry& e : log) {
        if (ledger::PartitionOfPosition(e.position) ==
            ledger::PartitionOfPosition(again.position)) {
          partition_last = std::max(partition_last, e.position);
        }
      }
      CHECK(again.position > partition_last);
    }
    w.acked[again.id] = again;
    w.next[i] = in_flight + 1;
  }
  CHECK(HalfCommand(ReadLog(b.store())) == "");
}

}  // namespace

TEST_CASE(
    "after a power loss at a random moment each multi-event command is wholly present "
    "or absent, and every acknowledged one is present",
    "[conformance][crash]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      Workload w(*b);
      const int rounds = Scaled(4, 2);
      for (int round = 0; round < rounds; ++round) {
        INFO("crash " << round);
        CrashWhileWriting(*b, w);
        CheckWholeAndResume(*b, w);
      }
      // Nothing was lost but the unacknowledged, which the clients then sent again.
      size_t events = 1 + kClients * 3;
      for (int i = 0; i < kClients; ++i) {
        for (int n = 0; n < w.next[i]; ++n) events += MultiEventClient::Events(n);
      }
      CHECK(EventCount(b->store()) == events);
    }
  }
}

TEST_CASE("after a power loss at a random moment the views equal a rebuild from the log",
          "[conformance][crash][views]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      Workload w(*b);
      const int rounds = Scaled(3, 2);
      for (int round = 0; round < rounds; ++round) {
        INFO("crash " << round);
        CrashWhileWriting(*b, w);
        // The views as the restarted ledger has them, before anything else is written.
        for (const auto& client : w.clients) {
          INFO(client.tenant());
          CHECK(b->ViewsMismatch(client.tenant()) == "");
        }
        // What a backend asking "may U use the product?" is told equals the fold of the
        // log, for every user any command so far (and the one in flight) named.
        for (int i = 0; i < kClients; ++i) {
          const std::string& tenant = w.clients[i].tenant();
          commands::TenantState state;
          REQUIRE(commands::LoadTenant(b->store(), tenant, std::nullopt, &state).ok());
          for (int n = 0; n <= w.next[i] + 1; ++n) {
            for (int u = 0; u < MultiEventClient::ImportedUsers(n); ++u) {
              const std::string user = MultiEventClient::User(n, u);
              commands::AccessDecision viewed;
              REQUIRE(b->reader().Check(tenant, user, kProduct, std::nullopt, &viewed).ok());
              INFO(tenant << "/" << user);
              CHECK(viewed.ToJson() ==
                    commands::CheckAccess(state, user, kProduct, b->store().LedgerTime()).ToJson());
            }
          }
        }
        const auto incremental = b->DumpViews();
        REQUIRE(b->Reopen(/*rebuild_views=*/true).ToString() == "OK");
        CHECK(b->DumpViews() == incremental);
        CheckWholeAndResume(*b, w);
        for (const auto& client : w.clients) {
          INFO(client.tenant() << " after the retries");
          CHECK(b->ViewsMismatch(client.tenant()) == "");
        }
      }
    }
  }
}

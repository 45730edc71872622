// Crash safety of ledgerd as a whole: clients submit over Cap'n Proto while ledgerd is
// killed with SIGKILL at random moments, 20 rounds. After each restart every acknowledged
// command is there (resubmitting it answers "duplicate" with the acknowledged position),
// every unanswered one was applied whole or not at all, and `ledger-replay verify` passes.
// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "server/client.h"
#include "support/ledgerd_client.h"
#include "support/ledgerd_process.h"
#include "support/run_tool.h"

namespace {

using json = nlohmann::json;
using ledger::testing::kSystemToken;
using ledger::testing::LedgerdProcess;

std::unique_ptr<server::LedgerClient> Connect(const LedgerdProcess& d) {
  return ledger::testing::ConnectAsSystem(d);
}

// What the clients of one round saw: acknowledged commands with their positions, and
// commands sent without an answer.
struct Outcomes {
  std::mutex mu;
  std::map<std::string, uint64_t> acknowledged;  // command JSON → position
  std::vector<std::string> unanswered;
};

// Submits `commands` in batches; returns each result object.
std::vector<json> SubmitAll(server::LedgerClient& client,
                            const std::vector<std::string>& commands) {
  std::vector<json> out;
  for (size_t i = 0; i < commands.size(); i += 500) {
    std::vector<std::string> batch(
        commands.begin() + static_cast<std::ptrdiff_t>(i),
        commands.begin() + static_cast<std::ptrdiff_t>(std::min(commands.size(), i + 500)));
    std::vector<std::string> results;
    REQUIRE(client.Submit(batch, &results).ok());
    for (const auto& r : results) out.push_back(json::parse(r));
  }
  return out;
}

TEST_CASE("crash: SIGKILL under load loses nothing acknowledged, 20 rounds", "[server][crash]") {
  LedgerdProcess d;
  REQUIRE(SubmitAll(*Connect(d), {R"({"type":"create_tenant","tenant":"acme","actor":"system",)"
                                  R"("owner":"olga","owner_email":"olga@acme.test"})"})
              .at(0)["status"] == "accepted");
  std::mt19937 rng(20261122);
  std::map<std::string, uint64_t> all_acknowledged;
  size_t total_unanswered = 0;
  for (int round = 0; round < 20; ++round) {
    Outcomes outcomes;
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c) {
      clients.emplace_back([&, c] {
        server::ClientOptions options;
        options.port = d.capnp_port();
        options.token = kSystemToken;
        std::unique_ptr<server::LedgerClient> client;
        if (!server::LedgerClient::Connect(options, &client).ok()) return;
        for (int n = 0; !stop; ++n) {
          const std::string user =
              "r" + std::to_string(round) + "c" + std::to_string(c) + "n" + std::to_string(n);
          const std::string cmd = json{{"type", "invite_member"},
                                       {"tenant", "acme"},
                                       {"actor", "olga"},
                                       {"id", user},
                                       {"user", user},
                                       {"email", user + "@acme.test"}}
                                      .dump();
          std::vector<std::string> results;
          if (!client->Submit({cmd}, &results).ok()) {
            std::lock_guard<std::mutex> lock(outcomes.mu);
            outcomes.unanswered.push_back(cmd);
            return;  // the server is gone
          }
          const json r = json::parse(results.at(0));
          std::lock_guard<std::mutex> lock(outcomes.mu);
          if (r["status"] == "accepted") outcomes.acknowledged[cmd] = r["position"];
        }
      });
    }
    // Kill at a random moment once the round has acknowledged something (under TSan and a
    // busy machine the first answer may take longer than the shortest random delay).
    const auto first_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < first_deadline) {
      {
        std::lock_guard<std::mutex> lock(outcomes.mu);
        if (!outcomes.acknowledged.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 270)(rng)));
    d.Kill();
    stop = true;
    for (auto& t : clients) t.join();
    INFO("round " << round);
    CHECK(!outcomes.acknowledged.empty());

    d.Start();
    auto client = Connect(d);
    // Every acknowledged command is there, at the position it was acknowledged with.
    std::vector<std::string> acked;
    for (const auto& [cmd, position] : outcomes.acknowledged) acked.push_back(cmd);
    const std::vector<json> again = SubmitAll(*client, acked);
    for (size_t i = 0; i < acked.size(); ++i) {
      INFO(acked[i] << " → " << again[i].dump());
      CHECK(again[i]["status"] == "duplicate");
      CHECK(again[i]["position"] == outcomes.acknowledged[acked[i]]);
    }
    // An unanswered command was applied whole (duplicate) or not at all (accepted now).
    const std::vector<json> retried = SubmitAll(*client, outcomes.unanswered);
    for (const auto& r : retried) {
      INFO(r.dump());
      CHECK((r["status"] == "duplicate" || r["status"] == "accepted"));
    }
    all_acknowledged.insert(outcomes.acknowledged.begin(), outcomes.acknowledged.end());
    total_unanswered += outcomes.unanswered.size();
  }
  // The whole history verifies (chains, indexes, views), and still holds every command
  // acknowledged in any round.
  const auto verify = ledger::testing::Tool(LEDGER_REPLAY, "--data " + d.data() + " verify --json");
  INFO(verify.text());
  CHECK(verify.exit_code == 0);
  std::vector<std::string> every;
  for (const auto& [cmd, position] : all_acknowledged) every.push_back(cmd);
  size_t duplicates = 0;
  for (const auto& r : SubmitAll(*Connect(d), every)) duplicates += r["status"] == "duplicate";
  CHECK(duplicates == every.size());
  CHECK(total_unanswered > 0);  // the kills did land in the middle of commands
}

}  // namespace

// ledgerd on the log on PostgreSQL (--postgres; DESIGN section 7), as real processes on a
// throwaway PostgreSQL 15: what a node acknowledged survives SIGKILL and the loss of the
// node's own disk, a second node follows while the first writes (serving reads) and takes
// over within the lease's time once it dies, a fenced node turns follower, and
// ledger-replay audits the log from PostgreSQL.
// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ledger/log_partitions.h"
#include "ledger/time.h"
#include "pg/pg_cluster.h"
#include "server/client.h"
#include "support/floating_seat.h"
#include "support/http_request.h"
#include "support/ledgerd_client.h"
#include "support/ledgerd_process.h"
#include "support/run_tool.h"
#include "support/wait_for.h"

namespace {

using json = nlohmann::json;
using ledger::testing::kSystemToken;
using ledger::testing::Launch;
using ledger::testing::LedgerdProcess;

std::unique_ptr<server::LedgerClient> Connect(const LedgerdProcess& d) {
  return ledger::testing::ConnectAsSystem(d);
}

std::vector<json> Submit(const LedgerdProcess& d, const std::vector<std::string>& commands) {
  std::vector<std::string> results;
  REQUIRE(Connect(d)->Submit(commands, &results).ok());
  std::vector<json> out;
  for (const auto& r : results) out.push_back(json::parse(r));
  return out;
}

// The commands of the test: a tenant, then `n` invitations, each with its own id.
std::vector<std::string> Commands(int n) {
  std::vector<std::string> out = {
      R"({"type":"create_tenant","tenant":"acme","actor":"system","id":"t1","owner":"olga",)"
      R"("owner_email":"olga@acme.test","at":"2026-01-05T09:00:00Z"})"};
  for (int i = 0; i < n; ++i) {
    const std::string u = "u" + std::to_string(i);
    out.push_back(json{{"type", "invite_member"},
                       {"tenant", "acme"},
                       {"actor", "olga"},
                       {"id", "inv-" + u},
                       {"user", u},
                       {"email", u + "@acme.test"},
                       {"at", "2026-01-05T10:00:00Z"}}
                      .dump());
  }
  return out;
}

// Every command answers `duplicate` with the position and version it was accepted at.
void RequireAllDuplicates(const LedgerdProcess& d, const std::vector<std::string>& commands,
                          const std::vector<json>& accepted) {
  const std::vector<json> again = Submit(d, commands);
  REQUIRE(again.size() == accepted.size());
  for (size_t i = 0; i < again.size(); ++i) {
    INFO(commands[i] << " -> " << again[i].dump());
    CHECK(again[i]["status"] == "duplicate");
    CHECK(again[i]["position"] == accepted[i]["position"]);
    CHECK(again[i]["version"] == accepted[i]["version"]);
  }
}

// GET /healthz: its JSON body with "http" set to the status code.
json Health(const LedgerdProcess& d) {
  const ledger::testing::HttpReply reply = ledger::testing::HttpGet(d.http_port(), "/healthz");
  json body = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) body = json::object();
  body["http"] = reply.status;
  return body;
}

using ledger::testing::WaitFor;

}  // namespace

TEST_CASE("postgres: a node's acknowledged commands survive SIGKILL, a lost disk and takeover",
          "[server][postgres]") {
  ledger::testing::PgCluster pg;
  const std::string conninfo = pg.conninfo();
  const std::vector<std::string> args = {"--postgres", conninfo, "--node", "n1"};
  auto n1 = std::make_unique<LedgerdProcess>(args, Launch{{}, "n1", true});
  const std::vector<std::string> commands = Commands(200);
  const std::vector<json> accepted = Submit(*n1, commands);
  for (size_t i = 0; i < accepted.size(); ++i) {
    INFO(accepted[i].dump());
    REQUIRE(accepted[i]["status"] == "accepted");
    REQUIRE(accepted[i]["position"] == i + 1);
  }

  SECTION("SIGKILL and a lost data directory: the node copies the log back") {
    n1->Kill();
    std::filesystem::remove_all(n1->data());
    n1->Start();
    RequireAllDuplicates(*n1, commands, accepted);
    const json next = Submit(*n1, {json{{"type", "invite_member"},
                                        {"tenant", "acme"},
                                        {"actor", "olga"},
                                        {"id", "inv-after"},
                                        {"user", "after"},
                                        {"email", "after@acme.test"},
                                        {"at", "2026-01-05T11:00:00Z"}}
                                       .dump()})
                          .at(0);
    CHECK(next["status"] == "accepted");
    CHECK(next["position"] == commands.size() + 1);
  }

  SECTION("a second node follows while the first writes, and takes over once it dies") {
    // Started without --clock manual: the log's clock (manual, set by n1) decides.
    LedgerdProcess n2({"--postgres", conninfo, "--node", "n2"}, Launch{{}, "n2", false});
    // A follower serves at once: reads from its copy; it does not write (503, naming n1).
    const json health = Health(n2);
    INFO(health.dump());
    CHECK(health["http"] == 503);
    CHECK(health["role"] == "follower");
    CHECK(health["writer"] == "n1");
    CHECK(health["position"] == commands.size());
    // The log has the default 16 partitions; acme's (0) holds every command so far.
    CHECK(health["partitions"] == 16);
    REQUIRE(health["positions"].size() == 16);
    CHECK(health["positions"][0] == commands.size());
    CHECK(health["positions"][15] == ledger::PartitionBase(15));
    CHECK(health["problem"].get<std::string>().find("leased by 'n1'") != std::string::npos);
    // Commands sent to the follower are forwarded to n1; once answered, the follower's
    // own copy holds them (the caller's next check there sees its command).
    const std::string via_n2 =
        json{{"type", "invite_member"},     {"tenant", "acme"}, {"actor", "olga"},
             {"id", "inv-via-n2"},          {"user", "vian2"},  {"email", "vian2@acme.test"},
             {"at", "2026-01-05T11:00:00Z"}}
            .dump();
    const json forwarded = Submit(n2, {via_n2}).at(0);
    INFO(forwarded.dump());
    CHECK(forwarded["status"] == "accepted");
    CHECK(forwarded["position"] == commands.size() + 1);
    commands::AccessDecision visible;
    REQUIRE(Connect(n2)->Check("acme", "vian2", "pcon.planner", "", &visible).ok());
    CHECK(visible.reason == "invitation_pending");  // not "not_member": n2 holds it
    CHECK(Health(n2)["position"] == forwarded["position"]);
    CHECK(Submit(*n1, {via_n2}).at(0)["status"] == "duplicate");  // n1 wrote it, once
    const ledger::testing::HttpReply over_http =
        ledger::testing::HttpRequest(n2.http_port(), boost::beast::http::verb::post, "/v1/commands",
                                     via_n2, ledger::testing::kSystemToken);
    INFO(over_http.body);
    CHECK(over_http.status == 200);
    CHECK(json::parse(over_http.body)["status"] == "duplicate");
    // A batch's commands are decided in their order, as on the writer: the tenant exists
    // before its first invitation.
    const std::string batch =
        R"([{"type":"create_tenant","tenant":"beta","actor":"system","id":"b1","owner":"bea",)"
        R"("owner_email":"bea@beta.test","at":"2026-01-05T11:00:00Z"},)"
        R"({"type":"invite_member","tenant":"beta","actor":"bea","id":"b2","user":"bo",)"
        R"("email":"bo@beta.test","at":"2026-01-05T11:00:00Z"},)"
        R"({"type":"invite_member","tenant":"beta","actor":"bea","id":"b3","user":"bu",)"
        R"("email":"bu@beta.test","at":"2026-01-05T11:00:00Z"}])";
    const ledger::testing::HttpReply ordered =
        ledger::testing::HttpRequest(n2.http_port(), boost::beast::http::verb::post, "/v1/commands",
                                     batch, ledger::testing::kSystemToken);
    INFO(ordered.body);
    REQUIRE(ordered.status == 200);
    for (const json& r : json::parse(ordered.body)) CHECK(r["status"] == "accepted");
    // The whole log reads across partitions, in position order: acme's (partition 0),
    // then beta's three events at the start of beta's partition.
    const ledger::testing::HttpReply all = ledger::testing::HttpRequest(
        n2.http_port(), boost::beast::http::verb::get, "/v1/events?from=1&follow=0", "",
        ledger::testing::kSystemToken);
    REQUIRE(all.status == 200);
    std::vector<uint64_t> positions;
    std::istringstream lines(all.body);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) positions.push_back(json::parse(line)["position"].get<uint64_t>());
    }
    const uint64_t beta_base = ledger::PartitionBase(ledger::LogPartitionOf("beta", 16));
    REQUIRE(positions.size() == forwarded["position"].get<uint64_t>() + 3);
    CHECK(std::is_sorted(positions.begin(), positions.end()));
    CHECK(positions[positions.size() - 3] == beta_base + 1);
    CHECK(positions.back() == beta_base + 3);
    // A domain rejection answers 200 through a follower as on the writer (not the 403 of a
    // token's refusal).
    const ledger::testing::HttpReply refused = ledger::testing::HttpRequest(
        n2.http_port(), boost::beast::http::verb::post, "/v1/commands",
        R"({"type":"create_tenant","tenant":"gamma","actor":"olga","id":"g1","owner":"olga",)"
        R"("owner_email":"olga@gamma.test","at":"2026-01-05T11:00:00Z"})",
        ledger::testing::kSystemToken);
    INFO(refused.body);
    CHECK(refused.status == 200);
    CHECK(json::parse(refused.body)["code"] == "forbidden");
    const std::string forwarding = ledger::testing::HttpGet(n2.http_port(), "/metrics").body;
    CHECK(forwarding.find("\nledger_commands_forwarded_total 6\n") != std::string::npos);
    // Past the lease's 5 s n1 still writes (it renews the lease while idle), and n2's copy
    // follows what n1 writes.
    std::this_thread::sleep_for(std::chrono::seconds(6));
    const std::string idle = json{
        {"type", "invite_member"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"id", "inv-idle"},
        {"user", "idle"},
        {"email", "idle@acme.test"},
        {"at",
         "2026-01-05T11:00:00Z"}}.dump();
    const json still = Submit(*n1, {idle}).at(0);
    INFO(still.dump());
    CHECK(still["status"] == "accepted");
    // (Positions name their partition: acme's is not the highest the log holds.)
    std::string state;
    CHECK(WaitFor(20, [&] {
      return Connect(n2)->State("acme", &state).ok() &&
             state.find("idle@acme.test") != std::string::npos;
    }));
    CHECK(Health(n2)["role"] == "follower");
    const std::string following = ledger::testing::HttpGet(n2.http_port(), "/metrics").body;
    CHECK(following.find("\nledger_log_leases_held 0\n") != std::string::npos);
    CHECK(following.find("\nledger_log_lag_events 0\n") != std::string::npos);
    // A follower commits nothing to the log.
    CHECK(ledger::testing::MetricValue(following, "ledger_log_commit_seconds_total") == 0);

    n1->Kill();
    const auto killed = std::chrono::steady_clock::now();
    REQUIRE(WaitFor(30, [&] { return Health(n2)["http"] == 200; }));
    const double takeover =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
    INFO("takeover after " << takeover << " s");
    CHECK(takeover < 10.0);
    CHECK(Health(n2)["role"] == "writer");
    const std::string writing = ledger::testing::HttpGet(n2.http_port(), "/metrics").body;
    CHECK(writing.find("\nledger_log_leases_held 16\n") != std::string::npos);  // all 16
    CHECK(writing.find("\nledger_log_takeovers_total 1\n") != std::string::npos);
    RequireAllDuplicates(n2, commands, accepted);
    const json timed = Submit(n2, {json{{"type", "invite_member"},
                                        {"tenant", "acme"},
                                        {"actor", "olga"},
                                        {"id", "inv-timed"},
                                        {"user", "timed"},
                                        {"email", "timed@acme.test"},
                                        {"at", "2026-01-06T09:00:00Z"}}
                                       .dump()})
                           .at(0);
    INFO(timed.dump());
    CHECK(timed["status"] == "accepted");
    // The new writer's groups went to the log first (the time is counted apart from the
    // local copy's write).
    const std::string wrote = ledger::testing::HttpGet(n2.http_port(), "/metrics").body;
    CHECK(ledger::testing::MetricValue(wrote, "ledger_log_commit_seconds_total") > 0);
    CHECK(ledger::testing::MetricValue(wrote, "ledger_group_write_seconds_total") > 0);
  }

  SECTION("a node stopped past its lease is fenced when it wakes, then follows the new writer") {
    ::kill(n1->pid(), SIGSTOP);
    LedgerdProcess n2({"--postgres", conninfo, "--node", "n2"}, Launch{{}, "n2", true});
    // n2 takes the log once the stopped node's lease has run out.
    REQUIRE(WaitFor(30, [&] { return Health(n2)["http"] == 200; }));
    const std::string by_n2 = json{
        {"type", "invite_member"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"id", "inv-n2"},
        {"user", "n2user"},
        {"email", "n2user@acme.test"},
        {"at",
         "2026-01-05T11:00:00Z"}}.dump();
    const json accepted_by_n2 = Submit(n2, {by_n2}).at(0);
    REQUIRE(accepted_by_n2["status"] == "accepted");
    ::kill(n1->pid(), SIGCONT);
    // The stale node still believes it may write; the log's fence refuses its group.
    const json stale = Submit(*n1, {json{{"type", "invite_member"},
                                         {"tenant", "acme"},
                                         {"actor", "olga"},
                                         {"id", "inv-stale"},
                                         {"user", "stale"},
                                         {"email", "stale@acme.test"},
                                         {"at", "2026-01-05T12:00:00Z"}}
                                        .dump()})
                           .at(0);
    INFO(stale.dump());
    CHECK(stale["status"] == "rejected");
    CHECK(stale["code"] == "unavailable");
    // The log holds n2's command, not the stale one.
    const json again = Submit(n2, {by_n2}).at(0);
    CHECK(again["status"] == "duplicate");
    const ledger::testing::Run state = ledger::testing::Tool(
        LEDGER_REPLAY, "--postgres '" + conninfo + "' state --tenant acme --json");
    REQUIRE(state.exit_code == 0);
    const std::string text = state.text();
    CHECK(text.find("n2user") != std::string::npos);
    CHECK(text.find("\"stale\"") == std::string::npos);
    // The fenced node becomes a follower of n2: its copy reaches n2's command.
    json n1_health;
    WaitFor(20, [&] {
      n1_health = Health(*n1);
      return n1_health["role"] == "follower" && n1_health["position"] == accepted_by_n2["position"];
    });
    CHECK(n1_health["role"] == "follower");
    CHECK(n1_health["position"] == accepted_by_n2["position"]);
    CHECK(n1_health["problem"].get<std::string>().find("leased by 'n2'") != std::string::npos);
    INFO(n1->log());
    CHECK(n1_health["writer"] == "n2");
    CHECK(n1_health["lag_events"] == 0);
    // Its views hold n2's command (not its own fenced one): checks are right there.
    commands::AccessDecision decision;
    REQUIRE(Connect(*n1)->Check("acme", "n2user", "pcon.planner", "", &decision).ok());
    CHECK(decision.reason == "invitation_pending");
    REQUIRE(Connect(*n1)->Check("acme", "stale", "pcon.planner", "", &decision).ok());
    CHECK(decision.reason == "not_member");
    // As a follower it forwards commands to n2: the one n2 took is a duplicate there.
    const json forwarded = Submit(*n1, {by_n2}).at(0);
    INFO(forwarded.dump());
    CHECK(forwarded["status"] == "duplicate");
    CHECK(forwarded["position"] == accepted_by_n2["position"]);
  }

  SECTION("ledgerctl --postgres: reads a copy; writes only while no ledgerd holds the log") {
    const std::string pg_arg = "--postgres '" + conninfo + "'";
    const std::string invite =
        R"({"type":"invite_member","tenant":"acme","actor":"olga","id":"inv-ctl","user":"ctl",)"
        R"("email":"ctl@acme.test","at":"2026-01-05T11:00:00Z"})";
    const std::string file = n1->path("invite.json");
    ledger::testing::Write(file, invite + "\n");
    const ledger::testing::Run refused =
        ledger::testing::ToolWithErrors(LEDGERCTL, pg_arg + " submit " + file);
    INFO(refused.text());
    CHECK(refused.exit_code == 1);
    CHECK(refused.text().find("leased by 'n1'") != std::string::npos);
    CHECK(refused.text().find("--server") != std::string::npos);
    const ledger::testing::Run check = ledger::testing::Tool(
        LEDGERCTL, pg_arg + " check --tenant acme --user u7 --product pcon.planner");
    INFO(check.text());
    CHECK(check.exit_code == 0);
    CHECK(check.text().find("\"allowed\":false") != std::string::npos);

    REQUIRE(n1->Stop() == 0);  // a clean stop frees the log at once
    const ledger::testing::Run written =
        ledger::testing::Tool(LEDGERCTL, pg_arg + " submit " + file);
    INFO(written.text());
    REQUIRE(written.exit_code == 0);
    const json result = json::parse(written.lines.at(0));
    CHECK(result["status"] == "accepted");
    CHECK(result["position"] == commands.size() + 1);
    // The node copies what ledgerctl wrote when it comes back.
    n1->Start();
    CHECK(Submit(*n1, {invite}).at(0)["status"] == "duplicate");
  }

  SECTION("ledger-replay reads the log from PostgreSQL: verify passes, state has every member") {
    const ledger::testing::Run verify = ledger::testing::ToolWithErrors(
        LEDGER_REPLAY, "--postgres '" + conninfo + "' verify --json");
    INFO(verify.text());
    CHECK(verify.exit_code == 0);
    const ledger::testing::Run state = ledger::testing::Tool(
        LEDGER_REPLAY, "--postgres '" + conninfo + "' state --tenant acme --json");
    INFO(state.text());
    REQUIRE(state.exit_code == 0);
    const json j = json::parse(state.text());
    CHECK(j["members"].size() == 201);  // the owner and 200 invited
  }
}

TEST_CASE("postgres: after a takeover the new writer expires the leases the dead one granted",
          "[server][postgres][leases][slow]") {
  ledger::testing::PgCluster pg;
  const std::string conninfo = pg.conninfo();
  // The system clock: the sweeper writes expiries only there.
  auto n1 = std::make_unique<LedgerdProcess>(
      std::vector<std::string>{"--postgres", conninfo, "--node", "n1"}, Launch{{}, "n1", false});
  LedgerdProcess n2({"--postgres", conninfo, "--node", "n2"}, Launch{{}, "n2", false});
  const std::vector<std::string> commands = ledger::testing::FloatingSeatCheckedOut();
  const std::vector<json> results = Submit(*n1, commands);
  for (const auto& r : results) REQUIRE(r["status"] == "accepted");
  const auto expires = ledger::ParseRfc3339(results.back()["expires_at"].get<std::string>());
  REQUIRE(expires);
  // n1 dies holding the lease's due time; n2 takes the log over and nothing else is sent.
  n1->Kill();
  REQUIRE(WaitFor(30, [&] { return Health(n2)["role"] == "writer"; }));
  bool expired = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(80);
  while (!expired && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::string state;
    REQUIRE(Connect(n2)->State("acme", &state).ok());
    expired = json::parse(state)["subscriptions"][0]["leases"].empty();
  }
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  REQUIRE(expired);
  CHECK(now < *expires + 10'000'000);  // swept by n2 within seconds of the expiry
}

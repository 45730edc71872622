// ledgerd as backend services use it: a real process on 127.0.0.1 (ephemeral port), real
// sockets, HTTP/1.1 — the auth matrix, tenant scoping, bad input, a race for the last
// seat, and a SIGTERM drain with commands in flight.
// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "ledger/sha256.h"
#include "support/command_json.h"
#include "support/http_request.h"
#include "support/ledgerd_process.h"
#include "support/run_tool.h"
#include "support/temp_dir.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using ledger::testing::Write;

constexpr const char* kSystem = ledger::testing::kSystemToken;
constexpr const char* kAcme = ledger::testing::kAcmeToken;
constexpr const char* kAcmeAuditor = ledger::testing::kAuditorToken;

// A ledgerd child process (tokens: kSystem for all tenants, kAcme for acme) and an HTTP
// client of it.
class Ledgerd {
 public:
  void Start() { process_.Start(); }
  // Sends SIGTERM and returns the exit code.
  int Stop() { return process_.Stop(); }

  using Reply = ledger::testing::HttpReply;

  // One request on a new connection.
  Reply Request(http::verb method, const std::string& target, const std::string& body = "",
                const std::string& token = "") const {
    return ledger::testing::HttpRequest(port(), method, target, body, token);
  }
  Reply Post(const json& body, const std::string& token) const {
    return Request(http::verb::post, "/v1/commands", body.dump(), token);
  }
  Reply Get(const std::string& target, const std::string& token) const {
    return Request(http::verb::get, target, "", token);
  }

  uint16_t port() const { return process_.http_port(); }
  std::string data() const { return process_.data(); }

 private:
  ledger::testing::LedgerdProcess process_;
};

json Cmd(const std::string& type, const std::string& actor, json fields) {
  return ledger::testing::CommandJson(type, actor, std::move(fields));
}

// acme (owner olga) with pcon, bob and carol active members, and a 1-seat subscription L1.
void Setup(const Ledgerd& d) {
  const json commands = json::array({
      Cmd("define_product", "system",
          {{"product", "pcon"}, {"editions", {"std"}}, {"at", "2026-01-05T09:00:00Z"}}),
      Cmd("create_tenant", "system", {{"owner", "olga"}, {"owner_email", "olga@acme.test"}}),
      Cmd("create_tenant", "system",
          {{"tenant", "globex"}, {"owner", "gus"}, {"owner_email", "gus@globex.test"}}),
      Cmd("invite_member", "olga", {{"user", "bob"}, {"email", "bob@acme.test"}}),
      Cmd("accept_invitation", "bob", json::object()),
      Cmd("purchase_subscription", "olga",
          {{"subscription", "L1"},
           {"product", "pcon"},
           {"edition", "std"},
           {"seats", 1},
           {"period_start", "2026-01-01T00:00:00Z"},
           {"period_end", "2027-01-01T00:00:00Z"}}),
  });
  const auto r = d.Post(commands, kSystem);
  REQUIRE(r.status == 200);
  for (const auto& result : r.Json()) REQUIRE(result["status"] == "accepted");
}

}  // namespace

TEST_CASE("ledgerd: the auth matrix and tenant scoping", "[server][ledgerd]") {
  Ledgerd d;
  Setup(d);
  const json invite = Cmd("invite_member", "olga", {{"user", "dan"}, {"email", "dan@acme.test"}});
  CHECK(d.Post(invite, "").status == 401);
  CHECK(d.Post(invite, "wrong").status == 401);
  CHECK(d.Post(Cmd("invite_member", "gus",
                   {{"tenant", "globex"}, {"user", "x"}, {"email", "x@globex.test"}}),
               kAcme)
            .status == 403);  // tenant outside the token's list
  CHECK(d.Post(Cmd("invite_member", "system", {{"user", "eve"}, {"email", "eve@acme.test"}}),
               kAcme)
            .status == 403);  // system without "system": true
  CHECK(d.Post(Cmd("define_product", "system", {{"product", "p2"}, {"editions", {"a"}}}), kAcme)
            .status == 403);  // the catalog
  const auto ok = d.Post(invite, kAcme);
  CHECK(ok.status == 200);
  CHECK(ok.Json()["status"] == "accepted");
  CHECK(d.Get("/v1/tenants/acme/check?user=bob&product=pcon", "").status == 401);
  CHECK(d.Get("/v1/tenants/globex/state", kAcme).status == 403);
  CHECK(d.Get("/v1/tenants/globex/check?user=gus&product=pcon", kSystem).status == 200);
  CHECK(d.Get("/healthz", "").status == 200);
  // Metrics count the refusals; only the 7 authorized commands reached the store, each
  // timed from arrival to durable answer.
  const auto metrics = d.Get("/metrics", "");
  CHECK(metrics.status == 200);
  INFO(metrics.body);
  for (const char* line :
       {"ledger_auth_failures_total{code=\"401\"} 3\n",
        "ledger_auth_failures_total{code=\"403\"} 4\n",
        "ledger_commands_total{status=\"accepted\"} 7\n",
        "ledger_append_latency_seconds_bucket{le=\"+Inf\"} 7\n",
        "ledger_append_latency_seconds_count 7\n", "ledger_group_commit_size_sum 7\n",
        "ledger_events_total 7\n", "ledger_connections{protocol=\"capnp\"} 0\n"}) {
    CHECK(metrics.body.find(line) != std::string::npos);
  }
  // Where those groups spent their time: deciding and encoding, then the synced write.
  CHECK(ledger::testing::MetricValue(metrics.body, "ledger_group_build_seconds_total") > 0);
  CHECK(ledger::testing::MetricValue(metrics.body, "ledger_group_write_seconds_total") > 0);
}

TEST_CASE("ledgerd: check and state over HTTP", "[server][ledgerd]") {
  Ledgerd d;
  Setup(d);
  REQUIRE(d.Post(Cmd("assign_seat", "olga",
                     {{"subscription", "L1"}, {"user", "bob"}, {"at", "2026-02-01T00:00:00Z"}}),
                 kAcme)
              .Json()["status"] == "accepted");
  auto c = d.Get("/v1/tenants/acme/check?user=bob&product=pcon", kAcme);
  REQUIRE(c.status == 200);
  CHECK(c.Json() == json{{"allowed", true}, {"reason", nullptr}, {"subscription", "L1"}});
  c = d.Get("/v1/tenants/acme/check?user=bob&product=pcon&at=2026-01-15T00:00:00Z", kAcme);
  CHECK(c.Json()["reason"] == "no_seat");
  CHECK(d.Get("/v1/tenants/acme/check?user=bob", kAcme).status == 400);
  CHECK(d.Get("/v1/tenants/acme/check?user=bob&product=pcon&at=soon", kAcme).status == 400);
  const auto s = d.Get("/v1/tenants/acme/state", kAcme);
  REQUIRE(s.status == 200);
  CHECK(s.Json()["subscriptions"][0]["assigned"] == json{"bob"});
  CHECK(d.Get("/v1/tenants/nobody/state", kSystem).status == 404);
}

TEST_CASE("ledgerd: bad input gets clear errors and never wedges the server", "[server][ledgerd]") {
  Ledgerd d;
  Setup(d);
  auto r = d.Request(http::verb::post, "/v1/commands", "{not json", kAcme);
  CHECK(r.status == 400);
  CHECK(r.Json()["code"] == "bad_request");
  r = d.Post(Cmd("resize", "olga", {{"subscription", "L1"}, {"seats", "two"}}), kAcme);
  CHECK(r.status == 400);
  CHECK(r.Json()["message"].get<std::string>().find("seats") != std::string::npos);
  r = d.Request(http::verb::post, "/v1/commands", std::string(2 << 20, ' '), kAcme);
  CHECK(r.status == 413);
  CHECK(d.Get("/v1/nothing", kAcme).status == 404);
  CHECK(d.Request(http::verb::delete_, "/v1/commands", "", kAcme).status == 405);
  // Random bytes and a truncated request on raw sockets.
  for (const std::string& junk :
       {std::string("\x01\x02garbage\r\n\r\n", 13),
        std::string("POST /v1/commands HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")}) {
    net::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), d.port()));
    net::write(s, net::buffer(junk));
    s.shutdown(tcp::socket::shutdown_send);
    char buf[512];
    beast::error_code ec;
    s.read_some(net::buffer(buf), ec);  // an answer or a close, never a hang
  }
  CHECK(d.Get("/healthz", "").status == 200);
}

TEST_CASE("ledgerd: 64 concurrent clients race for the last seat, exactly one wins",
          "[server][ledgerd]") {
  Ledgerd d;
  Setup(d);
  std::vector<std::string> users;
  json invites = json::array();
  for (int i = 0; i < 64; ++i) {
    users.push_back("u" + std::to_string(i));
    invites.push_back(Cmd("invite_member", "olga",
                          {{"user", users.back()}, {"email", users.back() + "@acme.test"}}));
    invites.push_back(Cmd("accept_invitation", users.back(), json::object()));
  }
  REQUIRE(d.Post(invites, kAcme).status == 200);
  std::atomic<int> accepted{0}, limit{0}, other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 64; ++i) {
    clients.emplace_back([&, i] {
      const auto r =
          d.Post(Cmd("assign_seat", "olga", {{"subscription", "L1"}, {"user", users[i]}}), kAcme);
      if (r.status != 200) return void(++other);
      const json j = r.Json();
      if (j["status"] == "accepted") {
        ++accepted;
      } else if (j["code"] == "seat_limit_reached") {
        ++limit;
      } else {
        ++other;
      }
    });
  }
  for (auto& c : clients) c.join();
  CHECK(accepted == 1);
  CHECK(limit == 63);
  CHECK(other == 0);
}

TEST_CASE("ledgerd: SIGTERM drains in-flight commands, every acknowledged one is kept",
          "[server][ledgerd]") {
  Ledgerd d;
  Setup(d);
  std::atomic<bool> go{true};
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::vector<std::thread> clients;
  for (int c = 0; c < 16; ++c) {
    clients.emplace_back([&, c] {
      for (int n = 0; go; ++n) {
        const std::string user = "w" + std::to_string(c) + "-" + std::to_string(n);
        const auto r = d.Post(
            Cmd("invite_member", "olga", {{"user", user}, {"email", user + "@acme.test"}}), kAcme);
        if (r.status == 0) return;  // the server is gone
        if (r.status == 200 && r.Json()["status"] == "accepted") {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged.push_back(user);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(d.Stop() == 0);
  go = false;
  for (auto& c : clients) c.join();
  REQUIRE(!acknowledged.empty());
  // Every acknowledged invitation is in the ledger after the restart.
  d.Start();
  const json state = d.Get("/v1/tenants/acme/state", kAcme).Json();
  std::set<std::string> members;
  for (const auto& m : state["members"]) members.insert(m["user"].get<std::string>());
  for (const auto& u : acknowledged) {
    INFO(u);
    CHECK(members.count(u) == 1);
  }
}

TEST_CASE("ledgerd: the events stream, scoped by tenant, with a live tail", "[server][ledgerd]") {
  Ledgerd d;
  Setup(d);
  // The whole log (a token for every tenant), then stop.
  auto all = d.Get("/v1/events?from=1&follow=0", kSystem);
  REQUIRE(all.status == 200);
  std::vector<json> events;
  std::istringstream lines(all.body);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) events.push_back(json::parse(line));
  }
  REQUIRE(events.size() == 6);
  for (size_t i = 0; i < events.size(); ++i) CHECK(events[i]["position"] == i + 1);
  CHECK(events[0]["type"] == "product_defined");
  // A token for one tenant must name it, and only gets its events; the events stream is
  // an auditor's read (a service token, as one without a role, gets 403).
  CHECK(d.Get("/v1/events?tenant=acme&follow=0", kAcme).status == 403);
  CHECK(d.Get("/v1/events?follow=0", kAcmeAuditor).status == 403);
  CHECK(d.Get("/v1/events?tenant=globex&follow=0", kAcmeAuditor).status == 403);
  CHECK(d.Get("/v1/events?from=x&follow=0", kSystem).status == 400);
  const auto acme = d.Get("/v1/events?tenant=acme&follow=0", kAcmeAuditor);
  REQUIRE(acme.status == 200);
  CHECK(acme.body.find("\"tenant\":\"globex\"") == std::string::npos);
  CHECK(acme.body.find("\"tenant\":\"acme\"") != std::string::npos);
  // Live tail: a new durable event reaches an open stream.
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), d.port()));
  const std::string request = std::string("GET /v1/events?tenant=acme&from=7 HTTP/1.1\r\n") +
                              "Host: 127.0.0.1\r\nAuthorization: Bearer " + kAcmeAuditor +
                              "\r\n\r\n";
  net::write(s, net::buffer(request));
  REQUIRE(
      d.Post(Cmd("invite_member", "olga", {{"user", "tailed"}, {"email", "t@acme.test"}}), kAcme)
          .Json()["status"] == "accepted");
  std::string received;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (received.find("\"user\":\"tailed\"") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    char buf[4096];
    beast::error_code ec;
    if (s.available(ec) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    const size_t n = s.read_some(net::buffer(buf), ec);
    if (ec) break;
    received.append(buf, n);
  }
  CHECK(received.find("200 OK") != std::string::npos);
  CHECK(received.find("\"user\":\"tailed\"") != std::string::npos);
  // SIGTERM with a stream open still drains and exits 0.
  CHECK(d.Stop() == 0);
}

TEST_CASE("ledgerd, ledgerctl, ledger-replay: --help lists every option on stdout, exit 0",
          "[server][ledgerd]") {
  const std::vector<std::pair<std::string, std::vector<std::string>>> tools = {
      {LEDGERD,
       {"--data", "--listen", "--http", "--tokens", "--tls-cert", "--postgres", "--node",
        "--backup-dir", "--idle-timeout", "default 1024"}},
      {LEDGERCTL,
       {"--data", "--clock", "--server", "--token", "--tls-ca", "--postgres", "submit", "check"}},
      {LEDGER_REPLAY, {"--data", "--tenant", "--json", "--postgres", "history", "verify"}},
  };
  for (const auto& [tool, expected] : tools) {
    const auto r = ledger::testing::Tool(tool, "--help");  // stdout only
    INFO(tool << "\n" << r.text());
    CHECK(r.exit_code == 0);
    for (const auto& word : expected) CHECK(r.text().find(word) != std::string::npos);
  }
}

TEST_CASE("ledger-replay and ledgerctl VERB --help say what the verb does", "[server][ledgerd]") {
  const std::vector<std::pair<std::string, std::string>> verbs = {
      {"history", "GET /v1/tenants/T/history"},
      {"explain", "causal chain"},
      {"export", "(streamed)"},
      {"what-if", "Nothing is recorded"},
      {"verify", "Exit 3"},
      {"rebuild", "the one verb that writes"}};
  for (const auto& [verb, words] : verbs) {
    const auto r = ledger::testing::Tool(LEDGER_REPLAY, verb + " --help");
    INFO(verb << "\n" << r.text());
    CHECK(r.exit_code == 0);
    CHECK(r.text().find("usage: ledger-replay --data DIR " + verb) != std::string::npos);
    CHECK(r.text().find(words) != std::string::npos);
  }
  const auto bad = ledger::testing::ToolWithErrors(LEDGER_REPLAY, "frobnicate --help");
  CHECK(bad.exit_code == 2);
  CHECK(bad.text().find("unknown verb 'frobnicate'") != std::string::npos);
  // ledgerctl likewise.
  for (const std::string verb : {"submit", "check", "import-members", "checkout", "heartbeat",
                                 "checkin", "backup", "restore"}) {
    const auto r = ledger::testing::Tool(LEDGERCTL, verb + " --help");
    INFO(verb << "\n" << r.text());
    CHECK(r.exit_code == 0);
    CHECK(r.text().find("usage: ledgerctl") != std::string::npos);
    CHECK(r.text().find(verb) != std::string::npos);
  }
  CHECK(ledger::testing::Tool(LEDGERCTL, "check --help").text().find("--product P") !=
        std::string::npos);
}

TEST_CASE("ledgerd: bad options exit 2 with a message naming the option", "[server][ledgerd]") {
  ledger::testing::TempDir dir;
  const std::string tokens = dir.path() + "/tokens.json";
  std::ofstream(tokens) << "[]\n";
  // Runs ledgerd with `args`: its exit code and what it printed.
  auto run = [&](const std::string& args) {
    const auto r = ledger::testing::ToolWithErrors(
        LEDGERD, "--data " + dir.path() + "/data --tokens " + tokens + " " + args);
    return std::make_pair(r.exit_code, r.text());
  };
  auto [code, text] = run("--max-open-tables 10");
  CHECK(code == 2);
  CHECK(text.find("--max-open-tables must be at least 32") != std::string::npos);
  std::tie(code, text) = run("--io-threads 0");
  CHECK(code == 2);
  CHECK(text.find("--io-threads must be 1 to 64") != std::string::npos);
  std::tie(code, text) = run("--listen nowhere");
  CHECK(code == 2);
  CHECK(text.find("--listen: expected HOST:PORT") != std::string::npos);
  // None of them opened (or created) the ledger.
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/data"));
}

TEST_CASE("ledgerd: floating seats over the REST lease routes", "[server][ledgerd][leases]") {
  Ledgerd d;
  Setup(d);
  // F1: one concurrent seat, assigned to bob and olga.
  const json setup =
      json::array({Cmd("purchase_subscription", "olga",
                       {{"subscription", "F1"},
                        {"product", "pcon"},
                        {"edition", "std"},
                        {"seats", 1},
                        {"seat_model", "concurrent"},
                        {"period_start", "2026-01-01T00:00:00Z"},
                        {"period_end", "2027-01-01T00:00:00Z"}}),
                   Cmd("assign_seat", "olga", {{"subscription", "F1"}, {"user", "bob"}}),
                   Cmd("assign_seat", "olga", {{"subscription", "F1"}, {"user", "olga"}})});
  for (const auto& r : d.Post(setup, kAcme).Json()) REQUIRE(r["status"] == "accepted");
  const std::string leases = "/v1/tenants/acme/leases";
  // Checkout: the user acts for themselves unless an actor is named.
  auto out =
      d.Request(http::verb::post, leases,
                json{{"subscription", "F1"}, {"user", "bob"}, {"device", "pc1"}}.dump(), kAcme);
  REQUIRE(out.status == 200);
  const json granted = out.Json();
  CHECK(granted["status"] == "accepted");
  CHECK(granted["subscription"] == "F1");
  const std::string lease = granted["lease"];
  CHECK(lease.rfind("lease-", 0) == 0);
  CHECK(granted["expires_at"].is_string());
  // The only seat is leased: olga is refused, by the code a client branches on.
  out = d.Request(http::verb::post, leases,
                  json{{"subscription", "F1"}, {"user", "olga"}, {"device", "pc2"}}.dump(), kAcme);
  CHECK(out.status == 200);
  CHECK(out.Json()["code"] == "no_free_seat");
  // The list: bob's lease with its expiry.
  out = d.Get(leases, kAcme);
  REQUIRE(out.status == 200);
  CHECK(out.Json()["tenant"] == "acme");
  REQUIRE(out.Json()["leases"].size() == 1);
  const json row = out.Json()["leases"][0];
  CHECK(row["lease"] == lease);
  CHECK(row["subscription"] == "F1");
  CHECK(row["user"] == "bob");
  CHECK(row["device"] == "pc1");
  CHECK(row["granted_at"].is_string());
  CHECK(row["expires_at"] == granted["expires_at"]);
  // Heartbeat renews; the lease in the path, the actor in the body.
  out = d.Request(http::verb::post, leases + "/" + lease + "/heartbeat",
                  json{{"actor", "bob"}}.dump(), kAcme);
  CHECK(out.status == 200);
  CHECK(out.Json()["status"] == "accepted");
  CHECK(out.Json()["lease"] == lease);
  // Bad input names the field; another tenant's token is refused; unknown routes are 404.
  out = d.Request(http::verb::post, leases + "/" + lease + "/heartbeat",
                  json{{"actor", "bob"}, {"lease", "lease-1"}}.dump(), kAcme);
  CHECK(out.status == 400);
  CHECK(out.Json()["message"] == "lease: the path names another lease");
  out = d.Request(http::verb::post, leases, "[1]", kAcme);
  CHECK(out.status == 400);
  CHECK(out.Json()["message"] == "body: a JSON object (or nothing)");
  out = d.Request(http::verb::post, leases, json{{"type", "checkin"}}.dump(), kAcme);
  CHECK(out.Json()["message"] == "type: set by the route");
  out = d.Request(http::verb::post, leases, json{{"user", "bob"}, {"device", "x"}}.dump(), kAcme);
  CHECK(out.status == 400);
  CHECK(out.Json()["message"].get<std::string>().rfind("subscription", 0) == 0);
  CHECK(d.Get("/v1/tenants/globex/leases", kAcme).status == 403);
  CHECK(d.Request(http::verb::post, "/v1/tenants/globex/leases",
                  json{{"subscription", "F1"}, {"user", "gus"}, {"device", "x"}}.dump(), kAcme)
            .status == 403);
  CHECK(d.Request(http::verb::put, leases, "", kAcme).status == 405);
  CHECK(d.Request(http::verb::get, leases + "/" + lease + "/renew", "", kAcme).status == 404);
  // Checkin (DELETE, the actor in the query) frees the seat for olga.
  out = d.Request(http::verb::delete_, leases + "/" + lease + "?actor=bob", "", kAcme);
  CHECK(out.status == 200);
  CHECK(out.Json()["status"] == "accepted");
  CHECK(d.Get(leases, kAcme).Json()["leases"].empty());
  out = d.Request(http::verb::delete_, leases + "/" + lease + "?actor=bob", "", kAcme);
  CHECK(out.Json()["code"] == "not_found");
  out = d.Request(http::verb::post, leases,
                  json{{"subscription", "F1"}, {"user", "olga"}, {"device", "pc2"}}.dump(), kAcme);
  CHECK(out.Json()["status"] == "accepted");
}

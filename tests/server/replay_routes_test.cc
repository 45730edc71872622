// The audit verbs over HTTP and least-privilege tokens (issue 19), against a real ledgerd:
// each route answers exactly what `ledger-replay VERB --json` prints for the same data,
// bad parameters are named, and every role reaches exactly its routes on its tenants.
// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/command_json.h"
#include "support/http_request.h"
#include "support/ledgerd_process.h"
#include "support/run_tool.h"
#include "support/self_signed.h"
#include "support/temp_dir.h"

namespace {

namespace http = boost::beast::http;
using json = nlohmann::json;
using ledger::testing::HttpReply;
using ledger::testing::HttpRequest;
using ledger::testing::LedgerdProcess;

json Cmd(const std::string& type, const std::string& actor, json fields) {
  return ledger::testing::CommandJson(type, actor, std::move(fields));
}

// acme: bob invited, seated on L1 and revoked (backdated); one rejected attempt; globex.
void Setup(const LedgerdProcess& d) {
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
      Cmd("assign_seat", "olga",
          {{"subscription", "L1"}, {"user", "bob"}, {"at", "2026-02-01T10:00:00Z"}}),
      Cmd("assign_seat", "olga", {{"subscription", "L1"}, {"user", "olga"}}),  // no seat left
      Cmd("revoke_seat", "olga",
          {{"subscription", "L1"}, {"user", "bob"}, {"at", "2026-03-01T10:00:00Z"}}),
  });
  const HttpReply r = HttpRequest(d.http_port(), http::verb::post, "/v1/commands", commands.dump(),
                                  ledger::testing::kSystemToken);
  REQUIRE(r.status == 200);
  const json results = r.Json();
  for (size_t i = 0; i < results.size(); ++i) {
    INFO(results[i].dump());
    CHECK(results[i]["status"] == (i == 7 ? "rejected" : "accepted"));
  }
}

HttpReply Get(const LedgerdProcess& d, const std::string& target, const std::string& token) {
  return HttpRequest(d.http_port(), http::verb::get, target, "", token);
}

}  // namespace

TEST_CASE("ledgerd: the replay verbs over HTTP answer what ledger-replay --json prints",
          "[server][ledgerd][replay]") {
  LedgerdProcess d;
  Setup(d);
  // Route → the ledger-replay arguments of the same question.
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"history?user=bob", "history --tenant acme --user bob"},
      {"history?subscription=L1&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z",
       "history --tenant acme --subscription L1 --from 2026-01-01T00:00:00Z --to "
       "2027-01-01T00:00:00Z"},
      {"explain?user=bob&product=pcon&at=2026-02-15T00:00:00Z",
       "explain --tenant acme --user bob --product pcon --at 2026-02-15T00:00:00Z"},
      {"diff?from=2026-02-15T00:00:00Z&to=2026-03-15T00:00:00Z",
       "diff --tenant acme --from 2026-02-15T00:00:00Z --to 2026-03-15T00:00:00Z"},
      {"state?at=2026-02-15T00:00:00Z", "state --tenant acme --at 2026-02-15T00:00:00Z"},
      {"state?position=5", "state --tenant acme --position 5"},
      {"usage?subscription=L1&from=2026-01-01T00:00:00Z&to=2026-04-01T00:00:00Z",
       "usage --tenant acme --subscription L1 --from 2026-01-01T00:00:00Z --to "
       "2026-04-01T00:00:00Z"},
      {"digest", "digest --tenant acme"},
      {"rejections", "rejections --tenant acme"},
      {"rejections?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z",
       "rejections --tenant acme --from 2026-01-01T00:00:00Z --to 2027-01-01T00:00:00Z"},
  };
  std::map<std::string, std::string> answers;
  for (const auto& [route, args] : pairs) {
    const HttpReply r = Get(d, "/v1/tenants/acme/" + route, ledger::testing::kSystemToken);
    INFO(route << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    answers[route] = r.Json().dump();
  }
  // What support staff look for: the revocation, with its actor and the rejected attempt.
  const json history = json::parse(answers["history?user=bob"]);
  CHECK(history.dump().find("seat_revoked") != std::string::npos);
  CHECK(json::parse(answers["explain?user=bob&product=pcon&at=2026-02-15T00:00:00Z"])["allowed"] ==
        true);
  const json rejected = json::parse(answers["rejections"])["rejections"];
  REQUIRE(rejected.size() == 1);
  CHECK(rejected[0]["command_type"] == "assign_seat");
  CHECK(rejected[0]["actor"] == "olga");
  CHECK(rejected[0]["code"] == "seat_limit_reached");
  const HttpReply exported =
      Get(d, "/v1/tenants/acme/export?format=jsonl", ledger::testing::kSystemToken);
  REQUIRE(exported.status == 200);
  const HttpReply verified = Get(d, "/v1/tenants/acme/verify", ledger::testing::kSystemToken);
  REQUIRE(verified.status == 200);
  CHECK(verified.Json()["ok"] == true);

  // The same questions to ledger-replay on the same data, once ledgerd has stopped.
  REQUIRE(d.Stop() == 0);
  for (const auto& [route, args] : pairs) {
    const auto run =
        ledger::testing::Tool(LEDGER_REPLAY, "--data " + d.data() + " " + args + " --json");
    INFO(args);
    REQUIRE(run.exit_code == 0);
    CHECK(json::parse(run.text()).dump() == answers[route]);
  }
  const auto lines = ledger::testing::Tool(
      LEDGER_REPLAY, "--data " + d.data() + " export --tenant acme --format jsonl");
  CHECK(lines.text() == exported.body);
}

TEST_CASE("ledgerd: signs checkpoints; an auditor pins the key and verifies the export alone",
          "[server][ledgerd][replay][auditor]") {
  LedgerdProcess d({"--checkpoint-every-events", "5"});
  Setup(d);  // acme: 6 events, past the 5 that make a checkpoint due
  const auto pubkey = ledger::testing::Tool(LEDGER_REPLAY, "--data " + d.data() + " pubkey");
  REQUIRE(pubkey.exit_code == 0);
  const std::string pinned = d.data() + "/../pinned.pem";
  ledger::testing::Write(pinned, pubkey.text());
  HttpReply note;
  for (int i = 0; i < 100; ++i) {  // signed within a second or two of the 5th event
    note = Get(d, "/v1/tenants/acme/checkpoints/latest", ledger::testing::kAuditorToken);
    if (note.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(note.body);
  REQUIRE(note.status == 200);
  CHECK(note.body.find("/acme\n6\n") != std::string::npos);  // origin, version 6
  CHECK(Get(d, "/v1/tenants/acme/checkpoints/6", ledger::testing::kAuditorToken).body == note.body);
  CHECK(Get(d, "/v1/tenants/acme/checkpoints/5", ledger::testing::kAuditorToken).status == 404);
  CHECK(Get(d, "/v1/tenants/acme/checkpoints/x", ledger::testing::kAuditorToken).status == 404);
  CHECK(Get(d, "/v1/tenants/acme/checkpoints/latest", ledger::testing::kSupportToken).status ==
        403);
  CHECK(Get(d, "/v1/tenants/acme/checkpoints/latest?v=1", ledger::testing::kAuditorToken).status ==
        400);
  const HttpReply exported =
      Get(d, "/v1/tenants/acme/export?format=jsonl", ledger::testing::kAuditorToken);
  REQUIRE(exported.status == 200);
  CHECK(json::parse(exported.body.substr(0, exported.body.find('\n')))["manifest"]["checkpoint"] ==
        note.body);
  const std::string file = d.data() + "/../acme.jsonl";
  ledger::testing::Write(file, exported.body);
  const auto verified =
      ledger::testing::Shell("/usr/bin/python3 " VERIFY_EXPORT " " + file + " --key " + pinned);
  INFO(verified.text());
  CHECK(verified.exit_code == 0);
  // The same key signs what ledger-replay checks: the note is a checkpoint it accepts.
  ledger::testing::Write(d.data() + "/../acme.note", note.body);
  CHECK(ledger::testing::Tool(LEDGER_REPLAY, "--data " + d.data() + " verify --since " + d.data() +
                                                 "/../acme.note --key " + pinned)
            .exit_code == 0);
}

TEST_CASE("ledgerd: export streams a long history in parts, equal to ledger-replay export",
          "[server][ledgerd][replay]") {
  LedgerdProcess d({"--checkpoint-every-events", "1000000"});  // the exports compare whole
  Setup(d);
  // 2,400 more events: more than two parts of the stream (1,000 events each).
  for (int batch = 0; batch < 3; ++batch) {
    json commands = json::array();
    for (int i = 0; i < 800; ++i) {
      const std::string user = "u" + std::to_string(batch * 800 + i);
      commands.push_back(
          Cmd("invite_member", "olga", {{"user", user}, {"email", user + "@acme.test"}}));
    }
    const HttpReply r = HttpRequest(d.http_port(), http::verb::post, "/v1/commands",
                                    commands.dump(), ledger::testing::kSystemToken);
    REQUIRE(r.status == 200);
  }
  const HttpReply jsonl =
      Get(d, "/v1/tenants/acme/export?format=jsonl", ledger::testing::kAuditorToken);
  REQUIRE(jsonl.status == 200);
  CHECK(jsonl.chunked);
  const HttpReply csv =
      Get(d, "/v1/tenants/acme/export?format=csv&from=3&to=2000", ledger::testing::kAuditorToken);
  REQUIRE(csv.status == 200);
  CHECK(csv.chunked);
  const HttpReply small =
      Get(d, "/v1/tenants/acme/export?format=jsonl&to=5", ledger::testing::kAuditorToken);
  REQUIRE(small.status == 200);
  CHECK_FALSE(small.chunked);  // one part: a plain body
  REQUIRE(d.Stop() == 0);
  const auto all = ledger::testing::Tool(
      LEDGER_REPLAY, "--data " + d.data() + " export --tenant acme --format jsonl");
  const std::string all_lines = all.text();
  CHECK(std::count(all_lines.begin(), all_lines.end(), '\n') == 1 + 6 + 2400);  // manifest
  CHECK(all.text() == jsonl.body);
  const auto range = ledger::testing::Tool(
      LEDGER_REPLAY,
      "--data " + d.data() + " export --tenant acme --format csv --from 3 --to 2000");
  CHECK(range.text() == csv.body);
  const auto head = ledger::testing::Tool(
      LEDGER_REPLAY, "--data " + d.data() + " export --tenant acme --format jsonl --to 5");
  CHECK(head.text() == small.body);
}

TEST_CASE("ledgerd: replay routes name a bad parameter, page long histories, list tenants",
          "[server][ledgerd][replay]") {
  LedgerdProcess d;
  Setup(d);
  const std::string sys = ledger::testing::kSystemToken;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"history", "user, subscription, group"},
      {"history?user=bob&group=g", "user, subscription, group"},
      {"history?user=bob&from=yesterday", "from:"},
      {"explain?user=bob", "product: required"},
      {"diff?from=2026-01-01T00:00:00Z", "to: required"},
      {"usage?subscription=L1&from=2026-03-01T00:00:00Z&to=2026-02-01T00:00:00Z", "to:"},
      {"state?at=2026-01-01T00:00:00Z&position=3", "at, position"},
      {"export?format=xml", "format:"},
      {"history?user=bob&limit=0", "limit:"},
      {"digest?tenant=globex", "tenant: not a parameter"},
  };
  for (const auto& [route, named] : bad) {
    const HttpReply r = Get(d, "/v1/tenants/acme/" + route, sys);
    INFO(route << " -> " << r.body);
    CHECK(r.status == 400);
    CHECK(r.Json()["code"] == "bad_request");
    CHECK(r.Json()["message"].get<std::string>().find(named) != std::string::npos);
  }
  CHECK(Get(d, "/v1/tenants/nobody/history?user=bob", sys).status == 404);

  // Pages of one entry each, following `next`, give the whole history in order.
  const json whole = Get(d, "/v1/tenants/acme/history?user=bob", sys).Json();
  json paged = json::array();
  std::string after;
  for (int pages = 0; pages < 50; ++pages) {
    const json page =
        Get(d,
            "/v1/tenants/acme/history?user=bob&limit=1" + (after.empty() ? "" : "&after=" + after),
            sys)
            .Json();
    REQUIRE(page["entries"].size() == 1);
    paged.push_back(page["entries"][0]);
    if (!page.contains("next")) break;
    after = page["next"].get<std::string>();
  }
  CHECK(paged == whole["entries"]);
  CHECK(whole["entries"].size() >= 3);

  // The tenants a token reaches.
  CHECK(Get(d, "/v1/tenants", sys).Json()["tenants"] == json::array({"acme", "globex"}));
  CHECK(Get(d, "/v1/tenants", ledger::testing::kAcmeToken).Json()["tenants"] ==
        json::array({"acme"}));
  const json first = Get(d, "/v1/tenants?limit=1", sys).Json();
  CHECK(first["tenants"] == json::array({"acme"}));
  CHECK(Get(d, "/v1/tenants?after=" + first["next"].get<std::string>(), sys).Json()["tenants"] ==
        json::array({"globex"}));
  CHECK(Get(d, "/v1/tenants", "").status == 401);
}

TEST_CASE("ledgerd: each role reaches exactly its routes, and only its tenant's",
          "[server][ledgerd][replay][auth]") {
  LedgerdProcess d;
  Setup(d);
  const std::vector<std::string> reads = {
      "check?user=bob&product=pcon",                                              // 0 check
      "state",                                                                    // 1 check
      "leases",                                                                   // 2 check
      "history?user=bob",                                                         // 3 support
      "explain?user=bob&product=pcon",                                            // 4 support
      "diff?from=1&to=5",                                                         // 5 support
      "usage?subscription=L1&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",  // 6 support
      "digest",                                                                   // 7 audit
      "verify",                                                                   // 8 audit
      "export",                                                                   // 9 audit
      "rejections",                                                               // 10 support
  };
  // Per token: may it write, and which reads (by index above) it gets.
  struct Expect {
    const char* token;
    bool write;
    std::vector<int> allowed;
    bool events;
  };
  const Expect expects[] = {
      {ledger::testing::kServiceToken, true, {0, 1, 2}, false},
      {ledger::testing::kSupportToken, false, {0, 1, 2, 3, 4, 5, 6, 10}, false},
      {ledger::testing::kAuditorToken, false, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, true},
      {ledger::testing::kAdminToken, true, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, true},
      {ledger::testing::kAcmeToken, true, {0, 1, 2}, false},  // no role: service (DESIGN 6.3)
  };
  int n = 0;
  for (const Expect& e : expects) {
    for (size_t i = 0; i < reads.size(); ++i) {
      const bool allowed = std::find(e.allowed.begin(), e.allowed.end(), int(i)) != e.allowed.end();
      const HttpReply r = Get(d, "/v1/tenants/acme/" + reads[i], e.token);
      INFO(e.token << " GET " << reads[i] << " -> " << r.status << " " << r.body);
      CHECK(r.status == (allowed ? 200 : 403));
      // Never another tenant's data, at any route.
      CHECK(Get(d, "/v1/tenants/globex/" + reads[i], e.token).status == 403);
    }
    const HttpReply events = Get(d, "/v1/events?tenant=acme&follow=0", e.token);
    INFO(e.token << " events -> " << events.body);
    CHECK(events.status == (e.events ? 200 : 403));
    const json invite = Cmd("invite_member", "olga",
                            {{"id", "inv-" + std::to_string(++n)},
                             {"user", "u" + std::to_string(n)},
                             {"email", "u@acme.test"}});
    const HttpReply w =
        HttpRequest(d.http_port(), http::verb::post, "/v1/commands", invite.dump(), e.token);
    INFO(e.token << " POST -> " << w.body);
    CHECK(w.status == (e.write ? 200 : 403));
    if (!e.write) CHECK(w.Json()["code"] == "forbidden");
    const HttpReply lease = HttpRequest(d.http_port(), http::verb::post, "/v1/tenants/acme/leases",
                                        R"({"subscription":"L1","user":"bob"})", e.token);
    if (!e.write) CHECK(lease.status == 403);
    // Backups need every tenant: no acme-only token runs one.
    CHECK(HttpRequest(d.http_port(), http::verb::post, "/v1/admin/backup", "", e.token).status ==
          403);
  }
  // No role but "system": true: the operator's token (admin) reaches every read.
  for (const std::string& read : reads) {
    INFO("system GET " << read);
    CHECK(Get(d, "/v1/tenants/acme/" + read, ledger::testing::kSystemToken).status == 200);
  }
  CHECK(Get(d, "/v1/events?tenant=acme&follow=0", ledger::testing::kSystemToken).status == 200);
  // A role-less tenant token is told why it may not read the history.
  const HttpReply refused = Get(d, "/v1/tenants/acme/history", ledger::testing::kAcmeToken);
  CHECK(refused.Json()["message"].get<std::string>().find("no role, so service") !=
        std::string::npos);
}

TEST_CASE("ledgerd: HTTPS on the HTTP listener with a self-signed certificate",
          "[server][ledgerd][tls]") {
  ledger::testing::TempDir certs;
  REQUIRE(ledger::testing::WriteSelfSignedCertificate(certs / "cert.pem", certs / "key.pem"));
  REQUIRE(ledger::testing::WriteSelfSignedCertificate(certs / "other.pem", certs / "other.key"));
  LedgerdProcess d({"--http-tls-cert", certs / "cert.pem", "--http-tls-key", certs / "key.pem"});
  CHECK(d.log().find(" and https://") != std::string::npos);
  const uint16_t port = d.http_port();
  // A client that trusts the certificate gets the routes, token and all.
  const HttpReply health =
      ledger::testing::HttpsRequest(port, certs / "cert.pem", http::verb::get, "/healthz");
  CHECK(health.status == 200);
  const HttpReply tenants = ledger::testing::HttpsRequest(
      port, certs / "cert.pem", http::verb::get, "/v1/tenants", ledger::testing::kSystemToken);
  CHECK(tenants.status == 200);
  CHECK(tenants.Json()["tenants"] == json::array());
  CHECK(ledger::testing::HttpsRequest(port, certs / "cert.pem", http::verb::get, "/v1/tenants")
            .status == 401);
  // One that trusts another certificate does not connect; plain HTTP gets no answer.
  CHECK(ledger::testing::HttpsRequest(port, certs / "other.pem", http::verb::get, "/healthz")
            .status == 0);
  CHECK(HttpRequest(port, http::verb::get, "/healthz").status == 0);
  // Half a pair, or an unreadable file, is a clear error at start.
  ledger::testing::TempDir dir;
  const auto half = ledger::testing::ToolWithErrors(
      LEDGERD, "--data " + dir.path() + "/d --tokens " + dir.path() +
                   "/t.json --create-dev-token " +
                   "--http 127.0.0.1:0 --listen 127.0.0.1:0 --http-tls-cert " + certs / "cert.pem");
  CHECK(half.exit_code != 0);
  CHECK(half.text().find("--http-tls-cert and --http-tls-key go together") != std::string::npos);
}

TEST_CASE("ledgerd: the Idempotency-Key header is the command's id", "[server][ledgerd]") {
  LedgerdProcess d;
  Setup(d);
  const std::string sys = ledger::testing::kSystemToken;
  auto post = [&](const json& body, const std::string& key) {
    return HttpRequest(d.http_port(), http::verb::post, "/v1/commands", body.dump(), sys,
                       {{"Idempotency-Key", key}});
  };
  const json carol = Cmd("invite_member", "olga", {{"user", "carol"}, {"email", "c@acme.test"}});
  const HttpReply first = post(carol, "inv-carol-1");
  REQUIRE(first.status == 200);
  CHECK(first.Json()["status"] == "accepted");
  CHECK(first.Json()["id"] == "inv-carol-1");
  // The same key and command: the original result, as a duplicate.
  const HttpReply again = post(carol, "inv-carol-1");
  CHECK(again.Json()["status"] == "duplicate");
  CHECK(again.Json()["position"] == first.Json()["position"]);
  // The same key, another command: refused, nothing recorded.
  json dan = carol;
  dan["user"] = "dan";
  const HttpReply reused = post(dan, "inv-carol-1");
  CHECK(reused.Json()["code"] == "idempotency_key_reused");
  // A key that contradicts the body's id, or a key for an array: bad_request naming it.
  json with_id = dan;
  with_id["id"] = "other";
  const HttpReply contradicts = post(with_id, "inv-dan-1");
  CHECK(contradicts.status == 400);
  CHECK(contradicts.Json()["message"].get<std::string>().find("Idempotency-Key") !=
        std::string::npos);
  CHECK(post(json::array({dan}), "inv-dan-1").status == 400);
}

TEST_CASE("ledgerd: what-if decides commands on a copy, records nothing, answers the diff",
          "[server][ledgerd][replay]") {
  LedgerdProcess d;
  Setup(d);
  const std::string sys = ledger::testing::kSystemToken;
  const std::string before = Get(d, "/v1/tenants/acme/digest", sys).body;
  // At 15 February bob holds L1's one seat. What if olga revoked it and gave it to herself?
  const json commands = json::array({
      Cmd("revoke_seat", "olga", {{"id", "w1"}, {"subscription", "L1"}, {"user", "bob"}}),
      Cmd("assign_seat", "olga", {{"id", "w2"}, {"subscription", "L1"}, {"user", "olga"}}),
      Cmd("assign_seat", "olga", {{"id", "w3"}, {"subscription", "L1"}, {"user", "bob"}}),
      Cmd("invite_member", "gus",
          {{"id", "w4"}, {"tenant", "globex"}, {"user", "x"}, {"email", "x@globex.test"}}),
  });
  const HttpReply r = HttpRequest(d.http_port(), http::verb::post,
                                  "/v1/tenants/acme/what-if?at=2026-02-15T00:00:00Z",
                                  commands.dump(), ledger::testing::kSupportToken);
  INFO(r.body);
  REQUIRE(r.status == 200);
  const json j = r.Json();
  REQUIRE(j["results"].size() == 4);
  CHECK(j["results"][0]["status"] == "accepted");
  CHECK(j["results"][0]["events"] == json::array({"seat_revoked"}));
  CHECK(j["results"][1]["status"] == "accepted");
  CHECK(j["results"][2]["code"] == "seat_limit_reached");  // the real rules
  CHECK(j["results"][3]["code"] == "bad_request");         // another tenant
  CHECK(
      j["diff"]["access"]["lost"] ==
      json::array(
          {{{"product", "pcon"}, {"reason", "no_seat"}, {"subscription", "L1"}, {"user", "bob"}}}));
  CHECK(j["diff"]["access"]["gained"] ==
        json::array({{{"product", "pcon"}, {"subscription", "L1"}, {"user", "olga"}}}));
  // Nothing was recorded, and ledger-replay answers the same from the data directory.
  CHECK(Get(d, "/v1/tenants/acme/digest", sys).body == before);
  REQUIRE(d.Stop() == 0);
  ledger::testing::Write(d.data() + "/../what-if.json", commands.dump());
  const auto cli = ledger::testing::Tool(
      LEDGER_REPLAY, "--data " + d.data() + " what-if --tenant acme " + d.data() +
                         "/../what-if.json --at 2026-02-15T00:00:00Z --json");
  REQUIRE(cli.exit_code == 0);
  CHECK(json::parse(cli.text()) == j);
}

TEST_CASE("ledgerd: what-if refuses writers' mistakes and other tenants",
          "[server][ledgerd][replay]") {
  LedgerdProcess d;
  Setup(d);
  auto post = [&](const std::string& target, const std::string& body, const std::string& token) {
    return HttpRequest(d.http_port(), http::verb::post, target, body, token);
  };
  const std::string one =
      Cmd("revoke_seat", "olga", {{"subscription", "L1"}, {"user", "bob"}}).dump();
  CHECK(post("/v1/tenants/acme/what-if", "not json", ledger::testing::kSystemToken).status == 400);
  CHECK(post("/v1/tenants/acme/what-if?at=soon", one, ledger::testing::kSystemToken).status == 400);
  CHECK(post("/v1/tenants/acme/what-if", one, ledger::testing::kServiceToken).status == 403);
  CHECK(post("/v1/tenants/globex/what-if", one, ledger::testing::kSupportToken).status == 403);
  CHECK(post("/v1/tenants/nobody/what-if", one, ledger::testing::kSystemToken).status == 404);
  CHECK(HttpRequest(d.http_port(), http::verb::get, "/v1/tenants/acme/what-if", "",
                    ledger::testing::kSystemToken)
            .status == 405);
}

// ledgerd's Cap'n Proto protocol as a backend service uses it: a real ledgerd process on
// 127.0.0.1 ephemeral ports, real sockets, server::LedgerClient — requests and answers,
// the auth matrix and tenant scoping, hostile frames, the in-flight limit, the live tail,
// typed lease requests, TLS with a self-signed certificate, the races for the last seat,
// and ledgerctl --server.
// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <capnp/serialize.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "ledger/event.h"
#include "server/client.h"
#include "support/command_json.h"
#include "support/floating_seat.h"
#include "support/ledgerd_process.h"
#include "support/run_tool.h"
#include "support/self_signed.h"

namespace {

using json = nlohmann::json;
using ledger::testing::kAcmeToken;
using ledger::testing::kSystemToken;
using ledger::testing::LedgerdProcess;
using server::LedgerClient;

std::unique_ptr<LedgerClient> Connect(const LedgerdProcess& d, const std::string& token,
                                      bool tls = false, const std::string& ca = "") {
  server::ClientOptions options;
  options.port = d.capnp_port();
  options.token = token;
  options.tls = tls;
  options.tls_ca_file = ca;
  std::unique_ptr<LedgerClient> client;
  const ledger::Status s = LedgerClient::Connect(options, &client);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return client;
}

std::string Cmd(const std::string& type, const std::string& actor, json fields) {
  return ledger::testing::CommandJson(type, actor, std::move(fields)).dump();
}

// acme (owner olga, member bob) and globex; product pcon; a 1-seat subscription L1.
std::vector<std::string> SetupCommands() {
  return {
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
  };
}

void Setup(LedgerClient& client) {
  std::vector<std::string> results;
  REQUIRE(client.Submit(SetupCommands(), &results).ok());
  REQUIRE(results.size() == 6);
  for (const auto& r : results) {
    INFO(r);
    CHECK(json::parse(r)["status"] == "accepted");
  }
}

// Concurrent subscription F1 of `seats` seats in acme, and `users` invited, accepted and
// assigned to it.
std::vector<std::string> FloatingSeatCommands(int seats, const std::vector<std::string>& users) {
  std::vector<std::string> commands = {Cmd("purchase_subscription", "olga",
                                           {{"subscription", "F1"},
                                            {"product", "pcon"},
                                            {"edition", "std"},
                                            {"seats", seats},
                                            {"seat_model", "concurrent"},
                                            {"period_start", "2026-01-01T00:00:00Z"},
                                            {"period_end", "2027-01-01T00:00:00Z"}})};
  for (const std::string& user : users) {
    commands.push_back(Cmd("invite_member", "olga", {{"user", user}, {"email", user + "@a.test"}}));
    commands.push_back(Cmd("accept_invitation", user, json::object()));
    commands.push_back(Cmd("assign_seat", "olga", {{"subscription", "F1"}, {"user", user}}));
  }
  return commands;
}

// The server answers a fresh connection: it survived whatever came before.
void RequireHealthy(const LedgerdProcess& d) {
  auto client = Connect(d, kSystemToken);
  uint64_t position = 0;
  REQUIRE(client->Health(&position).ok());
  CHECK(position >= 6);
}

// A frame whose header announces `segments` segments of `words` words each.
std::string FrameHeader(uint32_t segments, uint32_t words) {
  std::string out;
  auto put = [&out](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  put(segments - 1);
  for (uint32_t i = 0; i < segments; ++i) put(words);
  if (out.size() % 8 != 0) put(0);
  return out;
}

// The error response the server sends before closing, as "code: message".
std::string ErrorAnswer(LedgerClient& client) {
  std::unique_ptr<server::ResponseFrame> frame;
  const ledger::Status s = client.Receive(&frame);
  if (!s.ok()) return "no answer: " + s.ToString();
  if (!frame->get().isError()) return "not an error";
  const auto e = frame->get().getError();
  return std::string(e.getCode().cStr()) + ": " + e.getMessage().cStr();
}

TEST_CASE("capnp: submit, check, state, events and health answer like the HTTP front end",
          "[server][capnp]") {
  LedgerdProcess d;
  auto client = Connect(d, kSystemToken);
  Setup(*client);

  std::vector<std::string> results;
  REQUIRE(client
              ->Submit({Cmd("assign_seat", "olga", {{"subscription", "L1"}, {"user", "bob"}})},
                       &results)
              .ok());
  const json assigned = json::parse(results.at(0));
  CHECK(assigned["status"] == "accepted");
  CHECK(assigned["position"] == 7);
  CHECK(assigned["events"][0]["type"] == "seat_assigned");

  commands::AccessDecision decision;
  REQUIRE(client->Check("acme", "bob", "pcon", "", &decision).ok());
  CHECK(decision.allowed);
  CHECK(decision.subscription == "L1");
  REQUIRE(client->Check("acme", "olga", "pcon", "", &decision).ok());
  CHECK_FALSE(decision.allowed);
  CHECK(decision.reason == "no_seat");
  CHECK_FALSE(client->Check("acme", "bob", "pcon", "yesterday", &decision).ok());
  REQUIRE(client->remote_error());
  CHECK(client->remote_error()->code == "bad_request");
  CHECK(client->remote_error()->message == "at: not an RFC 3339 time");

  std::string state;
  REQUIRE(client->State("acme", &state).ok());
  const json st = json::parse(state);
  CHECK(st["tenant"] == "acme");
  CHECK(st["subscriptions"][0]["assigned"] == json::array({"bob"}));
  CHECK_FALSE(client->State("nobody", &state).ok());
  CHECK(client->remote_error()->code == "unknown_tenant");

  // Events as stored: each decodes, carries its position and matches its own hash.
  std::vector<std::string> events;
  uint64_t next = 0, last = 0;
  REQUIRE(client->ReadEvents(1, "", 4, &events, &next, &last).ok());
  CHECK(events.size() == 4);
  CHECK(next == 5);
  CHECK(last == 7);
  REQUIRE(client->ReadEvents(next, "", 100, &events, &next, &last).ok());
  REQUIRE(events.size() == 3);
  CHECK(next == 8);
  for (size_t i = 0; i < events.size(); ++i) {
    ledger::StoredEvent e;
    REQUIRE(e.Parse(events[i]).ok());
    CHECK(e.position() == 5 + i);
    CHECK(e.HashMatches());
  }
  REQUIRE(client->ReadEvents(1, "globex", 100, &events, &next, &last).ok());
  REQUIRE(events.size() == 1);
  ledger::StoredEvent globex;
  REQUIRE(globex.Parse(events[0]).ok());
  CHECK(globex.type_name() == "tenant_created");
  CHECK(std::string(globex.event().getTenant().cStr()) == "globex");

  // Pipelined requests on one connection are each answered under their own id.
  uint64_t check_id = 0, submit_id = 0;
  REQUIRE(client
              ->Send(
                  [](server::wire::Request::Builder req) {
                    auto list = req.initSubmit(1);
                    list.set(0, Cmd("invite_member", "olga",
                                    {{"user", "carol"}, {"email", "carol@acme.test"}}));
                  },
                  &submit_id)
              .ok());
  REQUIRE(client
              ->Send(
                  [](server::wire::Request::Builder req) {
                    auto c = req.initCheck();
                    c.setTenant("acme");
                    c.setUser("bob");
                    c.setProduct("pcon");
                  },
                  &check_id)
              .ok());
  std::set<uint64_t> answered;
  for (int i = 0; i < 2; ++i) {
    std::unique_ptr<server::ResponseFrame> frame;
    REQUIRE(client->Receive(&frame).ok());
    const auto resp = frame->get();
    if (resp.getId() == submit_id) {
      REQUIRE(resp.isResults());
      CHECK(json::parse(resp.getResults()[0].cStr())["status"] == "accepted");
    } else {
      REQUIRE(resp.getId() == check_id);
      REQUIRE(resp.isCheck());
      CHECK(resp.getCheck().getAllowed());
    }
    answered.insert(resp.getId());
  }
  CHECK(answered == std::set<uint64_t>{submit_id, check_id});
}

TEST_CASE("capnp: tokens and tenant scoping", "[server][capnp]") {
  LedgerdProcess d;
  Setup(*Connect(d, kSystemToken));
  const std::string invite =
      Cmd("invite_member", "olga", {{"user", "dan"}, {"email", "dan@acme.test"}});
  std::vector<std::string> results;

  auto anonymous = Connect(d, "");
  REQUIRE(anonymous->Submit({invite}, &results).ok());
  CHECK(json::parse(results.at(0))["code"] == "unauthorized");
  commands::AccessDecision decision;
  CHECK_FALSE(anonymous->Check("acme", "bob", "pcon", "", &decision).ok());
  CHECK(anonymous->remote_error()->code == "unauthorized");

  auto stranger = Connect(d, "not-a-token");
  REQUIRE(stranger->Submit({invite}, &results).ok());
  CHECK(json::parse(results.at(0))["code"] == "unauthorized");
  CHECK(json::parse(results.at(0))["message"] == "unknown token");

  auto acme = Connect(d, kAcmeToken);
  REQUIRE(acme->Submit({invite,
                        Cmd("invite_member", "gus",
                            {{"tenant", "globex"}, {"user", "eve"}, {"email", "eve@globex.test"}}),
                        Cmd("tick", "system", json::object())},
                       &results)
              .ok());
  CHECK(json::parse(results.at(0))["status"] == "accepted");
  CHECK(json::parse(results.at(1))["code"] == "forbidden");
  CHECK(json::parse(results.at(2))["code"] == "forbidden");
  CHECK(json::parse(results.at(2))["message"] == "token 'acme-app' may not act as system");

  REQUIRE(acme->Check("acme", "bob", "pcon", "", &decision).ok());
  CHECK_FALSE(acme->Check("globex", "gus", "pcon", "", &decision).ok());
  CHECK(acme->remote_error()->code == "forbidden");
  std::string state;
  CHECK_FALSE(acme->State("globex", &state).ok());
  CHECK(acme->remote_error()->code == "forbidden");
  std::vector<std::string> events;
  uint64_t next = 0, last = 0;
  CHECK_FALSE(acme->ReadEvents(1, "", 10, &events, &next, &last).ok());
  CHECK(acme->remote_error()->code == "forbidden");
  // The events are an auditor's read: a token without a role is a service token.
  CHECK_FALSE(acme->ReadEvents(1, "acme", 100, &events, &next, &last).ok());
  CHECK(acme->remote_error()->code == "forbidden");
  auto auditor = Connect(d, ledger::testing::kAuditorToken);
  CHECK_FALSE(auditor->ReadEvents(1, "", 10, &events, &next, &last).ok());
  REQUIRE(auditor->ReadEvents(1, "acme", 100, &events, &next, &last).ok());
  for (const auto& bytes : events) {
    ledger::StoredEvent e;
    REQUIRE(e.Parse(bytes).ok());
    CHECK(std::string(e.event().getTenant().cStr()) == "acme");
  }
  CHECK(events.size() == 5);  // created, bob invited + accepted, L1, dan invited

  // Nothing refused reached the ledger, and the token never reached the log.
  auto system = Connect(d, kSystemToken);
  REQUIRE(system->State("globex", &state).ok());
  CHECK(json::parse(state)["members"].size() == 1);
  CHECK(d.log().find(kAcmeToken) == std::string::npos);
  CHECK(d.log().find(kSystemToken) == std::string::npos);
}

TEST_CASE("capnp: read-only roles check and read, and are refused every submit",
          "[server][capnp][auth]") {
  LedgerdProcess d;
  Setup(*Connect(d, kSystemToken));
  const std::string invite =
      Cmd("invite_member", "olga", {{"user", "dan"}, {"email", "dan@acme.test"}});
  commands::AccessDecision expected;
  REQUIRE(Connect(d, kSystemToken)->Check("acme", "bob", "pcon", "", &expected).ok());
  for (const char* token : {ledger::testing::kSupportToken, ledger::testing::kAuditorToken}) {
    INFO(token);
    auto c = Connect(d, token);
    std::vector<std::string> results;
    REQUIRE(c->Submit({invite}, &results).ok());
    CHECK(json::parse(results.at(0))["code"] == "forbidden");
    CHECK(json::parse(results.at(0))["message"].get<std::string>().find("may not submit") !=
          std::string::npos);
    commands::AccessDecision decision;
    REQUIRE(c->Check("acme", "bob", "pcon", "", &decision).ok());
    CHECK(decision.ToJson() == expected.ToJson());
  }
  // The events stream is audit data: the auditor reads it, support does not.
  std::vector<std::string> events;
  uint64_t next = 0, last = 0;
  CHECK(Connect(d, ledger::testing::kAuditorToken)
            ->ReadEvents(1, "acme", 100, &events, &next, &last)
            .ok());
  auto support = Connect(d, ledger::testing::kSupportToken);
  CHECK_FALSE(support->ReadEvents(1, "acme", 100, &events, &next, &last).ok());
  CHECK(support->remote_error()->code == "forbidden");
  // Nothing a read-only token sent reached the ledger.
  std::string state;
  REQUIRE(Connect(d, kSystemToken)->State("acme", &state).ok());
  CHECK(state.find("dan") == std::string::npos);
}

TEST_CASE("capnp: hostile frames get an error or a closed connection, never a crash",
          "[server][capnp]") {
  LedgerdProcess d;
  Setup(*Connect(d, kSystemToken));

  SECTION("an absurd segment count") {
    auto c = Connect(d, kSystemToken);
    REQUIRE(c->SendRaw(std::string("\xff\xff\xff\xff\x01\x00\x00\x00", 8)).ok());
    CHECK(ErrorAnswer(*c) == "bad_request: frame: 4294967296 segments (at most 64)");
  }
  SECTION("a frame over the size limit") {
    auto c = Connect(d, kSystemToken);
    REQUIRE(c->SendRaw(FrameHeader(2, 300000)).ok());
    CHECK(ErrorAnswer(*c) == "bad_request: frame: 4800016 bytes (at most 4194304)");
  }
  SECTION("an empty frame") {
    auto c = Connect(d, kSystemToken);
    REQUIRE(c->SendRaw(FrameHeader(1, 0)).ok());
    CHECK(ErrorAnswer(*c) == "bad_request: frame: no message in it (0 words)");
  }
  SECTION("well framed garbage") {
    auto c = Connect(d, kSystemToken);
    std::string frame = FrameHeader(1, 4);
    frame += std::string("\x00\x00\x00\x00\x05\x00\x07\x00", 8);  // root: struct far outside
    frame += std::string(24, '\xee');
    REQUIRE(c->SendRaw(frame).ok());
    CHECK(ErrorAnswer(*c).rfind("bad_request: frame: malformed message", 0) == 0);
  }
  SECTION("random bytes") {
    auto c = Connect(d, kSystemToken);
    std::string noise;
    uint32_t x = 12345;
    for (int i = 0; i < 4096; ++i) {
      x = x * 1103515245 + 12345;
      noise.push_back(static_cast<char>(x >> 16));
    }
    (void)c->SendRaw(noise);
    CHECK(ErrorAnswer(*c).rfind("bad_request: frame", 0) == 0);
  }
  SECTION("a truncated frame, then the client goes away") {
    auto c = Connect(d, kSystemToken);
    REQUIRE(c->SendRaw(FrameHeader(1, 100) + std::string(40, 'x')).ok());
    c.reset();
  }
  SECTION("too many commands in one submit") {
    auto c = Connect(d, kSystemToken);
    std::vector<std::string> many(1001, Cmd("tick", "system", json::object()));
    std::vector<std::string> results;
    CHECK_FALSE(c->Submit(many, &results).ok());
    CHECK(c->remote_error()->message == "submit: 1001 commands (at most 1000)");
  }
  SECTION("bad commands are rejected one by one, naming the field") {
    auto c = Connect(d, kSystemToken);
    std::vector<std::string> results;
    REQUIRE(c->Submit({"{not json", R"({"type":"invite_member","tenant":"acme","actor":"olga",
                       "user":"zed","email":"zed@acme.test","seats":"x"})",
                       Cmd("resize", "olga", {{"subscription", "L1"}, {"seats", "many"}})},
                      &results)
                .ok());
    CHECK(json::parse(results.at(0))["code"] == "bad_request");
    CHECK(json::parse(results.at(1))["message"] == "seats: unknown field for invite_member");
    CHECK(json::parse(results.at(2))["message"] == "seats: must be an integer");
  }
  RequireHealthy(d);
}

TEST_CASE("capnp: requests over the in-flight limit are refused, not run", "[server][capnp]") {
  LedgerdProcess d({"--max-in-flight", "1"});
  auto c = Connect(d, kSystemToken);
  Setup(*c);
  // 20 invitations sent back to back: the first is still being made durable when the
  // next ones arrive.
  std::map<uint64_t, std::string> user_of;
  for (int i = 0; i < 20; ++i) {
    const std::string user = "u" + std::to_string(i);
    uint64_t id = 0;
    REQUIRE(c->Send(
                 [&](server::wire::Request::Builder req) {
                   req.initSubmit(1).set(0, Cmd("invite_member", "olga",
                                                {{"user", user}, {"email", user + "@acme.test"}}));
                 },
                 &id)
                .ok());
    user_of[id] = user;
  }
  std::set<std::string> accepted, refused;
  for (int i = 0; i < 20; ++i) {
    std::unique_ptr<server::ResponseFrame> frame;
    REQUIRE(c->Receive(&frame).ok());
    const auto resp = frame->get();
    const std::string user = user_of.at(resp.getId());
    if (resp.isError()) {
      CHECK(std::string(resp.getError().getCode().cStr()) == "unavailable");
      CHECK(std::string(resp.getError().getMessage().cStr()) ==
            "in_flight: more than 1 requests in flight on this connection; wait for answers");
      refused.insert(user);
    } else {
      CHECK(json::parse(resp.getResults()[0].cStr())["status"] == "accepted");
      accepted.insert(user);
    }
  }
  CHECK(accepted.size() + refused.size() == 20);
  CHECK(accepted.count("u0") == 1);
  CHECK_FALSE(refused.empty());
  // Exactly the accepted invitations are in the ledger.
  std::string state;
  REQUIRE(c->State("acme", &state).ok());
  std::set<std::string> members;
  const json parsed = json::parse(state);
  for (const auto& m : parsed["members"]) {
    members.insert(m["user"].get<std::string>());
  }
  for (const auto& u : accepted) CHECK(members.count(u) == 1);
  for (const auto& u : refused) CHECK(members.count(u) == 0);
}

TEST_CASE("capnp: a followed event stream delivers new events as they become durable",
          "[server][capnp]") {
  LedgerdProcess d;
  Setup(*Connect(d, kSystemToken));
  auto follower = Connect(d, ledger::testing::kAuditorToken);  // the events: an auditor's read
  uint64_t id = 0;
  REQUIRE(follower
              ->Send(
                  [](server::wire::Request::Builder req) {
                    auto r = req.initReadEvents();
                    r.setFrom(1);
                    r.setTenant("acme");
                    r.setFollow(true);
                  },
                  &id)
              .ok());
  std::vector<uint64_t> positions;
  auto read_until = [&](size_t count) {
    while (positions.size() < count) {
      std::unique_ptr<server::ResponseFrame> frame;
      REQUIRE(follower->Receive(&frame).ok());
      REQUIRE(frame->get().getId() == id);
      REQUIRE(frame->get().isEvents());
      for (const auto bytes : frame->get().getEvents().getEvents()) {
        ledger::StoredEvent e;
        REQUIRE(
            e.Parse(std::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size()))
                .ok());
        positions.push_back(e.position());
      }
    }
  };
  read_until(4);  // acme's events of the setup
  CHECK(positions == std::vector<uint64_t>{2, 4, 5, 6});
  std::vector<std::string> results;
  REQUIRE(Connect(d, kSystemToken)
              ->Submit({Cmd("invite_member", "gus",
                            {{"tenant", "globex"}, {"user", "eve"}, {"email", "eve@globex.test"}}),
                        Cmd("assign_seat", "olga", {{"subscription", "L1"}, {"user", "bob"}})},
                       &results)
              .ok());
  read_until(5);
  CHECK(positions.back() == 8);    // the seat, not globex's invitation
  const int exit_code = d.Stop();  // a followed stream does not hold up the shutdown
  INFO(d.log());
  CHECK(exit_code == 0);
}

TEST_CASE("capnp: TLS with a self-signed certificate", "[server][capnp][tls]") {
  ledger::testing::TempDir certs;
  REQUIRE(ledger::testing::WriteSelfSignedCertificate(certs / "cert.pem", certs / "key.pem"));
  REQUIRE(ledger::testing::WriteSelfSignedCertificate(certs / "other.pem", certs / "other.key"));
  LedgerdProcess d({"--tls-cert", certs / "cert.pem", "--tls-key", certs / "key.pem"});
  CHECK(d.log().find("capnp+tls://") != std::string::npos);

  auto client = Connect(d, kSystemToken, /*tls=*/true, certs / "cert.pem");
  Setup(*client);
  commands::AccessDecision decision;
  REQUIRE(client->Check("acme", "olga", "pcon", "", &decision).ok());
  CHECK(decision.reason == "no_seat");

  // A certificate the client does not trust: no connection.
  server::ClientOptions untrusting;
  untrusting.port = d.capnp_port();
  untrusting.tls = true;
  untrusting.tls_ca_file = certs / "other.pem";
  std::unique_ptr<LedgerClient> refused;
  const ledger::Status s = LedgerClient::Connect(untrusting, &refused);
  CHECK(s.IsIOError());
  CHECK(s.message().find("TLS handshake") != std::string::npos);

  // Plain Cap'n Proto against the TLS port gets no answer.
  auto plain = Connect(d, kSystemToken);
  uint64_t position = 0;
  CHECK_FALSE(plain->Health(&position).ok());
  REQUIRE(client->Health(&position).ok());
  CHECK(position == 6);
}

TEST_CASE("capnp: 64 clients race for the last seat, exactly one wins", "[server][capnp]") {
  LedgerdProcess d;
  auto setup = Connect(d, kSystemToken);
  Setup(*setup);
  std::vector<std::string> invites;
  for (int i = 0; i < 64; ++i) {
    const std::string user = "r" + std::to_string(i);
    invites.push_back(Cmd("invite_member", "olga", {{"user", user}, {"email", user + "@a.test"}}));
    invites.push_back(Cmd("accept_invitation", user, json::object()));
  }
  std::vector<std::string> results;
  REQUIRE(setup->Submit(invites, &results).ok());
  std::atomic<int> won{0}, lost{0}, other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 64; ++i) {
    clients.emplace_back([&, i] {
      server::ClientOptions options;
      options.port = d.capnp_port();
      options.token = kAcmeToken;
      std::unique_ptr<LedgerClient> c;
      std::vector<std::string> out;
      if (!LedgerClient::Connect(options, &c).ok() ||
          !c->Submit({Cmd("assign_seat", "olga",
                          {{"subscription", "L1"}, {"user", "r" + std::to_string(i)}})},
                     &out)
               .ok()) {
        ++other;
        return;
      }
      const json r = json::parse(out.at(0));
      if (r["status"] == "accepted") {
        ++won;
      } else if (r["code"] == "seat_limit_reached") {
        ++lost;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(won == 1);
  CHECK(lost == 63);
  CHECK(other == 0);
}

TEST_CASE(
    "capnp: 32 clients race for the last floating seat, exactly one wins, and its lease "
    "survives a restart",
    "[server][capnp][leases]") {
  LedgerdProcess d;
  auto setup = Connect(d, kSystemToken);
  Setup(*setup);
  // F1: 2 concurrent seats; f0 holds one; f1..f32 race for the other.
  std::vector<std::string> users;
  for (int i = 0; i <= 32; ++i) users.push_back("f" + std::to_string(i));
  std::vector<std::string> commands = FloatingSeatCommands(2, users);
  commands.push_back(
      Cmd("checkout", "f0", {{"subscription", "F1"}, {"user", "f0"}, {"device", "d0"}}));
  std::vector<std::string> results;
  REQUIRE(setup->Submit(commands, &results).ok());
  for (const auto& r : results) REQUIRE(json::parse(r)["status"] == "accepted");
  std::atomic<int> won{0}, lost{0}, other{0};
  std::mutex mu;
  std::string winner_lease, winner;
  std::vector<std::thread> clients;
  for (int i = 1; i <= 32; ++i) {
    clients.emplace_back([&, i] {
      server::ClientOptions options;
      options.port = d.capnp_port();
      options.token = kAcmeToken;
      std::unique_ptr<LedgerClient> c;
      std::vector<std::string> out;
      const std::string user = "f" + std::to_string(i);
      if (!LedgerClient::Connect(options, &c).ok() ||
          !c->Submit({Cmd("checkout", user,
                          {{"subscription", "F1"}, {"user", user}, {"device", "d" + user}})},
                     &out)
               .ok()) {
        ++other;
        return;
      }
      const json r = json::parse(out.at(0));
      if (r["status"] == "accepted") {
        ++won;
        std::lock_guard<std::mutex> lock(mu);
        winner_lease = r["lease"];
        winner = user;
      } else if (r["code"] == "no_free_seat") {
        ++lost;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(won == 1);
  CHECK(lost == 31);
  CHECK(other == 0);
  // The winner is allowed, a loser is not; after a restart the same holds and the
  // winner's lease still renews.
  auto check = [&](const std::string& user) {
    auto c = Connect(d, kAcmeToken);
    commands::AccessDecision decision;
    REQUIRE(c->Check("acme", user, "pcon", "", &decision).ok());
    return decision;
  };
  const std::string loser = winner == "f1" ? "f2" : "f1";
  CHECK(check(winner).allowed);
  CHECK(check(loser).reason == "no_free_seat");
  REQUIRE(d.Stop() == 0);
  d.Start();
  CHECK(check(winner).allowed);
  CHECK(check(loser).reason == "no_free_seat");
  auto c = Connect(d, kAcmeToken);
  REQUIRE(c->Submit({Cmd("heartbeat", winner, {{"lease", winner_lease}})}, &results).ok());
  CHECK(json::parse(results.at(0))["status"] == "accepted");
  CHECK(json::parse(results.at(0))["lease"] == winner_lease);
}

TEST_CASE("capnp: on the system clock, ledgerd writes a lease's expiry when no command comes",
          "[server][capnp][leases][slow]") {
  ledger::testing::Launch launch;
  launch.manual_clock = false;
  LedgerdProcess d({}, launch);
  auto c = Connect(d, kSystemToken);
  const auto now = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const std::vector<std::string> commands = ledger::testing::FloatingSeatCheckedOut();
  std::vector<std::string> results;
  REQUIRE(c->Submit(commands, &results).ok());
  for (const auto& r : results) REQUIRE(json::parse(r)["status"] == "accepted");
  const auto expires =
      ledger::ParseRfc3339(json::parse(results.back())["expires_at"].get<std::string>());
  REQUIRE(expires);
  // Nothing is submitted now: within seconds of the expiry the sweeper writes it.
  bool expired = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(75);
  while (!expired && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::string state;
    REQUIRE(c->State("acme", &state).ok());
    expired = json::parse(state)["subscriptions"][0]["leases"].empty();
  }
  REQUIRE(expired);
  CHECK(now() >= *expires);
  CHECK(now() < *expires + 10'000'000);  // swept within seconds, not at some next command
  std::vector<std::string> events;
  uint64_t next = 0, last = 0;
  REQUIRE(c->ReadEvents(1, "acme", 100, &events, &next, &last).ok());
  bool found = false;
  for (const auto& bytes : events) {
    ledger::StoredEvent e;
    REQUIRE(e.Parse(bytes).ok());
    if (std::string(e.type_name()) == "lease_expired") {
      found = true;
      CHECK(e.event().getEffectiveAt() == *expires);
      CHECK(std::string(e.event().getActor()) == "system");
    }
  }
  CHECK(found);
}

TEST_CASE("capnp: ledgerctl --server runs submit, check and import-members over the network",
          "[server][capnp][ledgerctl]") {
  LedgerdProcess d;
  const std::string server = "--server 127.0.0.1:" + std::to_string(d.capnp_port());
  std::string lines;
  for (const auto& c : SetupCommands()) lines += c + "\n";
  lines += "this is not json\n";
  ledger::testing::Write(d.path("setup.jsonl"), lines);
  auto run = ledger::testing::Tool(
      LEDGERCTL, server + " --token " + kSystemToken + " submit " + d.path("setup.jsonl"));
  REQUIRE(run.exit_code == 0);
  std::vector<json> results;
  for (const auto& line : run.lines) results.push_back(json::parse(line));
  REQUIRE(results.size() == 7);
  CHECK(results[5]["status"] == "accepted");
  CHECK(results[6]["code"] == "bad_request");

  run = ledger::testing::Tool(LEDGERCTL, server + " --token " + kAcmeToken +
                                             " check --tenant acme --user olga --product pcon");
  CHECK(run.exit_code == 0);
  CHECK(run.text() == "{\"allowed\":false,\"reason\":\"no_seat\",\"subscription\":null}\n");
  run = ledger::testing::Tool(LEDGERCTL, server + " --token " + kAcmeToken +
                                             " check --tenant globex --user gus --product pcon");
  CHECK(run.exit_code == 1);
  CHECK(run.lines.empty());
  run = ledger::testing::Tool(LEDGERCTL, server + " --token wrong submit " + d.path("setup.jsonl"));
  CHECK(run.exit_code == 1);
  REQUIRE(run.lines.size() == 7);
  CHECK(json::parse(run.lines[0])["code"] == "unauthorized");

  ledger::testing::Write(d.path("people.csv"),
                         "email,user,name,role\r\n"
                         "ann@acme.test,ann,Ann,member\r\n"
                         "not-an-email,x1,X,member\r\n"
                         "ann@acme.test,ann,Ann again,member\r\n");
  run = ledger::testing::Tool(
      LEDGERCTL, server + " --token " + kAcmeToken +
                     " import-members --tenant acme --actor olga --commit " + d.path("people.csv"));
  REQUIRE(run.exit_code == 0);
  INFO(run.text());
  REQUIRE(run.lines.size() == 1);
  const json report = json::parse(run.lines[0])["report"];
  CHECK(report["valid"].size() == 1);
  CHECK(report["invalid"][0]["line"] == 3);
  CHECK(report["duplicates"][0]["line"] == 4);
}

}  // namespace

namespace {

TEST_CASE("capnp: a flood from one client does not starve the others", "[server][capnp][flood]") {
  LedgerdProcess d({"--max-connections", "32"});
  Setup(*Connect(d, kSystemToken));
  // One client pipelines 20,000 checks and 2,000 submits without reading a single answer.
  auto flood = Connect(d, kSystemToken);
  std::thread flooder([&] {
    std::string frames;
    for (int i = 0; i < 22000; ++i) {
      capnp::MallocMessageBuilder mb;
      auto req = mb.initRoot<server::wire::Request>();
      req.setId(static_cast<uint64_t>(i + 1));
      req.setToken(kSystemToken);
      if (i % 11 == 0) {
        req.initSubmit(1).set(0, Cmd("invite_member", "olga",
                                     {{"user", "f" + std::to_string(i)},
                                      {"email", "f" + std::to_string(i) + "@acme.test"}}));
      } else {
        auto c = req.initCheck();
        c.setTenant("acme");
        c.setUser("bob");
        c.setProduct("pcon");
      }
      const auto frame = server::ToFrame(mb);
      frames.append(reinterpret_cast<const char*>(frame.begin()),
                    frame.size() * sizeof(capnp::word));
    }
    (void)flood->SendRaw(frames);
  });
  // Meanwhile other clients are answered, promptly.
  auto polite = Connect(d, kAcmeToken);
  for (int i = 0; i < 50; ++i) {
    const auto start = std::chrono::steady_clock::now();
    commands::AccessDecision decision;
    REQUIRE(polite->Check("acme", "olga", "pcon", "", &decision).ok());
    std::vector<std::string> results;
    REQUIRE(polite
                ->Submit({Cmd("invite_member", "olga",
                              {{"user", "p" + std::to_string(i)},
                               {"email", "p" + std::to_string(i) + "@acme.test"}})},
                         &results)
                .ok());
    CHECK(json::parse(results.at(0))["status"] == "accepted");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  }
  flooder.join();
  // The flood's answers: every check answered, submits accepted or refused over the
  // in-flight limit — never dropped.
  size_t checks = 0, accepted = 0, refused = 0;
  for (int i = 0; i < 22000; ++i) {
    std::unique_ptr<server::ResponseFrame> frame;
    REQUIRE(flood->Receive(&frame).ok());
    const auto resp = frame->get();
    if (resp.isCheck()) {
      ++checks;
    } else if (resp.isResults()) {
      accepted += json::parse(resp.getResults()[0].cStr())["status"] == "accepted";
    } else {
      REQUIRE(resp.isError());
      CHECK(std::string(resp.getError().getCode().cStr()) == "unavailable");
      ++refused;
    }
  }
  CHECK(checks == 20000);
  CHECK(accepted + refused == 2000);

  // A connection flood: beyond the cap connections are closed at once; the server still
  // answers once they are gone.
  std::vector<std::unique_ptr<LedgerClient>> many;
  size_t answered = 0;
  for (int i = 0; i < 60; ++i) {
    server::ClientOptions options;
    options.port = d.capnp_port();
    options.token = kSystemToken;
    std::unique_ptr<LedgerClient> c;
    if (!LedgerClient::Connect(options, &c).ok()) continue;
    uint64_t position = 0;
    if (c->Health(&position).ok()) ++answered;
    many.push_back(std::move(c));
  }
  CHECK(answered <= 32);
  CHECK(answered >= 25);  // the cap, less the connections still open above
  many.clear();
  flood.reset();
  polite.reset();
  for (int i = 0; i < 100; ++i) {
    std::unique_ptr<LedgerClient> c;
    server::ClientOptions options;
    options.port = d.capnp_port();
    options.token = kSystemToken;
    uint64_t position = 0;
    if (LedgerClient::Connect(options, &c).ok() && c->Health(&position).ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(i < 99);
  }
}

}  // namespace

TEST_CASE("capnp: typed lease requests check out, renew and give back a floating seat",
          "[server][capnp][leases]") {
  LedgerdProcess d;
  auto setup = Connect(d, kSystemToken);
  Setup(*setup);
  // F1: one concurrent seat; f1 and f2 are assigned to it.
  const std::vector<std::string> commands = FloatingSeatCommands(1, {"f1", "f2"});
  std::vector<std::string> results;
  REQUIRE(setup->Submit(commands, &results).ok());
  for (const auto& r : results) REQUIRE(json::parse(r)["status"] == "accepted");

  auto c = Connect(d, kAcmeToken);
  auto call = [&](server::LeaseCall lease_call) {
    server::LeaseAnswer answer;
    const ledger::Status s = c->Lease(lease_call, &answer);
    INFO(s.ToString());
    REQUIRE(s.ok());
    return answer;
  };
  // A checkout without an actor: the user checks out for themselves.
  const auto granted = call({.type = "checkout",
                             .tenant = "acme",
                             .subscription = "F1",
                             .user = "f1",
                             .device = "laptop"});
  INFO(granted.message);
  REQUIRE(granted.status == "accepted");
  CHECK(granted.lease.rfind("lease-", 0) == 0);
  CHECK(granted.subscription == "F1");
  CHECK(!granted.expires_at.empty());
  CHECK(granted.version > 0);
  CHECK(granted.position > 0);
  // The only seat is leased.
  const auto refused = call(
      {.type = "checkout", .tenant = "acme", .subscription = "F1", .user = "f2", .device = "desk"});
  CHECK(refused.status == "rejected");
  CHECK(refused.code == "no_free_seat");
  CHECK(refused.lease.empty());
  // A heartbeat answers what the same heartbeat sent as JSON answers.
  const auto renewed =
      call({.type = "heartbeat", .tenant = "acme", .actor = "f1", .lease = granted.lease});
  CHECK(renewed.status == "accepted");
  CHECK(renewed.lease == granted.lease);
  CHECK(renewed.subscription == "F1");
  CHECK(renewed.expires_at >= granted.expires_at);
  REQUIRE(c->Submit({Cmd("heartbeat", "f1", {{"lease", granted.lease}})}, &results).ok());
  const json as_json = json::parse(results.at(0));
  CHECK(as_json["status"] == "accepted");
  CHECK(as_json["lease"] == renewed.lease);
  CHECK(as_json["expires_at"] == renewed.expires_at);
  // Bad input is refused naming the field; another tenant is forbidden to this token.
  const auto no_actor = call({.type = "heartbeat", .tenant = "acme", .lease = granted.lease});
  CHECK(no_actor.status == "rejected");
  CHECK(no_actor.code == "bad_request");
  CHECK(no_actor.message.find("actor") != std::string::npos);
  const auto no_lease = call({.type = "checkin", .tenant = "acme", .actor = "f1"});
  CHECK(no_lease.code == "bad_request");
  CHECK(no_lease.message.find("lease") != std::string::npos);
  const auto elsewhere = call({.type = "checkout",
                               .tenant = "globex",
                               .subscription = "F1",
                               .user = "f1",
                               .device = "laptop"});
  CHECK(elsewhere.status == "rejected");
  CHECK(elsewhere.code == "forbidden");
  server::LeaseAnswer unused;
  CHECK(c->Lease({.type = "renew", .tenant = "acme"}, &unused).IsInvalidArgument());
  // Given back: the lease is gone and the seat free for f2, whose retried checkout (same
  // id) answers the same lease.
  const auto released =
      call({.type = "checkin", .tenant = "acme", .actor = "f1", .lease = granted.lease});
  CHECK(released.status == "accepted");
  CHECK(released.position > renewed.position);
  const auto gone =
      call({.type = "heartbeat", .tenant = "acme", .actor = "f1", .lease = granted.lease});
  CHECK(gone.status == "rejected");
  CHECK(gone.code == "not_found");
  const server::LeaseCall f2_checkout{.type = "checkout",
                                      .tenant = "acme",
                                      .id = "f2-desk-1",
                                      .subscription = "F1",
                                      .user = "f2",
                                      .device = "desk"};
  const auto f2 = call(f2_checkout);
  CHECK(f2.status == "accepted");
  CHECK(f2.id == "f2-desk-1");
  const auto retried = call(f2_checkout);
  CHECK(retried.status == "duplicate");
  CHECK(retried.lease == f2.lease);
  CHECK(retried.position == f2.position);
}

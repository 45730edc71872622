// Bearer tokens of ledgerd: the tokens file, the 401/403 matrix, header parsing, and
// development tokens that work against the file they come with.
#include "server/tokens.h"

#include <array>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "support/run_tool.h"
#include "support/temp_dir.h"

using server::Authorize;
using server::BearerToken;
using server::TokenRegistry;

namespace {

std::string Entry(const std::string& name, const std::string& token, const std::string& tenants,
                  bool system) {
  return "{\"name\":\"" + name + "\",\"token_sha256\":\"" + ledger::ToHex(ledger::Sha256(token)) +
         "\",\"tenants\":" + tenants + ",\"system\":" + (system ? "true" : "false") + "}";
}

TokenRegistry Registry() {
  TokenRegistry r;
  const std::string file = "[" + Entry("billing", "s3cret-billing", "[\"*\"]", true) + "," +
                           Entry("acme-admin", "s3cret-acme", "[\"acme\"]", false) + "," +
                           Entry("two", "s3cret-two", "[\"acme\",\"globex\"]", false) + "]";
  REQUIRE(TokenRegistry::Parse(file, &r).ToString() == "OK");
  return r;
}

}  // namespace

TEST_CASE("tokens: the 401/403 matrix", "[server][auth]") {
  const TokenRegistry r = Registry();
  REQUIRE(r.size() == 3);
  struct Case {
    std::optional<std::string_view> token;
    std::string tenant, actor;
    int status;
  };
  const Case cases[] = {
      {std::nullopt, "acme", "olga", 401},     // no token
      {"nope", "acme", "olga", 401},           // unknown token
      {"s3cret-acme", "acme", "olga", 200},    // in scope
      {"s3cret-acme", "globex", "olga", 403},  // tenant outside the list
      {"s3cret-acme", "acme", "system", 403},  // system without "system": true
      {"s3cret-acme", "", "system", 403},      // the catalog needs system rights
      {"s3cret-two", "globex", "bob", 200},
      {"s3cret-two", "initech", "bob", 403},
      {"s3cret-billing", "anyone", "system", 200},
      {"s3cret-billing", "", "system", 200},
      {"s3cret-acme ", "acme", "olga", 401},  // not trimmed here: a different secret
  };
  for (const auto& c : cases) {
    INFO((c.token ? std::string(*c.token) : "(none)") << " " << c.tenant << " " << c.actor);
    const auto d = Authorize(r, c.token, c.tenant, c.actor, server::Right::kWrite);
    CHECK(d.http_status == c.status);
    if (c.status == 401) CHECK(d.code == "unauthorized");
    if (c.status == 403) CHECK(d.code == "forbidden");
    // Secrets never appear in messages.
    if (c.token) CHECK(d.message.find(std::string(*c.token)) == std::string::npos);
  }
}

TEST_CASE("tokens: Authorization header parsing", "[server][auth]") {
  CHECK(BearerToken("Bearer abc") == std::optional<std::string_view>("abc"));
  CHECK(BearerToken("bearer  abc ") == std::optional<std::string_view>("abc"));
  CHECK(!BearerToken("Basic abc"));
  CHECK(!BearerToken("Bearer "));
  CHECK(!BearerToken("Bearer"));
  CHECK(!BearerToken(""));
}

TEST_CASE("tokens: a bad tokens file names the entry and field", "[server][auth]") {
  TokenRegistry r;
  const std::string good = Entry("a", "x", "[\"*\"]", false);
  struct Bad {
    std::string text, expected;
  };
  const Bad bad[] = {
      {"{}", "expected a JSON array"},
      {"not json", "expected a JSON array"},
      {"[1]", "tokens[0]: not an object"},
      {"[{\"token_sha256\":\"00\",\"tenants\":[\"*\"]}]", "tokens[0].name"},
      {"[{\"name\":\"a\",\"token_sha256\":\"xyz\",\"tenants\":[\"*\"]}]", "tokens[0].token_sha256"},
      {"[{\"name\":\"a\",\"token_sha256\":\"" + std::string(64, '0') + "\",\"tenants\":[]}]",
       "tokens[0].tenants"},
      {"[{\"name\":\"a\",\"token_sha256\":\"" + std::string(64, '0') +
           "\",\"tenants\":[\"*\"],\"system\":\"yes\"}]",
       "tokens[0].system"},
      {"[{\"name\":\"a\",\"token_sha256\":\"" + std::string(64, '0') +
           "\",\"tenants\":[\"*\"],\"admin\":true}]",
       "unknown field 'admin'"},
      {"[" + good + "," + good + "]", "tokens[1].name: 'a' is used twice"},
      {"[" + good + "," + Entry("b", "x", "[\"*\"]", false) + "]", "the same token as 'a'"},
  };
  for (const auto& b : bad) {
    INFO(b.text);
    const ledger::Status s = TokenRegistry::Parse(b.text, &r);
    CHECK(s.code() == ledger::Status::Code::kInvalidArgument);
    CHECK(s.message().find(b.expected) != std::string::npos);
  }
}

TEST_CASE("tokens: a development token works against its own file entry", "[server][auth]") {
  const auto dev = server::NewDevelopmentToken("dev");
  CHECK(dev.token.size() == 64);
  CHECK(dev.file_json.find(dev.token) == std::string::npos);  // only its digest is stored
  ledger::testing::TempDir dir;
  ledger::testing::Write(dir / "tokens.json", dev.file_json);
  TokenRegistry r;
  REQUIRE(TokenRegistry::Load(dir / "tokens.json", &r).ok());
  CHECK(Authorize(r, std::string_view(dev.token), "acme", "system", server::Right::kWrite).ok());
  CHECK(!Authorize(r, std::string_view("x" + dev.token.substr(1)), "acme", "olga",
                   server::Right::kWrite)
             .ok());
  CHECK(server::NewDevelopmentToken("dev").token != dev.token);
  CHECK(TokenRegistry::Load(dir / "missing.json", &r).code() ==
        ledger::Status::Code::kInvalidArgument);
}

TEST_CASE("tokens: each role reaches exactly its rights, only on its tenants", "[server][auth]") {
  using server::Right;
  auto entry = [](const std::string& name, const std::string& role, bool system = false) {
    return "{\"name\":\"" + name + "\",\"token_sha256\":\"" +
           ledger::ToHex(ledger::Sha256("s3cret-" + name)) + "\",\"tenants\":[\"acme\"]" +
           (role.empty() ? "" : ",\"role\":\"" + role + "\"") + (system ? ",\"system\":true" : "") +
           "}";
  };
  TokenRegistry r;
  REQUIRE(TokenRegistry::Parse("[" + entry("svc", "service") + "," + entry("sup", "support") + "," +
                                   entry("aud", "auditor") + "," + entry("adm", "admin") + "," +
                                   entry("old", "") + "," + entry("ops", "", true) + "]",
                               &r)
              .ToString() == "OK");
  const Right rights[] = {Right::kWrite, Right::kCheck, Right::kSupportRead, Right::kAuditRead};
  // Allowed (1) or 403 (0), per right in the order above.
  const std::map<std::string, std::array<int, 4>> matrix = {
      {"svc", {1, 1, 0, 0}}, {"sup", {0, 1, 1, 0}}, {"aud", {0, 1, 1, 1}},
      {"adm", {1, 1, 1, 1}}, {"old", {1, 1, 0, 0}},  // no role: a service token (DESIGN 6.3)
      {"ops", {1, 1, 1, 1}},  // no role but "system": the operator's token, an admin
  };
  for (const auto& [name, allowed] : matrix) {
    const std::string token = "s3cret-" + name;
    for (size_t i = 0; i < 4; ++i) {
      INFO(name << " right " << i);
      const auto d = Authorize(r, std::string_view(token), "acme", "olga", rights[i]);
      CHECK(d.http_status == (allowed[i] ? 200 : 403));
      if (!allowed[i]) CHECK(d.message.find("may not") != std::string::npos);
      // Never another tenant's data, whatever the role.
      CHECK(Authorize(r, std::string_view(token), "globex", "olga", rights[i]).http_status == 403);
    }
  }
  // A read-only token cannot submit even a command that names no tenant.
  CHECK(server::AuthorizeAnyTenant(r, std::string_view("s3cret-sup"), Right::kWrite).http_status ==
        403);
  CHECK(server::AuthorizeAnyTenant(r, std::string_view("s3cret-svc"), Right::kWrite).ok());
  // A role-less token is told it counts as a service token.
  CHECK(Authorize(r, std::string_view("s3cret-old"), "acme", "olga", Right::kSupportRead)
            .message.find("no role, so service") != std::string::npos);
  TokenRegistry bad;
  const auto s = TokenRegistry::Parse("[" + entry("x", "root") + "]", &bad);
  CHECK(s.message().find(".role:") != std::string::npos);
}

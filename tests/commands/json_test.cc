// Command JSON: every field validated, typos never pass silently (DESIGN 6.1).
#include <catch2/catch.hpp>

#include "commands/command.h"
#include "support/ledger_fixture.h"

using commands::BadRequest;
using commands::Command;
using commands::ParseCommand;

namespace {

// The bad_request message for `json`, or "OK" if it parses.
std::string Problem(const std::string& json) {
  Command c;
  BadRequest bad;
  return ParseCommand(json, &c, &bad) ? "OK" : bad.ToString();
}

}  // namespace

TEST_CASE("a valid command parses with its envelope and fields", "[json]") {
  Command c;
  BadRequest bad;
  REQUIRE(ParseCommand(R"({"type":"assign_seat","tenant":"acme","actor":"alice","id":"c-0042",
                           "subscription":"L10427","user":"bob","expected_version":17,
                           "at":"2026-01-05T09:00:00Z"})",
                       &c, &bad));
  CHECK(c.type == "assign_seat");
  CHECK(c.tenant == "acme");
  CHECK(c.actor == "alice");
  CHECK(c.id == "c-0042");
  CHECK_FALSE(c.id_generated);
  CHECK(c.subscription == "L10427");
  CHECK(c.user == "bob");
  CHECK(c.expected_version == 17u);
  CHECK(c.at == ledger::ParseRfc3339("2026-01-05T09:00:00Z"));
}

TEST_CASE("bad requests name the field at fault", "[json]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(nope)", "the request is not valid JSON"},
      {R"([1,2])", "a command must be a JSON object"},
      {R"({"tenant":"acme","actor":"a"})", "type: required"},
      {R"({"type":"steal_seat","tenant":"acme","actor":"a"})",
       "type: unknown command type 'steal_seat'"},
      {R"({"type":"assign_seat","tenant":"acme","actor":"a","subscription":"S","user":"b","usr":"c"})",
       "usr: unknown field for assign_seat"},
      {R"({"type":"assign_seat","tenant":"acme","actor":"a","subscription":"S"})",
       "user: required"},
      {R"({"type":"assign_seat","actor":"a","subscription":"S","user":"b"})", "tenant: required"},
      {R"({"type":"assign_seat","tenant":"ac me","actor":"a","subscription":"S","user":"b"})",
       "tenant: must be 1-128 characters of A-Z a-z 0-9 . _ @ + -"},
      {R"({"type":"assign_seat","tenant":"acme","actor":"a","subscription":"S","user":7})",
       "user: must be a string"},
      {R"({"type":"invite_member","tenant":"acme","actor":"a","user":"b","email":"not-an-email"})",
       "email: is not a valid e-mail address"},
      {R"({"type":"invite_member","tenant":"acme","actor":"a","user":"b","email":"b@x.test","role":"boss"})",
       "role: must be one of owner, admin, user_manager, member"},
      {R"({"type":"resize","tenant":"acme","actor":"a","subscription":"S","seats":0})",
       "seats: must be between 1 and 1000000"},
      {R"({"type":"resize","tenant":"acme","actor":"a","subscription":"S","seats":1000001})",
       "seats: must be between 1 and 1000000"},
      {R"({"type":"resize","tenant":"acme","actor":"a","subscription":"S","seats":2.5})",
       "seats: must be an integer"},
      {R"({"type":"resize","tenant":"acme","actor":"a","subscription":"S","seats":"3"})",
       "seats: must be an integer"},
      {R"({"type":"tick","tenant":"acme","actor":"a","at":"yesterday"})",
       "at: must be an RFC 3339 time such as 2026-01-05T09:00:00Z"},
      {R"({"type":"tick","tenant":"acme","actor":"a","expected_version":-1})",
       "expected_version: must be between 0 and 18446744073709551615"},
      {R"({"type":"tick","tenant":"acme","actor":"a","effective_at":"2026-01-01T00:00:00Z"})",
       "reason: required with effective_at (a backdated correction)"},
      {R"({"type":"define_product","tenant":"acme","actor":"system","product":"p","editions":["a"]})",
       "tenant: not allowed for define_product"},
      {R"({"type":"define_product","actor":"system","product":"p","editions":[]})",
       "editions: must be a non-empty list"},
      {R"({"type":"define_product","actor":"system","product":"p","editions":["a","a"]})",
       "editions[1]: 'a' appears twice"},
      {R"({"type":"purchase_subscription","tenant":"acme","actor":"a","subscription":"S","product":"p","edition":"e","seats":1,"period_start":"2026-02-01T00:00:00Z","period_end":"2026-01-01T00:00:00Z"})",
       "period_end: must be after period_start"},
      {R"({"type":"purchase_subscription","tenant":"acme","actor":"a","subscription":"S","product":"p","edition":"e","seats":1,"period_start":"2026-01-01T00:00:00Z","period_end":"2027-01-01T00:00:00Z","overage":"lock"})",
       "overage: must be one of lock_all, deny_excess, allow"},
      {R"({"type":"import_members","tenant":"acme","actor":"a","rows":[{"email":"x@y.z","mail":"q"}]})",
       "rows[0].mail: unknown field"},
      {R"({"type":"set_purchase_order","tenant":"acme","actor":"a","subscription":"S","purchase_order":""})",
       "purchase_order: must be 1-128 printable characters"},
  };
  for (const auto& [json, expected] : cases) {
    INFO(json);
    CHECK(Problem(json) == expected);
  }
}

TEST_CASE("the request hash covers the content but not the id", "[json]") {
  Command a, b, c;
  BadRequest bad;
  REQUIRE(ParseCommand(R"({"type":"tick","tenant":"acme","actor":"a","id":"1"})", &a, &bad));
  REQUIRE(ParseCommand(R"({"id":"2","actor":"a","tenant":"acme","type":"tick"})", &b, &bad));
  REQUIRE(ParseCommand(R"({"type":"tick","tenant":"acme","actor":"b","id":"1"})", &c, &bad));
  CHECK(a.RequestHash() == b.RequestHash());
  CHECK(a.RequestHash() != c.RequestHash());
}

TEST_CASE("a command without id gets a generated one", "[json]") {
  Command a, b;
  BadRequest bad;
  REQUIRE(ParseCommand(R"({"type":"tick","tenant":"acme","actor":"a"})", &a, &bad));
  REQUIRE(ParseCommand(R"({"type":"tick","tenant":"acme","actor":"a"})", &b, &bad));
  CHECK(a.id_generated);
  CHECK(a.id != b.id);
  CHECK(a.id.rfind("gen-", 0) == 0);
}

TEST_CASE("malformed commands are rejected bad_request and kept in the rejection log",
          "[json][service]") {
  ledger::testing::LedgerFixture l;
  l.StandardSetup();
  auto r = l.RunText(
      R"({"type":"assign_seat","tenant":"acme","actor":"olga","subscription":"S","user":"b","seat":1})");
  CHECK(r.status == "rejected");
  CHECK(r.code == "bad_request");
  CHECK(r.message == "seat: unknown field for assign_seat");
  CHECK(r.ToJson().find(R"("status":"rejected")") != std::string::npos);
  std::vector<ledger::RejectionRecord> log;
  REQUIRE(l.store()
              .ForEachRejection("acme",
                                [&](const ledger::RejectionRecord& rec) {
                                  log.push_back(rec);
                                  return true;
                                })
              .ok());
  REQUIRE(log.size() == 1);
  CHECK(log[0].code == "bad_request");
  CHECK(log[0].actor == "olga");
  CHECK(log[0].command_type == "assign_seat");
}

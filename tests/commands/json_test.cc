// Command JSON: every field validated, typos never pass silently (DESIGN 6.1).
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

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

namespace {

// Every field of `c` but a generated id, as text: two parses agree when these agree.
std::string Describe(const Command& c) {
  auto opt = [](const auto& o) { return o ? std::to_string(*o) : std::string("-"); };
  std::string s = c.type + "|" + c.tenant + "|" + c.actor + "|" + (c.id_generated ? "" : c.id) +
                  "|" + opt(c.at) + "|" + opt(c.expected_version) + "|" + opt(c.effective_at) +
                  "|" + c.reason + "|" + c.owner + "|" + c.owner_email + "|" + c.product + "|" +
                  c.user + "|" + c.email + "|" + c.name + "|" + c.role + "|" + c.group + "|" +
                  c.subscription + "|" + c.edition + "|" + c.seat_model + "|" + c.overage + "|" +
                  c.add_on_of + "|" + opt(c.seats) + "|" + opt(c.max_groups) + "|" +
                  opt(c.trial_days) + "|" + opt(c.lease_ttl_seconds) + "|" + opt(c.period_start) +
                  "|" + opt(c.period_end) + "|" + opt(c.auto_renew) + "|" + opt(c.commit) + "|" +
                  c.change + "|" + c.purchase_order + "|" + c.device + "|" + c.lease + "|" +
                  std::to_string(c.editions.size()) + "|" + std::to_string(c.rows.size()) + "|" +
                  c.canonical_json;
  for (const auto& e : c.editions) s += "|" + e;
  return s;
}

// What ParseCommand and the document-only reference make of `json`.
std::pair<std::string, std::string> BothParses(const std::string& json) {
  Command fast, reference;
  BadRequest fast_bad, reference_bad;
  const bool fast_ok = ParseCommand(json, &fast, &fast_bad);
  const bool reference_ok = commands::ParseCommandDocument(json, &reference, &reference_bad);
  return {fast_ok ? Describe(fast) : "rejected " + fast_bad.ToString(),
          reference_ok ? Describe(reference) : "rejected " + reference_bad.ToString()};
}

// True if ParseCommand reads `json` with the flat reader (no nlohmann document).
bool TakesFlatPath(const std::string& json) { return commands::TakesFlatReader(json); }

}  // namespace

TEST_CASE("commands clients send every day take the flat reader, the rest the document", "[json]") {
  // The flat reader is what keeps commands cheap (ledger-bench commands): losing it would
  // pass every equality test and only show as a slower ledger.
  CHECK(TakesFlatPath(
      R"({"type":"invite_member","tenant":"t1","actor":"owner1","id":"c1-7","user":"u1-7",)"
      R"("email":"u1-7@bench.test","name":"Bench User 1 7"})"));
  CHECK(TakesFlatPath(
      R"({"type":"resize","tenant":"acme","actor":"system","subscription":"s","seats":12,)"
      R"("expected_version":4})"));
  CHECK(TakesFlatPath(R"({"type":"resend_invitation","tenant":"acme","actor":"olga","user":"u",)"
                      R"("commit":true})"));  // read flat, then refused like the document path
  CHECK_FALSE(TakesFlatPath(
      R"({"type":"define_product","actor":"system","product":"p","editions":["a","b"]})"));
  CHECK_FALSE(TakesFlatPath(R"({"type":"tick","tenant":"acme","actor":"system","reason":"a\"b"})"));
  CHECK_FALSE(TakesFlatPath(R"({"type":"tick","tenant":"acme","actor":null})"));
  CHECK_FALSE(TakesFlatPath(R"({"type":"tick","tenant":"acme","actor":"a","actor":"b"})"));
  CHECK_FALSE(TakesFlatPath(R"({"type":"resize","seats":-1})"));
  CHECK_FALSE(TakesFlatPath(R"({"type":"resize","seats":1.5})"));
  CHECK_FALSE(TakesFlatPath("{\"type\":\"tick\",\n\"tenant\":\"acme\"}"));  // a raw newline
  CHECK_FALSE(TakesFlatPath(R"({"type":"tick"} x)"));
}

TEST_CASE("flat commands read without a document parse exactly as with one", "[json]") {
  // The fast path must give the same fields, canonical form (hence request hash) and
  // errors as the document path, for commands it takes and for those it hands over.
  std::mt19937 rng(20261123);
  const std::vector<std::string> keys = {"type",
                                         "tenant",
                                         "actor",
                                         "id",
                                         "user",
                                         "email",
                                         "name",
                                         "role",
                                         "group",
                                         "seats",
                                         "subscription",
                                         "product",
                                         "edition",
                                         "at",
                                         "reason",
                                         "effective_at",
                                         "expected_version",
                                         "auto_renew",
                                         "commit",
                                         "owner",
                                         "owner_email",
                                         "device",
                                         "lease",
                                         "bogus",
                                         "Type",
                                         "seat_model",
                                         "overage",
                                         "max_groups",
                                         "trial_days",
                                         "period_start",
                                         "period_end",
                                         "editions",
                                         "rows"};
  const std::vector<std::string> types = commands::CommandTypes();
  const std::vector<std::string> values = {R"("acme")",
                                           R"("alice")",
                                           R"("a@b.example")",
                                           R"("Zoë \"Z\" Ünal")",
                                           R"("tab\there")",
                                           R"("line\u0001x")",
                                           R"("back\\slash")",
                                           R"("\u00e9t\u00e9")",
                                           R"("2026-01-05T09:00:00Z")",
                                           R"("member")",
                                           R"("admin")",
                                           R"("named")",
                                           R"("lock_all")",
                                           R"("")",
                                           "0",
                                           "1",
                                           "3",
                                           "1000001",
                                           "18446744073709551615",
                                           "-1",
                                           "2.5",
                                           "true",
                                           "false",
                                           "null",
                                           "[]",
                                           R"(["standard","pro"])",
                                           R"({"a":1})",
                                           R"("x y")",
                                           R"("system")"};
  // Valid commands as members, then mutated: values swapped, members dropped or added,
  // order shuffled.
  using Member = std::pair<std::string, std::string>;
  const std::vector<std::vector<Member>> valid = {
      {{"type", R"("invite_member")"},
       {"tenant", R"("acme")"},
       {"actor", R"("olga")"},
       {"id", R"("c1")"},
       {"user", R"("u1")"},
       {"email", R"("u1@acme.example")"},
       {"name", R"("Zoë \"Z\" \\ Ünal")"},
       {"role", R"("admin")"}},
      {{"type", R"("assign_seat")"},
       {"tenant", R"("acme")"},
       {"actor", R"("olga")"},
       {"subscription", R"("s1")"},
       {"user", R"("u1")"}},
      {{"type", R"("resize")"},
       {"tenant", R"("acme")"},
       {"actor", R"("system")"},
       {"subscription", R"("s1")"},
       {"seats", "12"},
       {"expected_version", "4"}},
      {{"type", R"("purchase_subscription")"},
       {"tenant", R"("acme")"},
       {"actor", R"("system")"},
       {"subscription", R"("s1")"},
       {"product", R"("p")"},
       {"edition", R"("pro")"},
       {"seats", "5"},
       {"period_start", R"("2026-01-01T00:00:00Z")"},
       {"period_end", R"("2027-01-01T00:00:00Z")"},
       {"auto_renew", "false"},
       {"overage", R"("deny_excess")"}},
      {{"type", R"("revoke_seat")"},
       {"tenant", R"("acme")"},
       {"actor", R"("olga")"},
       {"subscription", R"("s1")"},
       {"user", R"("u1")"},
       {"reason", R"("tab\there")"},
       {"effective_at", R"("2026-01-01T00:00:00Z")"}},
      {{"type", R"("tick")"},
       {"tenant", R"("acme")"},
       {"actor", R"("system")"},
       {"at", R"("2026-03-01T00:00:00Z")"}},
  };
  int fast_taken = 0, accepted = 0;
  for (int i = 0; i < 4000; ++i) {
    std::vector<Member> members = valid[rng() % valid.size()];
    const int mutations = static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations; ++m) {
      switch (rng() % 4) {
        case 0:
          members[rng() % members.size()].second = values[rng() % values.size()];
          break;
        case 1:
          members.erase(members.begin() + static_cast<long>(rng() % members.size()));
          break;
        case 2:
          members.emplace_back(keys[rng() % keys.size()], values[rng() % values.size()]);
          break;
        default:
          members.emplace_back("type", "\"" + types[rng() % types.size()] + "\"");
          break;
      }
      if (members.empty()) break;
    }
    std::shuffle(members.begin(), members.end(), rng);
    std::string json = rng() % 4 == 0 ? " { " : "{";
    for (size_t f = 0; f < members.size(); ++f) {
      if (f > 0) json += rng() % 4 == 0 ? " , " : ",";
      json += "\"" + members[f].first + "\":" + members[f].second;
    }
    json += "}";
    if (rng() % 50 == 0) json += "x";      // trailing garbage
    if (rng() % 50 == 0) json.pop_back();  // unclosed
    const auto [fast, reference] = BothParses(json);
    INFO(json);
    REQUIRE(fast == reference);
    accepted += fast.rfind("rejected", 0) == 0 ? 0 : 1;
    fast_taken += TakesFlatPath(json) ? 1 : 0;
  }
  // The sample reaches both outcomes, and the flat reader takes a good share of it.
  CHECK(accepted > 20);
  CHECK(fast_taken > 1000);
  CHECK(fast_taken < 4000);

  // Edge cases of the two readers: a byte-order mark, "-0", exponents, fractions, integers
  // past 63 and 64 bits, non-ASCII text, an empty key, spaces, trailing content, broken
  // UTF-8 and a lone surrogate.
  for (
      const std::string json : {
          "\xEF\xBB\xBF{\"type\":\"tick\",\"tenant\":\"acme\",\"actor\":\"system\"}",
          R"({"type":"resize","tenant":"acme","actor":"system","subscription":"s","seats":-0})",
          R"({"type":"resize","tenant":"acme","actor":"system","subscription":"s","seats":1e2})",
          R"({"type":"resize","tenant":"acme","actor":"system","subscription":"s","seats":1.0})",
          R"({"type":"resize","tenant":"acme","actor":"system","subscription":"s","seats":18446744073709551616})",
          R"({"type":"resize","tenant":"acme","actor":"system","subscription":"s","seats":9223372036854775808})",
          "{\"type\":\"invite_member\",\"tenant\":\"acme\",\"actor\":\"o\",\"user\":\"u\","
          "\"email\":\"u@a.example\",\"name\":\"Zo\xC3\xAB \xF0\x9F\x98\x80\"}",
          R"({"":1,"type":"tick","tenant":"acme","actor":"system"})",
          R"(  {  "type" :  "tick" , "tenant":"acme","actor":"system"  }  )",
          R"({"type":"tick","tenant":"acme","actor":"system"} {})",
          "{\"type\":\"tick\",\"tenant\":\"acme\",\"actor\":\"system\",\"reason\":\"bad \xC3\"}",
          "{\"type\":\"tick\",\"tenant\":\"acme\",\"actor\":\"system\",\"reason\":"
          "\"\xED\xA0\x80\"}",
      }) {
    const auto [fast, reference] = BothParses(json);
    INFO(json);
    CHECK(fast == reference);
  }

  // Valid commands of several types, as clients send them.
  for (
      const std::string json : {
          R"({"type":"invite_member","tenant":"acme","actor":"olga","id":"c1","user":"u1","email":"u1@acme.example","name":"Ünal \"U\" \\ One","role":"admin"})",
          R"({"type":"purchase_subscription","tenant":"acme","actor":"system","subscription":"s1","product":"p","edition":"pro","seats":5,"period_start":"2026-01-01T00:00:00Z","period_end":"2027-01-01T00:00:00Z","auto_renew":false})",
          R"({"type":"define_product","actor":"system","product":"p","editions":["standard","pro"]})",
          R"({"type":"tick","tenant":"acme","actor":"system","expected_version":7})",
          R"({"type":"tick","tenant":"acme","actor":"system","id":"a","id":"b"})",
      }) {
    const auto [fast, reference] = BothParses(json);
    INFO(json);
    CHECK(fast == reference);
    CHECK(fast.rfind("rejected", 0) != 0);
  }
}

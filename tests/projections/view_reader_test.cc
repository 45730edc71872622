// ViewReader on a read-only open (as ledgerctl check and ledger-replay use it): repeated
// checks keep giving the fold's answers, also when its row cache is tiny and evicts.
#include <catch2/catch.hpp>

#include "commands/access.h"
#include "commands/service.h"
#include "support/ledger_fixture.h"

using json = nlohmann::json;
using ledger::testing::LedgerFixture;

TEST_CASE("read-only view reader: repeated checks equal the fold, with any cache size",
          "[views][reader]") {
  LedgerFixture l;
  l.StandardSetup();
  for (const char* u : {"bob", "carol", "dave", "erin"}) l.AddMember(u);
  l.Ok({{"type", "invite_member"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"user", "frank"},
        {"email", "frank@acme.test"}});
  l.Buy("L1", 2);
  l.Ok({{"type", "assign_seat"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"subscription", "L1"},
        {"user", "bob"}});
  l.Ok({{"type", "assign_seat"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"subscription", "L1"},
        {"user", "carol"}});
  l.Ok({{"type", "remove_member"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"user", "erin"},
        {"at", "2026-02-01T00:00:00Z"}});
  l.Close();

  const size_t cached_rows = GENERATE(size_t{0}, size_t{2}, size_t{1} << 18);
  auto views = std::make_shared<projections::ViewProjector>();
  ledger::StoreOptions options;
  options.env = l.env();
  options.read_only = true;
  options.projectors = {views};
  std::unique_ptr<ledger::Store> store;
  REQUIRE(ledger::Store::Open(options, "/ledger", &store).ToString() == "OK");
  REQUIRE(views->current());
  projections::ViewReader reader(views.get(), store.get(), cached_rows);
  commands::TenantState state;
  REQUIRE(commands::LoadTenant(*store, "acme", std::nullopt, &state).ok());
  const ledger::Micros now = reader.Now();
  int allowed = 0;
  for (int round = 0; round < 3; ++round) {
    for (const char* user : {"olga", "bob", "carol", "dave", "erin", "frank", "nobody"}) {
      for (const char* product : {"pcon.planner", "other"}) {
        INFO("cache " << cached_rows << " round " << round << " " << user << " " << product);
        commands::AccessDecision d;
        REQUIRE(reader.Check("acme", user, product, std::nullopt, &d).ok());
        CHECK(d.ToJson() == commands::CheckAccess(state, user, product, now).ToJson());
        allowed += d.allowed ? 1 : 0;
      }
    }
    commands::AccessDecision unknown;
    REQUIRE(reader.Check("ghost", "bob", "pcon.planner", std::nullopt, &unknown).ok());
    CHECK(unknown.reason == "unknown_tenant");
  }
  CHECK(allowed == 3 * 2);  // bob and carol, each round
  CHECK(reader.folded_checks() == 0);
}

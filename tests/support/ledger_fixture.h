// A ledger for command tests: a real Store on an in-memory RocksDB Env with the manual
// clock, a CommandService, and helpers to run JSON commands and look at the results.
#pragma once

#include <rocksdb/env.h>

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands/access.h"
#include "commands/lease_table.h"
#include "commands/service.h"
#include "ledger/store.h"
#include "projections/view_reader.h"
#include "projections/views.h"
#include "support/views_check.h"

namespace ledger::testing {

class LedgerFixture {
 public:
  LedgerFixture() { Open(); }

  // Reopens the store on the same in-memory files (a restart); `rebuild` drops and
  // rebuilds the views from the log.
  void Open(bool rebuild = false) {
    reader_.reset();
    service_.reset();
    store_.reset();
    // Small snapshot interval and cache: snapshots and evictions happen in every test.
    projections::ViewOptions view_options;
    view_options.snapshot_every = 5;
    view_options.cache_bytes = 16 << 10;
    views_ = std::make_shared<projections::ViewProjector>(view_options);
    StoreOptions options;
    options.env = env_.get();
    options.clock_mode_if_new = ClockMode::kManual;
    options.projectors = {views_};
    commands::AddSideTables(&options);
    options.rebuild_projections = rebuild;
    Status s = Store::Open(options, "/ledger", &store_);
    REQUIRE(s.ToString() == "OK");
    service_ = std::make_unique<commands::CommandService>(store_.get());
    reader_ = std::make_unique<projections::ViewReader>(views_.get(), store_.get());
  }

  // Runs one command given as a JSON object; fills "id" when missing so that every
  // command is distinct.
  commands::CommandResult Run(nlohmann::json command) {
    if (!command.contains("id")) command["id"] = "cmd-" + std::to_string(++counter_);
    return service_->ExecuteJson(command.dump());
  }
  // Runs raw text (for malformed input).
  commands::CommandResult RunText(const std::string& text) { return service_->ExecuteJson(text); }

  // Runs a command that must be accepted; returns the event types it appended.
  std::vector<std::string> Ok(nlohmann::json command) {
    const std::string text = command.dump();
    auto r = Run(std::move(command));
    INFO(text << " → " << r.ToJson());
    REQUIRE(r.status == "accepted");
    std::vector<std::string> types;
    for (const auto& e : r.events) types.push_back(e.type);
    return types;
  }

  // Runs a command that must be rejected; returns the code.
  std::string Rejected(nlohmann::json command) {
    const std::string text = command.dump();
    auto r = Run(std::move(command));
    INFO(text << " → " << r.ToJson());
    REQUIRE(r.status == "rejected");
    return r.code;
  }

  // The tenant's state folded from the store (all events, or those effective by `upto`).
  commands::TenantState State(const std::string& tenant,
                              std::optional<Micros> upto = std::nullopt) {
    commands::TenantState s;
    REQUIRE(commands::LoadTenant(*store_, tenant, upto, &s).ok());
    return s;
  }

  // R18 check at `at` (RFC 3339), or at the ledger's current time.
  commands::AccessDecision Check(const std::string& tenant, const std::string& user,
                                 const std::string& product, const std::string& at = "") {
    std::optional<Micros> t;
    if (!at.empty()) t = ParseRfc3339(at);
    auto state = State(tenant, t);
    const auto folded =
        commands::CheckAccess(state, user, product, t.value_or(store_->LedgerTime()));
    // The views must give the same answer as the fold.
    commands::AccessDecision viewed;
    REQUIRE(reader_->Check(tenant, user, product, t, &viewed).ok());
    INFO(tenant << "/" << user << "/" << product << " at " << (at.empty() ? "now" : at));
    REQUIRE(viewed.ToJson() == folded.ToJson());
    return folded;
  }

  // "" when the views of `tenant` equal a fresh fold (see support/views_check.h).
  std::string ViewsMismatch(const std::string& tenant) {
    return testing::ViewsMismatch(*store_, *views_, tenant);
  }

  // Every view row, for comparing incremental views with rebuilt ones.
  Rows DumpViews() { return testing::DumpViews(*views_); }

  projections::ViewProjector& views() { return *views_; }
  projections::ViewReader& reader() { return *reader_; }

  // Every event of a stream, in order, by type name.
  std::vector<std::string> StreamTypes(const std::string& tenant) {
    std::vector<std::string> types;
    for (auto c = store_->ReadStream(tenant); c->Valid(); c->Next()) {
      types.emplace_back(c->event().type_name());
    }
    return types;
  }

  Store& store() { return *store_; }
  commands::CommandService& service() { return *service_; }
  // The in-memory files (to open the same ledger another way, e.g. read-only).
  rocksdb::Env* env() { return env_.get(); }
  // Closes the ledger (the files stay); Open() reopens it.
  void Close() {
    reader_.reset();
    service_.reset();
    store_.reset();
  }

  // A tenant "acme" owned by olga, with the product "pcon.planner" (standard < pro <
  // premium) defined, at 2026-01-01T00:00:00Z.
  void StandardSetup() {
    Ok({{"type", "define_product"},
        {"actor", "system"},
        {"product", "pcon.planner"},
        {"editions", {"standard", "pro", "premium"}},
        {"at", "2026-01-01T00:00:00Z"}});
    Ok({{"type", "create_tenant"},
        {"tenant", "acme"},
        {"actor", "system"},
        {"owner", "olga"},
        {"owner_email", "olga@acme.test"}});
  }

  // Invites `user` with `role` into acme (by olga) and accepts the invitation.
  void AddMember(const std::string& user, const std::string& role = "member") {
    Ok({{"type", "invite_member"},
        {"tenant", "acme"},
        {"actor", "olga"},
        {"user", user},
        {"email", user + "@acme.test"},
        {"role", role}});
    Ok({{"type", "accept_invitation"}, {"tenant", "acme"}, {"actor", user}});
  }

  // Buys `sub` for acme: pcon.planner `edition`, `seats` seats, 2026-01-01 → 2027-01-01,
  // plus any `extra` fields.
  void Buy(const std::string& sub, int seats, nlohmann::json extra = nlohmann::json::object(),
           const std::string& edition = "pro") {
    nlohmann::json c = {{"type", "purchase_subscription"},
                        {"tenant", "acme"},
                        {"actor", "olga"},
                        {"subscription", sub},
                        {"product", "pcon.planner"},
                        {"edition", edition},
                        {"seats", seats},
                        {"period_start", "2026-01-01T00:00:00Z"},
                        {"period_end", "2027-01-01T00:00:00Z"}};
    for (auto& [k, v] : extra.items()) c[k] = v;
    Ok(c);
  }

 private:
  std::unique_ptr<rocksdb::Env> env_{rocksdb::NewMemEnv(rocksdb::Env::Default())};
  std::unique_ptr<Store> store_;
  std::unique_ptr<commands::CommandService> service_;
  std::shared_ptr<projections::ViewProjector> views_;
  std::unique_ptr<projections::ViewReader> reader_;
  int counter_ = 0;
};

}  // namespace ledger::testing

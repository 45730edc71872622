// CommandService: runs commands against a store — parse, decide in the store's single
// writer (so decisions see every earlier command), append, answer (DESIGN 6.1).
//
// Thread-safe: Submit may be called from any thread. Every command for a store must go
// through its one CommandService: the service keeps each tenant's folded state in memory,
// updated on the store's builder thread as events are encoded.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/command.h"
#include "commands/decide.h"
#include "commands/lease_table.h"
#include "commands/state.h"
#include "ledger/store.h"

namespace commands {

// The outcome of one command, as a client sees it.
struct CommandResult {
  std::string status;  // "accepted" | "duplicate" | "rejected" | "dry_run"
  std::string id;
  uint64_t version = 0;
  uint64_t position = 0;
  std::vector<ledger::AppendedEvent> events;
  std::string code;     // rejected
  std::string message;  // rejected
  std::optional<ImportReport> report;
  std::optional<LeaseOutcome> lease;  // checkout and heartbeat (not when ended)

  // One JSON object, as in DESIGN 6.1 (plus "report" for import_members; "lease",
  // "subscription" and "expires_at" for checkout and heartbeat).
  std::string ToJson() const;
};

// The report of an import as JSON: {"valid": [...], "incomplete": [...], ...}.
std::string ImportReportJson(const ImportReport& report);

class CommandService {
 public:
  using Callback = std::function<void(CommandResult)>;

  // REQUIRES: `store` outlives the service, and no other writer appends to tenant streams.
  explicit CommandService(ledger::Store* store);
  ~CommandService();

  // Decides and appends `command`. `done` runs once the outcome is durable, on the
  // store's completion thread (keep it short); commands submitted from one thread are
  // decided in submission order.
  void Submit(Command command, Callback done);
  // Parses one JSON command, then as Submit. Unparseable input is rejected bad_request
  // (and kept in the rejection log).
  void SubmitJson(std::string_view json, Callback done);

  // Tenants holding a lease due to expire at or before `now` (R19), for a sweeper that
  // writes the expiries with a `tick` when no other command does. Thread-safe.
  std::vector<std::string> TenantsWithLeasesDue(Micros now) const;

  // Blocking forms.
  CommandResult Execute(Command command);
  CommandResult ExecuteJson(std::string_view json);

 private:
  // Whether `rejection` of `cmd` may come from a stale copy of the catalog (another node
  // writes the catalog's partition, and the command names a product or edition).
  bool MayNeedNewerCatalog(const Command& cmd, const ledger::Rejected& rejection);
  // Brings this node's copy of the catalog up to the log and reloads it (writer thread);
  // true when the catalog changed.
  bool RefreshCatalog();
  struct Pending;
  ledger::Decision DecideInWriter(Pending& pending, const ledger::StreamHead& head,
                                  ledger::Micros now);
  // The cached state of `stream` at `head`, loading it from the store when needed
  // (builder thread only). nullptr if the store holds events this service never saw.
  TenantState* StateFor(const std::string& stream, const ledger::StreamHead& head);
  void OnEncoded(const std::string& stream, ledger::schema::Event::Reader event);
  // Applies the lease table's expiries (heartbeats) to a freshly folded `state`.
  void OverlayLeaseTable(TenantState* state) const;
  // Records when `stream`'s earliest lease falls due (builder thread).
  void NoteLeases(const std::string& stream, const TenantState& state);

  ledger::Store* const store_;
  const LeaseTable leases_;
  // Builder-thread state.
  std::unordered_map<std::string, TenantState> tenants_;
  Catalog catalog_;
  uint64_t generation_ = 0;  // the store's WriterGeneration the caches belong to
  // Reads every tenant's earliest lease expiry from the lease table (lease_mu_ held).
  void LoadLeaseDue() const;

  // Earliest lease expiry by tenant, for TenantsWithLeasesDue.
  mutable std::mutex lease_mu_;
  mutable std::map<std::string, Micros> lease_due_;  // guarded by lease_mu_
  // guarded by lease_mu_: the store's WriterGeneration lease_due_ was loaded at (after a
  // takeover of the log it holds leases another node decided)
  mutable uint64_t lease_generation_ = 0;
};

// Folds `tenant`'s stream from the store into a fresh *state: every event effective at or
// before `upto` (all when nullopt), i.e. LoadTenantAsOf with AsOf{.at = upto}.
ledger::Status LoadTenant(const ledger::Store& store, const std::string& tenant,
                          std::optional<Micros> upto, TenantState* state);
// Folds the product catalog's stream from the store into a fresh *catalog.
ledger::Status LoadCatalog(const ledger::Store& store, Catalog* catalog);

}  // namespace commands

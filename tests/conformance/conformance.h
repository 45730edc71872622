// Helpers of the conformance suite: commands as a client sends them (JSON through the
// CommandService), the log as a reader sees it, and a client whose every command appends
// several events, for the atomicity tests.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands/service.h"
#include "conformance/backend.h"
#include "ledger/store.h"

namespace conformance {

using json = nlohmann::json;

// The ledger time every test starts at.
inline constexpr char kStart[] = "2026-01-01T00:00:00Z";
// The product every tenant subscribes to.
inline constexpr char kProduct[] = "pcon.planner";

// A fresh backend from `factory`, open.
std::unique_ptr<Backend> OpenFresh(const BackendFactory& factory);

// Runs one command and waits for its result.
commands::CommandResult Run(Backend& b, const json& command);
// Runs a command that must be accepted (the test stops otherwise).
commands::CommandResult Accept(Backend& b, const json& command);

// Defines kProduct at kStart (the ledger's first command; id "product-x1").
void DefineProduct(Backend& b);
// Creates `tenant`, owned by "olga", with subscription "S" of kProduct (`seats` seats,
// kStart to a year later) and group "G". Ids "<tenant>-created-x1", "<tenant>-s-x1",
// "<tenant>-g-x1".
void CreateTenant(Backend& b, const std::string& tenant, int seats = 1000000);

// An invite_member of `user` into `tenant` by olga.
json Invite(const std::string& tenant, const std::string& user, const std::string& id);

// One event of the log as a reader sees it.
struct LogEntry {
  uint64_t position = 0;
  uint64_t version = 0;
  std::string tenant;
  std::string command_id;
  std::string type;
  std::string actor;
};
// Every event of the log, in order. Without `error` it REQUIREs that reading succeeds;
// threads other than the test's pass `error` (Catch2 asserts only on the test's thread)
// and get "" or the failure there.
std::vector<LogEntry> ReadLog(const ledger::Store& store, std::string* error = nullptr);
// Events the store's log holds, counted partition by partition (LogFrontier); on an
// embedded ledger, LastPosition().
uint64_t EventCount(const ledger::Store& store);
// Does `position` follow `previous` (0: the log's first event) in a log read in position
// order? Positions run from 1 without gaps within each partition and partitions come in
// order (ledger/log_partitions.h); an embedded ledger is one partition numbered 1..N.
bool FollowsWithoutGap(uint64_t previous, uint64_t position);
// The events of one tenant's stream at versions [from, to], in order (`error` as ReadLog).
std::vector<LogEntry> ReadStream(const ledger::Store& store, const std::string& tenant,
                                 uint64_t from = 1, uint64_t to = UINT64_MAX,
                                 std::string* error = nullptr);

// The number of events a command appends, from its id's suffix "-x<events>" (the suite
// names its multi-event commands so), or -1 for other ids.
int EventsInId(const std::string& command_id);

// "" when every command of `entries` (a log or a stream, or a prefix of one) that names
// its event count in its id appears whole: that many events, at consecutive positions
// and versions, one run. Otherwise the first command that does not.
std::string HalfCommand(const std::vector<LogEntry>& entries);

// A client of one tenant (made by CreateTenant) whose commands each append several
// events: command n imports new users with the tenant's subscription and group (three
// events a user) or, every third command, removes a user the previous command imported
// (seat revoked, group membership removed, member removed). Command n is always the same
// command (id "<tenant>-c<n>-x<events>"), so that a client may send it again after a crash.
class MultiEventClient {
 public:
  explicit MultiEventClient(std::string tenant) : tenant_(std::move(tenant)) {}

  const std::string& tenant() const { return tenant_; }
  // Command n of the script.
  json Command(int n) const;
  // The id of command n, and the events it appends.
  std::string Id(int n) const;
  static int Events(int n);
  // The users command n imports (none for a removal), and whether it removes one.
  static int ImportedUsers(int n);
  static bool Removes(int n) { return n % 3 == 2; }
  // The i-th user command n imports.
  static std::string User(int n, int i) {
    return "u" + std::to_string(n) + "-" + std::to_string(i);
  }

 private:
  std::string tenant_;
};

}  // namespace conformance

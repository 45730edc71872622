// What ledgerd does with a request once its protocol has decoded it: authorize it
// against the caller's token, run it on the engine, count it. Shared by the HTTP and the
// Cap'n Proto front ends, so both answer every request the same way.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/access.h"
#include "commands/service.h"
#include "ledger/store.h"
#include "projections/view_reader.h"
#include "projections/views.h"
#include "server/backups.h"
#include "server/forwarder.h"
#include "server/metrics.h"
#include "server/replay_routes.h"
#include "server/tokens.h"

namespace server {

// Limits every listener applies to its connections, whatever the protocol.
struct ConnectionLimits {
  int idle_timeout_seconds = 30;     // a connection silent (and idle) this long is closed
  size_t max_connections = 1024;     // further connections are closed at once
  size_t max_batch_commands = 1000;  // more commands in one request: refused
  int threads = 2;                   // I/O threads
};

// What the server serves: the store, the one CommandService for it, and a view reader.
struct Engine {
  ledger::Store* store = nullptr;
  commands::CommandService* service = nullptr;
  const projections::ViewReader* reader = nullptr;
  // Takes backups (POST /v1/admin/backup); nullptr: refused as unavailable.
  BackupRunner* backups = nullptr;
  // Sends commands to the node that writes the log while this one follows it (DESIGN
  // section 7); nullptr: a follower refuses them as unavailable.
  CommandForwarder* forwarder = nullptr;
  // The views the reader reads, for the verify route; nullptr: verify answers 503.
  const projections::ViewProjector* views = nullptr;
  // The ledger's key and kept signed checkpoints; nullptr: the checkpoint routes answer
  // 503 and exports carry none.
  const replay::Checkpoints* checkpoints = nullptr;
};

// A request's answer when it is not a success: the HTTP status it maps to (Cap'n Proto
// sends code and message in an error response), a code of DESIGN 6.1 and a message
// naming the problem. http_status 200 means no refusal.
struct Refusal {
  int http_status = 200;
  std::string code;
  std::string message;

  bool ok() const { return http_status == 200; }
};

// One command's answer: its result object (DESIGN 6.1) and the HTTP status it maps to
// (200 for accepted, duplicate and domain rejections; 400, 401, 403, 503 otherwise).
struct CommandOutcome {
  std::string json;
  int http_status = 200;
};

struct CommandWaves;  // frontend.cc: one request's commands on their way

// What both protocols share: authorize, run, count. Thread-safe (called from every I/O
// thread at once).
class Frontend {
 public:
  // REQUIRES: everything outlives the frontend.
  Frontend(Engine engine, const TokenRegistry* tokens, ServerMetrics* metrics);

  // Authorizes one command (its tenant; `system` rights for actor system or the catalog),
  // then submits it — or, while this node follows the log, forwards it to the node that
  // writes it (unless the command was `forwarded` here by another node). `done` runs once
  // the outcome is durable (and, forwarded, visible here), on the store's completion
  // thread or a forwarder thread (keep it short), or at once when the command is refused
  // before submission.
  void SubmitCommand(std::optional<std::string_view> token, std::string_view command_json,
                     std::function<void(CommandOutcome)> done, bool forwarded = false);
  // The commands of one request (an HTTP array, a Cap'n Proto submit), each answered by
  // `done(i, outcome)`. Decided in their order: on one writer they are queued in order;
  // with spread partitions, consecutive commands for one writer go together and the next
  // writer's only once those are answered, so a command sees what an earlier one of the
  // request wrote on another node (a product it defined).
  void SubmitCommands(std::optional<std::string_view> token, std::vector<std::string> commands,
                      std::function<void(size_t, CommandOutcome)> done, bool forwarded = false);
  // Like SubmitCommand, answering the result itself (with its HTTP status) rather than its
  // JSON: for protocols that send typed results.
  void SubmitCommandResult(std::optional<std::string_view> token, std::string_view command_json,
                           std::function<void(commands::CommandResult, int http_status)> done,
                           bool forwarded = false);

  // The access check (R18) at `at_text` (RFC 3339; empty: now).
  Refusal Check(std::optional<std::string_view> token, const std::string& tenant,
                const std::string& user, const std::string& product, const std::string& at_text,
                commands::AccessDecision* decision);

  // The tenant's current state as the JSON of `ledger-replay state --json`.
  Refusal State(std::optional<std::string_view> token, const std::string& tenant,
                std::string* json);
  // The tenant's current state, folded from its events (*at: the time it is as of).
  Refusal Fold(std::optional<std::string_view> token, const std::string& tenant,
               commands::TenantState* state, ledger::Micros* at);

  // GET /v1/tenants/{tenant}/{verb} for a replay verb (replay_routes.h), once `token` has
  // the verb's right on `tenant`; nullopt when `verb` is not a replay verb.
  std::optional<RouteAnswer> Replay(std::optional<std::string_view> token,
                                    const std::string& tenant, std::string_view verb,
                                    const QueryParams& query);
  // POST /v1/tenants/{tenant}/what-if (replay_routes.h RunWhatIf), once `token` has the
  // support reads of `tenant`. Records nothing.
  RouteAnswer WhatIf(std::optional<std::string_view> token, const std::string& tenant,
                     const QueryParams& query, const std::string& body);
  // GET /v1/tenants: {"tenants":[ids]}, the tenants with events that `token` reaches, in
  // id order; `limit` (1..1000) and `after` (the last id of the previous page) page it.
  RouteAnswer Tenants(std::optional<std::string_view> token, const QueryParams& query);
  // May `token` read the log of `tenant` (every tenant when empty)?
  Refusal AuthorizeEvents(std::optional<std::string_view> token, const std::string& tenant);

  // Reads durable events from position `from` on — only `tenant`'s when not empty — and
  // calls `fn(bytes, event)` for at most `max` of them. *next is where to go on from.
  ledger::Status ReadEvents(
      uint64_t from, const std::string& tenant, size_t max,
      const std::function<void(std::string_view, ledger::schema::Event::Reader)>& fn,
      uint64_t* next) const;

  // Where a live tail that starts at position `from` stands in each partition of the log
  // (ledger/log_partitions.h): before `from` in its partition, at the start of the
  // partitions after it, at the end of those before it (only their new events come).
  // One entry on an embedded ledger: from - 1.
  std::vector<uint64_t> TailCursorAt(uint64_t from) const;
  // Reads up to `max` durable events past `cursor` — partition by partition, only
  // `tenant`'s when not empty — calls `fn(bytes, event)` for each and advances `cursor`.
  // *read: how many. A tail of a partitioned log cannot follow one position: new events
  // land in every partition.
  ledger::Status ReadPastCursor(
      std::vector<uint64_t>* cursor, const std::string& tenant, size_t max,
      const std::function<void(std::string_view, ledger::schema::Event::Reader)>& fn,
      size_t* read) const;

  // Takes a backup into the server's --backup-dir. Refused unless `token` has admin
  // rights (AuthorizeAdmin), `body_json` is empty or `{}`, a backup directory is
  // configured and no backup is running. `done` gets the answer: the backup's JSON
  // (BackupJson) with 200, or a rejection object with 400, 401, 403, 409 or 503 — on the
  // backup's thread, or at once when refused.
  void Backup(std::optional<std::string_view> token, std::string_view body_json,
              std::function<void(CommandOutcome)> done);

  const ledger::Store& store() const { return *engine_.store; }
  ServerMetrics& metrics() { return *metrics_; }

 private:
  Refusal Count(const AuthDecision& auth);
  // Parses `command_json` into *cmd (false: not a valid command) and authorizes it.
  AuthDecision AuthorizeCommand(std::optional<std::string_view> token,
                                std::string_view command_json, commands::Command* cmd,
                                bool* parsed);
  // Where a command of `json` goes: "" here, else the node that writes its partition
  // (SubmitCommands' waves).
  std::string DestinationOf(std::string_view json) const;
  // SubmitCommands from command `from` on: the wave of commands with one destination,
  // then (once all are answered) the rest.
  void SubmitWave(std::shared_ptr<CommandWaves> waves, size_t from);
  // The stream a command appends to: its tenant's, or the catalog for define_product.
  static std::string_view StreamOf(const commands::Command& cmd);
  // Does this node hand `cmd` to another node (another node writes its stream's
  // partition, and the command was not forwarded here)?
  bool ShouldForward(bool forwarded, const commands::Command& cmd) const;
  // Forwards an authorized command (`id`, appending to `stream`) to the node that writes
  // that stream's partition.
  void Forward(std::optional<std::string_view> token, std::string_view command_json,
               const std::string& id, std::string_view stream, CommandForwarder::Done done);
  // What a command submitted here needs to be forwarded after all.
  struct Rerouted {
    std::optional<std::string> token;
    std::string json;
    std::string id;
    std::string stream;
  };
  // Submits an authorized command here (`parsed` false: it is recorded as a rejection);
  // refused because its partition went to another node meanwhile, it is forwarded there
  // (unless it was `forwarded` here).
  void SubmitAuthorized(std::optional<std::string_view> token, commands::Command cmd, bool parsed,
                        std::string_view command_json, bool forwarded,
                        std::function<void(commands::CommandResult, int)> done);
  // ReadPastCursor for one partition, up to its durable end `end`, without catching Cap'n
  // Proto's exceptions.
  ledger::Status ReadPartitionPast(
      uint32_t partition, uint64_t end, const std::string& tenant, size_t max,
      const std::function<void(std::string_view, ledger::schema::Event::Reader)>& fn,
      std::vector<uint64_t>* cursor, size_t* read) const;
  // ReadEvents without catching Cap'n Proto's exceptions for damaged events.
  ledger::Status ReadEventsUnchecked(
      uint64_t from, const std::string& tenant, size_t max,
      const std::function<void(std::string_view, ledger::schema::Event::Reader)>& fn,
      uint64_t* next) const;

  Engine engine_;
  const TokenRegistry* tokens_;
  ServerMetrics* metrics_;
};

}  // namespace server

#include "server/frontend.h"

#include <fmt/format.h>
#include <kj/exception.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>

#include "commands/command.h"
#include "ledger/log_partitions.h"
#include "ledger/time.h"
#include "replay/as_of.h"
#include "replay/digest.h"
#include "replay/event_json.h"
#include "replay/state_json.h"

namespace server {
namespace {

uint64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

commands::CommandResult RefusalResult(const Refusal& r, const std::string& id) {
  commands::CommandResult result;
  result.status = "rejected";
  result.id = id;
  result.code = r.code;
  result.message = r.message;
  return result;
}

// One log line per distinct store error (a failed store refuses every later write with the
// same message: logging each would flood the log).
void LogStoreError(const std::string& message) {
  static std::mutex mu;
  static std::string last;
  std::lock_guard<std::mutex> lock(mu);
  if (message == last) return;
  last = message;
  fmt::print(stderr, "ledgerd: error: {}\n", message);
}

}  // namespace

Frontend::Frontend(Engine engine, const TokenRegistry* tokens, ServerMetrics* metrics)
    : engine_(engine), tokens_(tokens), metrics_(metrics) {}

Refusal Frontend::Count(const AuthDecision& auth) {
  if (auth.http_status == 401) metrics_->unauthorized.fetch_add(1);
  if (auth.http_status == 403) metrics_->forbidden.fetch_add(1);
  return {auth.http_status, auth.code, auth.message};
}

void Frontend::SubmitCommand(std::optional<std::string_view> token, std::string_view command_json,
                             std::function<void(CommandOutcome)> done, bool forwarded) {
  commands::Command cmd;
  bool parsed = false;
  const AuthDecision auth = AuthorizeCommand(token, command_json, &cmd, &parsed);
  if (!auth.ok()) {
    const Refusal r = Count(auth);
    return done({RefusalResult(r, cmd.id).ToJson(), r.http_status});
  }
  if (ShouldForward(forwarded, cmd)) {
    // The writer's answer as it sent it (an import's report included).
    return Forward(token, command_json, cmd.id, StreamOf(cmd),
                   [done = std::move(done)](std::string json, int status) {
                     done({std::move(json), status});
                   });
  }
  SubmitAuthorized(token, std::move(cmd), parsed, command_json, forwarded,
                   [done = std::move(done)](commands::CommandResult r, int http_status) {
                     done({r.ToJson(), http_status});
                   });
}

// One request's commands on their way (Frontend::SubmitCommands).
struct CommandWaves {
  std::optional<std::string> token;
  std::vector<std::string> commands;
  std::vector<std::string> destinations;  // empty: one wave (no spread partitions)
  bool forwarded = false;
  std::function<void(size_t, CommandOutcome)> done;
  std::atomic<size_t> pending{0};  // commands of the current wave not yet answered
};

void Frontend::SubmitCommands(std::optional<std::string_view> token,
                              std::vector<std::string> commands,
                              std::function<void(size_t, CommandOutcome)> done, bool forwarded) {
  auto waves = std::make_shared<CommandWaves>();
  waves->token = token ? std::optional<std::string>(*token) : std::nullopt;
  waves->forwarded = forwarded;
  waves->done = std::move(done);
  // Only spread partitions have several writers; a forwarded request is all this node's.
  if (!forwarded && engine_.forwarder != nullptr && engine_.store->SpreadsPartitions() &&
      commands.size() > 1) {
    for (const std::string& c : commands) waves->destinations.push_back(DestinationOf(c));
  }
  waves->commands = std::move(commands);
  SubmitWave(std::move(waves), 0);
}

std::string Frontend::DestinationOf(std::string_view json) const {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "";
  const std::string type = j.value("type", std::string());
  const std::string tenant = type == "define_product" ? std::string(commands::kCatalogStream)
                             : j.contains("tenant") && j["tenant"].is_string()
                                 ? j["tenant"].get<std::string>()
                                 : std::string();
  return engine_.store->WritesTenant(tenant) ? "" : engine_.store->UpstreamWriterOf(tenant);
}

void Frontend::SubmitWave(std::shared_ptr<CommandWaves> waves, size_t from) {
  const size_t n = waves->commands.size();
  size_t end = n;
  if (!waves->destinations.empty()) {
    end = from + 1;
    while (end < n && waves->destinations[end] == waves->destinations[from]) ++end;
  }
  waves->pending = end - from;
  for (size_t i = from; i < end; ++i) {
    SubmitCommand(
        waves->token, waves->commands[i],
        [this, waves, i, end](CommandOutcome outcome) {
          waves->done(i, std::move(outcome));
          if (waves->pending.fetch_sub(1) == 1 && end < waves->commands.size()) {
            SubmitWave(waves, end);
          }
        },
        waves->forwarded);
  }
}

std::string_view Frontend::StreamOf(const commands::Command& cmd) {
  return cmd.type == "define_product" ? std::string_view(commands::kCatalogStream)
                                      : std::string_view(cmd.tenant);
}

bool Frontend::ShouldForward(bool forwarded, const commands::Command& cmd) const {
  return !forwarded && engine_.forwarder != nullptr && !engine_.store->WritesTenant(StreamOf(cmd));
}

AuthDecision Frontend::AuthorizeCommand(std::optional<std::string_view> token,
                                        std::string_view command_json, commands::Command* cmd,
                                        bool* parsed) {
  commands::BadRequest bad;
  *parsed = commands::ParseCommand(command_json, cmd, &bad);
  // Refused before anything is recorded: an unknown caller writes nothing, not even to a
  // rejection log.
  AuthDecision auth;
  if (cmd->type == "define_product") {
    auth = Authorize(*tokens_, token, "", cmd->actor, Right::kWrite);
  } else if (!cmd->tenant.empty()) {
    auth = Authorize(*tokens_, token, cmd->tenant, cmd->actor, Right::kWrite);
  } else if (cmd->actor == "system") {
    auth = Authorize(*tokens_, token, "", cmd->actor, Right::kWrite);
  } else {
    // No tenant to reach: still a token that may write (else the 401 or 403 it gets).
    auth = AuthorizeAnyTenant(*tokens_, token, Right::kWrite);
  }
  return auth;
}

void Frontend::Forward(std::optional<std::string_view> token, std::string_view command_json,
                       const std::string& id, std::string_view stream,
                       CommandForwarder::Done done) {
  metrics_->commands_forwarded.fetch_add(1);
  metrics_->in_flight_commands.fetch_add(1);
  ServerMetrics* metrics = metrics_;
  engine_.forwarder->Forward(token, command_json, id, stream,
                             [metrics, done = std::move(done)](std::string json, int status) {
                               done(std::move(json), status);
                               metrics->in_flight_commands.fetch_sub(1);
                             });
}

void Frontend::SubmitCommandResult(
    std::optional<std::string_view> token, std::string_view command_json,
    std::function<void(commands::CommandResult, int http_status)> done, bool forwarded) {
  commands::Command cmd;
  bool parsed = false;
  const AuthDecision auth = AuthorizeCommand(token, command_json, &cmd, &parsed);
  if (!auth.ok()) {
    const Refusal r = Count(auth);
    return done(RefusalResult(r, cmd.id), r.http_status);
  }
  if (ShouldForward(forwarded, cmd)) {
    return Forward(token, command_json, cmd.id, StreamOf(cmd),
                   [done = std::move(done)](std::string json, int status) {
                     done(ParseCommandResult(json), status);
                   });
  }
  SubmitAuthorized(token, std::move(cmd), parsed, command_json, forwarded, std::move(done));
}

void Frontend::SubmitAuthorized(std::optional<std::string_view> token, commands::Command cmd,
                                bool parsed, std::string_view command_json, bool forwarded,
                                std::function<void(commands::CommandResult, int)> done) {
  const uint64_t start = NowMicros();
  metrics_->in_flight_commands.fetch_add(1);
  ServerMetrics* metrics = metrics_;
  // With spread partitions, the tenant's partition may go to another node between this
  // check and the decision: the store then refuses the command undecided, and it is
  // forwarded to the new writer instead (kept only where a forwarder exists).
  std::optional<Rerouted> reroute;
  if (!forwarded && engine_.forwarder != nullptr) {
    reroute = Rerouted{token ? std::optional<std::string>(*token) : std::nullopt,
                       std::string(command_json), cmd.id, std::string(StreamOf(cmd))};
  }
  auto finish = [this, metrics, start, reroute = std::move(reroute),
                 done = std::move(done)](commands::CommandResult r) mutable {
    if (reroute && r.code == "unavailable" &&
        r.message.find(ledger::kNotThisNodesPartition) != std::string::npos) {
      Forward(reroute->token, reroute->json, reroute->id, reroute->stream,
              [done = std::move(done)](std::string json, int status) {
                done(ParseCommandResult(json), status);
              });
      metrics->in_flight_commands.fetch_sub(1);
      return;
    }
    metrics->append_latency.Observe(NowMicros() - start);
    const int status = HttpStatusOfResult(r.status, r.code);
    if (r.status == "accepted") metrics->commands_accepted.fetch_add(1);
    if (r.status == "duplicate") metrics->commands_duplicate.fetch_add(1);
    if (r.status == "rejected") {
      metrics->commands_rejected.fetch_add(1);
      if (r.code == "unavailable") LogStoreError(r.message);
    }
    // Answer first, then let a draining server see the count drop.
    done(std::move(r), status);
    metrics->in_flight_commands.fetch_sub(1);
  };
  if (parsed) {
    engine_.service->Submit(std::move(cmd), std::move(finish));
  } else {
    engine_.service->SubmitJson(command_json, std::move(finish));  // logs the rejection
  }
}

Refusal Frontend::Check(std::optional<std::string_view> token, const std::string& tenant,
                        const std::string& user, const std::string& product,
                        const std::string& at_text, commands::AccessDecision* decision) {
  const AuthDecision auth = Authorize(*tokens_, token, tenant, "", Right::kCheck);
  if (!auth.ok()) return Count(auth);
  if (user.empty()) return {400, "bad_request", "user: required"};
  if (product.empty()) return {400, "bad_request", "product: required"};
  std::optional<ledger::Micros> at;
  if (!at_text.empty()) {
    at = ledger::ParseRfc3339(at_text);
    if (!at) return {400, "bad_request", "at: not an RFC 3339 time"};
  }
  const ledger::Status s = engine_.reader->Check(tenant, user, product, at, decision);
  if (!s.ok()) return {503, "unavailable", s.ToString()};
  metrics_->checks.fetch_add(1, std::memory_order_relaxed);
  return {};
}

Refusal Frontend::Fold(std::optional<std::string_view> token, const std::string& tenant,
                       commands::TenantState* state, ledger::Micros* at) {
  const AuthDecision auth = Authorize(*tokens_, token, tenant, "", Right::kCheck);
  if (!auth.ok()) return Count(auth);
  ledger::Status s;
  try {
    s = replay::FoldAsOf(*engine_.store, *engine_.reader, tenant, replay::AsOf{}, state, at);
  } catch (const kj::Exception& e) {
    s = ledger::Status::Corruption(std::string("a stored event cannot be decoded: ") +
                                   e.getDescription().cStr());
    LogStoreError(s.message());
  }
  if (s.code() == ledger::Status::Code::kNotFound) {
    return {404, "unknown_tenant", "no tenant " + tenant};
  }
  if (!s.ok()) return {503, "unavailable", s.ToString()};
  return {};
}

Refusal Frontend::State(std::optional<std::string_view> token, const std::string& tenant,
                        std::string* json) {
  commands::TenantState state;
  ledger::Micros at = 0;
  const Refusal r = Fold(token, tenant, &state, &at);
  if (r.ok()) *json = replay::DumpJson(replay::StateJson(state, at));
  return r;
}

void Frontend::Backup(std::optional<std::string_view> token, std::string_view body_json,
                      std::function<void(CommandOutcome)> done) {
  auto refuse = [&](int http_status, const std::string& code, const std::string& message) {
    const nlohmann::json j = {{"status", "rejected"}, {"code", code}, {"message", message}};
    done({j.dump(), http_status});
  };
  const AuthDecision auth = AuthorizeAdmin(*tokens_, token);
  if (!auth.ok()) {
    const Refusal r = Count(auth);
    return refuse(r.http_status, r.code, r.message);
  }
  if (body_json.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    const nlohmann::json body = nlohmann::json::parse(body_json, nullptr, false);
    if (!body.is_object()) return refuse(400, "bad_request", "body: a JSON object (or nothing)");
    for (const auto& [key, value] : body.items()) {
      if (key == "dest") {
        return refuse(400, "bad_request",
                      "dest: ledgerd writes backups into its --backup-dir only (a client "
                      "may not choose paths on the server)");
      }
      return refuse(400, "bad_request", "unknown field '" + key + "'");
    }
  }
  BackupRunner* runner = engine_.backups;
  if (runner == nullptr || runner->default_dir().empty()) {
    return refuse(503, "unavailable", "backups are off: start ledgerd with --backup-dir DIR");
  }
  const std::string dir = runner->default_dir();
  const bool started =
      runner->Start(dir, [done, dir](const ledger::Status& s, const ledger::BackupInfo& info) {
        if (s.ok()) return done({BackupJson(info, dir), 200});
        const nlohmann::json j = {{"status", "rejected"},
                                  {"code", "unavailable"},
                                  {"message", "backup failed: " + s.ToString()}};
        done({j.dump(), 503});
      });
  if (!started) {
    refuse(409, "conflict", "a backup is running (or ledgerd is stopping); ask again later");
  }
}

std::optional<RouteAnswer> Frontend::Replay(std::optional<std::string_view> token,
                                            const std::string& tenant, std::string_view verb,
                                            const QueryParams& query) {
  const std::optional<Right> right = ReplayVerbRight(verb);
  if (!right) return std::nullopt;
  const AuthDecision auth = Authorize(*tokens_, token, tenant, "", *right);
  if (!auth.ok()) {
    const Refusal r = Count(auth);
    return RouteAnswer{r.http_status, RejectedBody(r.code, r.message)};
  }
  const ReplaySources sources{engine_.store, engine_.reader, engine_.views, engine_.checkpoints};
  return RunReplayVerb(sources, tenant, verb, query);
}

RouteAnswer Frontend::WhatIf(std::optional<std::string_view> token, const std::string& tenant,
                             const QueryParams& query, const std::string& body) {
  const AuthDecision auth = Authorize(*tokens_, token, tenant, "", Right::kSupportRead);
  if (!auth.ok()) {
    const Refusal r = Count(auth);
    return {r.http_status, RejectedBody(r.code, r.message)};
  }
  const ReplaySources sources{engine_.store, engine_.reader, engine_.views, engine_.checkpoints};
  return RunWhatIf(sources, tenant, query, body);
}

RouteAnswer Frontend::Tenants(std::optional<std::string_view> token, const QueryParams& query) {
  const AuthDecision auth = AuthorizeAnyTenant(*tokens_, token, Right::kCheck);
  if (!auth.ok()) {
    const Refusal r = Count(auth);
    return {r.http_status, RejectedBody(r.code, r.message)};
  }
  const TokenGrant& grant = *tokens_->Find(*token);
  size_t limit = 1000;
  std::string after;
  for (const auto& [name, value] : query) {
    if (name == "limit") {
      char* end = nullptr;
      const unsigned long n = std::strtoul(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < 1 || n > 1000) {
        return {400, RejectedBody("bad_request", "limit: a number from 1 to 1000")};
      }
      limit = n;
    } else if (name == "after") {
      after = value;
    } else {
      return {400, RejectedBody("bad_request", name + ": not a parameter of this route")};
    }
  }
  std::vector<replay::DigestEntry> heads;
  const ledger::Status s = replay::CollectDigest(*engine_.store, std::nullopt, &heads);
  if (!s.ok()) return {503, RejectedBody("unavailable", s.ToString())};
  nlohmann::json ids = nlohmann::json::array();
  std::string last;
  bool more = false;
  for (const auto& head : heads) {  // in tenant order
    if (head.tenant == commands::kCatalogStream || head.tenant <= after ||
        !grant.Covers(head.tenant)) {
      continue;
    }
    if (ids.size() == limit) {
      more = true;
      break;
    }
    ids.push_back(head.tenant);
    last = head.tenant;
  }
  nlohmann::json body = {{"tenants", std::move(ids)}};
  if (more) body["next"] = last;
  return {200, body.dump()};
}

Refusal Frontend::AuthorizeEvents(std::optional<std::string_view> token,
                                  const std::string& tenant) {
  const AuthDecision auth = tenant.empty()
                                ? AuthorizeAllTenants(*tokens_, token, Right::kAuditRead)
                                : Authorize(*tokens_, token, tenant, "", Right::kAuditRead);
  return auth.ok() ? Refusal{} : Count(auth);
}

ledger::Status Frontend::ReadEvents(
    uint64_t from, const std::string& tenant, size_t max,
    const std::function<void(std::string_view, ledger::schema::Event::Reader)>& fn,
    uint64_t* next) const {
  try {
    return ReadEventsUnchecked(from, tenant, max, fn, next);
  } catch (const kj::Exception& e) {
    const std::string message =
        std::string("a stored event cannot be decoded: ") + e.getDescription().cStr();
    LogStoreError(message);
    return ledger::Status::Corruption(message);
  }
}

ledger::Status Frontend::ReadEventsUnchecked(
    uint64_t from, const std::string& tenant, size_t max,
    const std::function<void(std::string_view, ledger::schema::Event::Reader)>& fn,
    uint64_t* next) const {
  const ledger::Store& store = *engine_.store;
  from = std::max<uint64_t>(from, 1);
  const uint64_t last = store.LastPosition();
  *next = from;
  size_t n = 0;
  if (!tenant.empty()) {
    // The tenant's stream (by version) holds its positions in order; skip the earlier ones.
    auto c = store.ReadStream(tenant);
    for (; c->Valid() && n < max; c->Next()) {
      const ledger::StoredEvent& e = c->event();
      if (e.position() < from) continue;
      if (e.position() > last) break;
      fn(e.bytes(), e.event());
      *next = e.position() + 1;
      ++n;
    }
    if (!c->status().ok()) return c->status();
    if (n < max) *next = std::max(*next, last + 1);
    return ledger::Status::OK();
  }
  if (from > last) return ledger::Status::OK();
  // By count, not by position range: a partitioned log's positions jump between
  // partitions (ledger/log_partitions.h).
  auto c = store.ReadLog(from, last);
  for (; c->Valid() && n < max; c->Next()) {
    fn(c->event().bytes(), c->event().event());
    *next = c->event().position() + 1;
    ++n;
  }
  if (!c->status().ok()) return c->status();
  if (n < max) *next = last + 1;
  return ledger::Status::OK();
}

std::vector<uint64_t> Frontend::TailCursorAt(uint64_t from) const {
  std::vector<uint64_t> cursor = engine_.store->LogFrontier();
  from = std::max<uint64_t>(from, 1);
  const uint32_t start = ledger::PartitionOfPosition(from);
  for (uint32_t p = 0; p < cursor.size(); ++p) {
    if (p == start) cursor[p] = from - 1;
    if (p > start) cursor[p] = ledger::PartitionBase(p);
  }
  return cursor;
}

ledger::Status Frontend::ReadPastCursor(
    std::vector<uint64_t>* cursor, const std::string& tenant, size_t max,
    const std::function<void(std::string_view, ledger::schema::Event::Reader)>& fn,
    size_t* read) const {
  *read = 0;
  const std::vector<uint64_t> frontier = engine_.store->LogFrontier();
  const auto partitions = static_cast<uint32_t>(frontier.size());
  try {
    for (uint32_t p = 0; p < partitions && *read < max; ++p) {
      if (!tenant.empty() && ledger::LogPartitionOf(tenant, partitions) != p) continue;
      if (p >= cursor->size() || (*cursor)[p] >= frontier[p]) continue;
      ledger::Status s = ReadPartitionPast(p, frontier[p], tenant, max, fn, cursor, read);
      if (!s.ok()) return s;
    }
  } catch (const kj::Exception& e) {
    const std::string message =
        std::string("a stored event cannot be decoded: ") + e.getDescription().cStr();
    LogStoreError(message);
    return ledger::Status::Corruption(message);
  }
  return ledger::Status::OK();
}

ledger::Status Frontend::ReadPartitionPast(
    uint32_t partition, uint64_t end, const std::string& tenant, size_t max,
    const std::function<void(std::string_view, ledger::schema::Event::Reader)>& fn,
    std::vector<uint64_t>* cursor, size_t* read) const {
  uint64_t& at = (*cursor)[partition];
  auto c = tenant.empty() ? engine_.store->ReadLog(at + 1, end) : engine_.store->ReadStream(tenant);
  for (; c->Valid() && *read < max; c->Next()) {
    const ledger::StoredEvent& e = c->event();
    if (e.position() <= at) continue;  // a tenant's earlier events
    if (e.position() > end) break;
    fn(e.bytes(), e.event());
    at = e.position();
    ++*read;
  }
  if (!c->status().ok()) return c->status();
  if (*read < max) at = end;  // everything up to the durable end was seen
  return ledger::Status::OK();
}

}  // namespace server

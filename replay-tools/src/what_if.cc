#include "replay/what_if.h"

#include <fmt/format.h>

#include "commands/as_of.h"
#include "commands/command.h"
#include "commands/decide.h"
#include "commands/evolve.h"
#include "commands/service.h"
#include "ledger/time.h"
#include "replay/as_of.h"
#include "replay/diff.h"

namespace replay {
namespace {

using nlohmann::json;

json EventTypes(const std::vector<ledger::EventDraft>& events) {
  json types = json::array();
  for (const auto& e : events)
    types.push_back(std::string(ledger::EventTypeName(e.reader().getPayload().which())));
  return types;
}

// Stamps `events` as the store would (tenant, versions after the state's, recorded at
// `t`, effective when they say or at `t`) and folds them into *state.
void Fold(std::vector<ledger::EventDraft>* events, ledger::Micros t, commands::TenantState* state) {
  for (auto& draft : *events) {
    auto e = draft.root();
    e.setTenant(state->tenant);
    e.setVersion(state->version + 1);
    e.setPosition(state->position);
    e.setRecordedAt(t);
    e.setEffectiveAt(draft.effective_at != 0 ? draft.effective_at : t);
    commands::Evolve(state, draft.reader());
  }
}

json Rejected(const commands::Command& cmd, const std::string& code, const std::string& message) {
  return json{{"id", cmd.id},
              {"type", cmd.type},
              {"status", "rejected"},
              {"code", code},
              {"message", message}};
}

}  // namespace

ledger::Status WhatIf(const ledger::Store& store, const projections::ViewReader& reader,
                      const WhatIfQuery& query, json* out) {
  if (query.commands.size() > kMaxWhatIfCommands) {
    return ledger::Status::InvalidArgument(
        fmt::format("commands: more than {}", kMaxWhatIfCommands));
  }
  commands::TenantState state;
  ledger::Micros start = 0;
  AsOf as_of;
  as_of.at = query.at;
  ledger::Status s = FoldAsOf(store, reader, query.tenant, as_of, &state, &start);
  if (!s.ok()) return s;
  commands::Catalog catalog;
  s = commands::LoadCatalog(store, &catalog);
  if (!s.ok()) return s;
  const commands::TenantState before = state;
  ledger::Micros now = start;
  json results = json::array();
  for (size_t i = 0; i < query.commands.size(); ++i) {
    commands::Command cmd;
    commands::BadRequest bad;
    if (!commands::ParseCommand(query.commands[i], &cmd, &bad)) {
      results.push_back(Rejected(cmd, "bad_request", bad.ToString()));
      continue;
    }
    if (cmd.tenant != query.tenant) {
      results.push_back(
          Rejected(cmd, "bad_request", "tenant: a what-if of '" + query.tenant + "' only"));
      continue;
    }
    if (cmd.at) {
      if (*cmd.at < now) {
        return ledger::Status::InvalidArgument(
            fmt::format("commands[{}].at: {} is before the copy's time {}", i,
                        ledger::FormatRfc3339(*cmd.at), ledger::FormatRfc3339(now)));
      }
      now = *cmd.at;
    }
    // R15: the effects due by then come first, and the command sees their result.
    commands::TenantState stepped;
    std::vector<ledger::EventDraft> effects =
        commands::StepDueEffects(state, now, /*expire_leases=*/false, &stepped);
    if (!effects.empty()) state = std::move(stepped);
    commands::Decided d = commands::Decide(state, catalog, cmd, now);
    json result = d.rejection ? Rejected(cmd, d.rejection->code, d.rejection->message)
                              : json{{"id", cmd.id}, {"type", cmd.type}, {"status", "accepted"}};
    result["at"] = ledger::FormatRfc3339(now);
    result["effects"] = EventTypes(effects);
    if (!d.rejection) {
      result["events"] = EventTypes(d.events);
      Fold(&d.events, now, &state);
    }
    results.push_back(std::move(result));
  }
  // What the copy looks like at the end: the effects due by then too.
  commands::TenantState after = state;
  commands::ApplyDueEffects(state, now, &after);
  *out = json{{"tenant", query.tenant},
              {"from", {{"at", ledger::FormatRfc3339(start)}}},
              {"to", {{"at", ledger::FormatRfc3339(now)}}},
              {"results", std::move(results)},
              {"diff", Diff(before, start, after, now)}};
  return ledger::Status::OK();
}

}  // namespace replay

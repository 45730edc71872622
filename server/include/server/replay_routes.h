// The audit verbs of ledger-replay over HTTP (issue 19): GET /v1/tenants/{t}/VERB answers
// exactly the JSON of `ledger-replay VERB --tenant t ... --json` (export: its lines), from
// the same library calls (replay/), with the CLI's options as query parameters of the
// same names (known-at is known_at). Authorization is the caller's (Frontend).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/store.h"
#include "projections/view_reader.h"
#include "projections/views.h"
#include "replay/checkpoints.h"
#include "server/tokens.h"

namespace server {

// A request's query parameters, decoded, in order.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// What a route answers: status, body and its media type.
struct RouteAnswer {
  int http_status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Set when the body goes on past `body` (a streamed export): each call appends the next
  // part to *chunk and sets *done after the last. An error ends the stream where it is
  // (the client sees a body cut short, never a shorter body that looks whole).
  std::function<ledger::Status(std::string* chunk, bool* done)> more;
};

// The right replay verb `verb` needs (state: check; history, explain, diff, usage,
// rejections: support reads; digest, verify, export: audit reads), or nullopt when `verb`
// is not one.
std::optional<Right> ReplayVerbRight(std::string_view verb);

// What the verbs read: the store, its views and their reader. `views` may be null (verify
// then answers 503).
struct ReplaySources {
  const ledger::Store* store = nullptr;
  const projections::ViewReader* reader = nullptr;
  const projections::ViewProjector* views = nullptr;
  const replay::Checkpoints* checkpoints = nullptr;  // nullptr: no signed checkpoints
};

// Runs replay verb `verb` (ReplayVerbRight) on `tenant`. Bad parameters → 400
// bad_request naming the parameter; a tenant without events → 404 unknown_tenant.
// history and rejections take `limit` (1..1000) and `after` (the `next` of the previous
// page).
RouteAnswer RunReplayVerb(const ReplaySources& sources, const std::string& tenant,
                          std::string_view verb, const QueryParams& query);

// POST /v1/tenants/{t}/what-if[?at=TIME] with a JSON array of commands (or one command):
// replay::WhatIf's answer (authorization done: support reads).
RouteAnswer RunWhatIf(const ReplaySources& sources, const std::string& tenant,
                      const QueryParams& query, const std::string& body);

// The error body every route answers: {"status":"rejected","code","message"}.
std::string RejectedBody(const std::string& code, const std::string& message);

}  // namespace server

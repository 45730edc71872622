#include "server/replay_routes.h"

#include <fmt/format.h>
#include <kj/exception.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "replay/as_of.h"
#include "replay/checkpoints.h"
#include "replay/diff.h"
#include "replay/digest.h"
#include "replay/event_json.h"
#include "replay/explain.h"
#include "replay/export.h"
#include "replay/history.h"
#include "replay/rejections.h"
#include "replay/state_json.h"
#include "replay/usage.h"
#include "replay/verify.h"
#include "replay/what_if.h"

namespace server {
namespace {

using nlohmann::json;

// Most history entries one page holds.
constexpr size_t kMaxPageEntries = 1000;
// Events per part of a streamed export.
constexpr uint64_t kExportPageRows = 1000;
// Runs of verify while the tenant's stream moves under it (RunReplayVerb's verify).
constexpr int kVerifyAttempts = 3;

// A bad parameter: answered 400 bad_request naming it.
struct BadParam {
  std::string message;
};

// The query's parameters with the names one verb takes; any other is a bad parameter.
class Params {
 public:
  Params(const QueryParams& query, std::initializer_list<std::string_view> allowed)
      : query_(query) {
    for (const auto& [name, value] : query) {
      bool known = false;
      for (std::string_view a : allowed) known = known || name == a;
      if (!known) throw BadParam{name + ": not a parameter of this route"};
    }
  }

  std::optional<std::string> Get(std::string_view name) const {
    for (const auto& [n, v] : query_) {
      if (n == name) return v;
    }
    return std::nullopt;
  }
  std::string Required(std::string_view name) const {
    auto v = Get(name);
    if (!v || v->empty()) throw BadParam{std::string(name) + ": required"};
    return *v;
  }
  std::optional<ledger::Micros> Time(std::string_view name) const {
    auto v = Get(name);
    if (!v) return std::nullopt;
    auto t = ledger::ParseRfc3339(*v);
    if (!t) throw BadParam{std::string(name) + ": not an RFC 3339 time"};
    return t;
  }
  // An RFC 3339 time or a global position (digits).
  std::optional<replay::TimeOrPosition> Point(std::string_view name) const {
    auto v = Get(name);
    if (!v) return std::nullopt;
    replay::TimeOrPosition p;
    if (!replay::ParseTimeOrPosition(*v, &p)) {
      throw BadParam{std::string(name) + ": an RFC 3339 time or a position (digits)"};
    }
    return p;
  }
  std::optional<uint64_t> Number(std::string_view name, uint64_t min, uint64_t max) const {
    auto v = Get(name);
    if (!v) return std::nullopt;
    uint64_t n = 0;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || end != v->data() + v->size() || n < min || n > max) {
      throw BadParam{fmt::format("{}: a number from {} to {}", name, min, max)};
    }
    return n;
  }

 private:
  const QueryParams& query_;
};

RouteAnswer Json(const json& j) { return {200, replay::DumpJson(j), "application/json"}; }

RouteAnswer FromStatus(const ledger::Status& s, const std::string& tenant) {
  switch (s.code()) {
    case ledger::Status::Code::kNotFound:
      return {404, RejectedBody("unknown_tenant", "no tenant " + tenant)};
    case ledger::Status::Code::kInvalidArgument:
      return {400, RejectedBody("bad_request", s.message())};
    default:
      return {503, RejectedBody("unavailable", s.ToString())};
  }
}

replay::AsOf AsOfPoint(const replay::TimeOrPosition& p) {
  replay::AsOf as_of;
  as_of.at = p.time;
  as_of.position = p.position;
  return as_of;
}

RouteAnswer State(const ReplaySources& src, const std::string& tenant, const QueryParams& query) {
  const Params p(query, {"at", "position", "known_at"});
  replay::AsOf as_of;
  as_of.at = p.Time("at");
  as_of.known_at = p.Time("known_at");
  if (auto point = p.Point("position")) {
    if (!point->position) throw BadParam{"position: a global position (digits)"};
    as_of.position = point->position;
  }
  if (as_of.at && as_of.position) throw BadParam{"at, position: give one, not both"};
  commands::TenantState state;
  ledger::Micros at = 0;
  const ledger::Status s = replay::FoldAsOf(*src.store, *src.reader, tenant, as_of, &state, &at);
  if (!s.ok()) return FromStatus(s, tenant);
  return Json(replay::StateJson(state, at));
}

RouteAnswer Diff(const ReplaySources& src, const std::string& tenant, const QueryParams& query) {
  const Params p(query, {"from", "to"});
  p.Required("from");
  p.Required("to");
  commands::TenantState from, to;
  ledger::Micros from_at = 0, to_at = 0;
  ledger::Status s = replay::FoldAsOf(*src.store, *src.reader, tenant, AsOfPoint(*p.Point("from")),
                                      &from, &from_at);
  if (s.ok()) {
    s = replay::FoldAsOf(*src.store, *src.reader, tenant, AsOfPoint(*p.Point("to")), &to, &to_at);
  }
  if (!s.ok()) return FromStatus(s, tenant);
  return Json(replay::Diff(from, from_at, to, to_at));
}

// The page of `entries` after cursor `after` (an index), at most `limit` long; `next` is
// set when more follow.
void Paginate(json* history, const Params& p) {
  const auto limit = p.Number("limit", 1, kMaxPageEntries);
  const auto after = p.Number("after", 0, UINT64_MAX);
  if (!limit && !after) return;
  json& entries = (*history)["entries"];
  const size_t first = after ? static_cast<size_t>(std::min<uint64_t>(*after, entries.size())) : 0;
  const size_t last = std::min(entries.size(), first + (limit ? *limit : kMaxPageEntries));
  json page = json::array();
  for (size_t i = first; i < last; ++i) page.push_back(std::move(entries[i]));
  const bool more = last < entries.size();
  entries = std::move(page);
  if (more) (*history)["next"] = std::to_string(last);
}

RouteAnswer History(const ReplaySources& src, const std::string& tenant, const QueryParams& query) {
  const Params p(query, {"user", "subscription", "group", "from", "to", "limit", "after"});
  replay::HistoryQuery q;
  q.tenant = tenant;
  int given = 0;
  for (auto [name, kind] : {std::pair{"user", 'u'}, {"subscription", 's'}, {"group", 'g'}}) {
    if (auto id = p.Get(name)) {
      q.kind = kind;
      q.id = *id;
      ++given;
    }
  }
  if (given != 1) throw BadParam{"user, subscription, group: give exactly one"};
  if (q.id.empty())
    throw BadParam{std::string(q.kind == 'u'   ? "user"
                               : q.kind == 's' ? "subscription"
                                               : "group") +
                   ": empty"};
  q.from = p.Time("from");
  q.to = p.Time("to");
  json j;
  const ledger::Status s = replay::History(*src.store, *src.reader, q, &j);
  if (!s.ok()) return FromStatus(s, tenant);
  Paginate(&j, p);
  return Json(j);
}

RouteAnswer Explain(const ReplaySources& src, const std::string& tenant, const QueryParams& query) {
  const Params p(query, {"user", "product", "at"});
  replay::ExplainQuery q{tenant, p.Required("user"), p.Required("product"), p.Time("at")};
  json j;
  const ledger::Status s = replay::Explain(*src.store, *src.reader, q, &j);
  if (!s.ok()) return FromStatus(s, tenant);
  return Json(j);
}

RouteAnswer Usage(const ReplaySources& src, const std::string& tenant, const QueryParams& query) {
  const Params p(query, {"subscription", "from", "to"});
  replay::UsageQuery q;
  q.tenant = tenant;
  q.subscription = p.Required("subscription");
  p.Required("from");
  p.Required("to");
  q.from = *p.Time("from");
  q.to = *p.Time("to");
  json j;
  const ledger::Status s = replay::Usage(*src.store, q, &j);
  if (!s.ok()) return FromStatus(s, tenant);
  return Json(j);
}

RouteAnswer Rejections(const ReplaySources& src, const std::string& tenant,
                       const QueryParams& query) {
  const Params p(query, {"from", "to", "limit", "after"});
  replay::RejectionsQuery q;
  q.tenant = tenant;
  q.from = p.Time("from");
  q.to = p.Time("to");
  q.after = p.Number("after", 0, UINT64_MAX).value_or(0);
  q.limit = p.Number("limit", 1, kMaxPageEntries).value_or(kMaxPageEntries);
  json j;
  const ledger::Status s = replay::Rejections(*src.store, q, &j);
  if (!s.ok()) return FromStatus(s, tenant);
  return Json(j);
}

RouteAnswer Digest(const ReplaySources& src, const std::string& tenant, const QueryParams& query) {
  const Params p(query, {});
  std::vector<replay::DigestEntry> entries;
  const ledger::Status s = replay::CollectDigest(*src.store, tenant, &entries);
  if (!s.ok()) return FromStatus(s, tenant);
  return Json(replay::DigestJson(entries, src.store->LastPosition()));
}

RouteAnswer Verify(const ReplaySources& src, const std::string& tenant, const QueryParams& query) {
  const Params p(query, {});
  if (src.views == nullptr) {
    return {503, RejectedBody("unavailable", "verify: this server has no views to check")};
  }
  replay::VerifyOptions options;
  options.tenant = tenant;
  options.threads = 1;  // one request does not take every core from the others
  // Verify reads the live store without a snapshot: a problem found while the tenant's
  // stream moved may be the move itself. Such a run is repeated (a few times at most).
  replay::VerifyReport report;
  for (int attempt = 0; attempt < kVerifyAttempts; ++attempt) {
    ledger::StreamHead before, after;
    ledger::Status s = src.store->GetHead(tenant, &before);
    report = replay::VerifyReport();
    if (s.ok()) s = replay::Verify(*src.store, *src.views, options, &report);
    if (s.ok()) s = src.store->GetHead(tenant, &after);
    if (!s.ok()) return FromStatus(s, tenant);
    if (report.ok() || after.version == before.version) break;
  }
  return Json(report.ToJson());
}

RouteAnswer Export(const ReplaySources& src, const std::string& tenant, const QueryParams& query) {
  const Params p(query, {"format", "from", "to"});
  replay::ExportOptions options;
  options.format = p.Get("format").value_or("jsonl");
  if (options.format != "jsonl" && options.format != "csv") {
    throw BadParam{"format: jsonl or csv"};
  }
  options.tenant = tenant;
  if (auto from = p.Point("from")) {
    if (from->position) options.from_position = *from->position;
    options.from_time = from->time;
  }
  if (auto to = p.Point("to")) {
    if (to->position) options.to_position = *to->position;
    options.to_time = to->time;
  }
  // JSON lines are for auditors: stored bytes and a manifest with the latest checkpoint.
  options.audit = options.format == "jsonl";
  if (src.checkpoints != nullptr) {
    options.checkpoint_at_most = [checkpoints = src.checkpoints, tenant](uint64_t version) {
      std::string note;
      const uint64_t v = checkpoints->LatestVersion(tenant, version);
      return v > 0 && checkpoints->Find(tenant, v, &note).ok() ? std::optional(note) : std::nullopt;
    };
  }
  // The export is of the log as it is now: events appended while it streams are not in it.
  options.to_position = std::min(options.to_position, src.store->LastPosition());
  auto cursor = std::make_shared<replay::ExportCursor>();
  std::ostringstream first;
  uint64_t rows = 0;
  const ledger::Status s =
      replay::ExportPage(*src.store, options, kExportPageRows, cursor.get(), first, &rows);
  if (!s.ok()) return FromStatus(s, tenant);
  RouteAnswer answer{200, first.str(),
                     options.format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson"};
  if (cursor->done) return answer;
  answer.more = [store = src.store, options, cursor](std::string* chunk, bool* done) {
    std::ostringstream out;
    uint64_t n = 0;
    const ledger::Status s =
        replay::ExportPage(*store, options, kExportPageRows, cursor.get(), out, &n);
    *chunk = out.str();
    *done = cursor->done;
    return s;
  };
  return answer;
}

// GET /v1/tenants/{t}/checkpoints/latest (or /{version}): a kept signed note, as text.
RouteAnswer Checkpoint(const ReplaySources& src, const std::string& tenant, std::string_view which,
                       const QueryParams& query) {
  const Params no_parameters(query, {});  // throws BadParam on any
  if (src.checkpoints == nullptr) {
    return {503, RejectedBody("unavailable", "this ledger keeps no signed checkpoints")};
  }
  uint64_t version = 0;
  if (which != "latest") {
    const auto [end, ec] = std::from_chars(which.data(), which.data() + which.size(), version);
    if (ec != std::errc() || end != which.data() + which.size() || version == 0) {
      return {404, RejectedBody("not_found", "no such resource: checkpoints/" + std::string(which) +
                                                 " (latest or a version)")};
    }
  }
  std::string note;
  const ledger::Status s = src.checkpoints->Find(tenant, version, &note);
  if (s.IsNotFound()) return {404, RejectedBody("not_found", s.message())};
  if (!s.ok()) return FromStatus(s, tenant);
  return {200, note, "text/plain; charset=utf-8"};
}

}  // namespace

std::optional<Right> ReplayVerbRight(std::string_view verb) {
  if (verb == "state") return Right::kCheck;
  if (verb == "history" || verb == "explain" || verb == "diff" || verb == "usage" ||
      verb == "rejections") {
    return Right::kSupportRead;
  }
  if (verb == "digest" || verb == "verify" || verb == "export" ||
      verb.starts_with("checkpoints/")) {
    return Right::kAuditRead;
  }
  return std::nullopt;
}

RouteAnswer RunReplayVerb(const ReplaySources& sources, const std::string& tenant,
                          std::string_view verb, const QueryParams& query) {
  try {
    // A tenant without events is unknown, whatever the verb (its history would be empty).
    std::vector<replay::DigestEntry> head;
    const ledger::Status s = replay::CollectDigest(*sources.store, tenant, &head);
    if (!s.ok()) return FromStatus(s, tenant);  // NotFound: 404 unknown_tenant
    if (verb == "state") return State(sources, tenant, query);
    if (verb == "diff") return Diff(sources, tenant, query);
    if (verb == "history") return History(sources, tenant, query);
    if (verb == "explain") return Explain(sources, tenant, query);
    if (verb == "usage") return Usage(sources, tenant, query);
    if (verb == "rejections") return Rejections(sources, tenant, query);
    if (verb == "digest") return Digest(sources, tenant, query);
    if (verb == "verify") return Verify(sources, tenant, query);
    if (verb == "export") return Export(sources, tenant, query);
    if (verb.starts_with("checkpoints/")) {
      return Checkpoint(sources, tenant, verb.substr(std::string_view("checkpoints/").size()),
                        query);
    }
  } catch (const BadParam& bad) {
    return {400, RejectedBody("bad_request", bad.message)};
  } catch (const kj::Exception& e) {
    return {503, RejectedBody("unavailable", std::string("a stored event cannot be decoded: ") +
                                                 e.getDescription().cStr())};
  }
  return {404, RejectedBody("not_found", "no such resource: " + std::string(verb))};
}

RouteAnswer RunWhatIf(const ReplaySources& sources, const std::string& tenant,
                      const QueryParams& query, const std::string& body) {
  try {
    const Params p(query, {"at"});
    replay::WhatIfQuery q;
    q.tenant = tenant;
    q.at = p.Time("at");
    const json commands = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (commands.is_object()) {
      q.commands.push_back(commands.dump());
    } else if (commands.is_array()) {
      if (commands.size() > replay::kMaxWhatIfCommands) {
        throw BadParam{fmt::format("body: more than {} commands", replay::kMaxWhatIfCommands)};
      }
      for (const auto& c : commands) q.commands.push_back(c.dump());
    } else {
      throw BadParam{"body: a JSON command object or an array of them"};
    }
    json out;
    const ledger::Status s = replay::WhatIf(*sources.store, *sources.reader, q, &out);
    if (!s.ok()) return FromStatus(s, tenant);
    return Json(out);
  } catch (const BadParam& bad) {
    return {400, RejectedBody("bad_request", bad.message)};
  } catch (const kj::Exception& e) {
    return {503, RejectedBody("unavailable", std::string("a stored event cannot be decoded: ") +
                                                 e.getDescription().cStr())};
  }
}

std::string RejectedBody(const std::string& code, const std::string& message) {
  return json{{"status", "rejected"}, {"code", code}, {"message", message}}.dump();
}

}  // namespace server

#include "replay/history.h"

#include <algorithm>
#include <map>

#include "replay/event_json.h"
#include "replay/rejections.h"
#include "replay/summary.h"
#include "replay/table.h"

namespace replay {
namespace {

using nlohmann::json;

json Entry(ledger::schema::Event::Reader e) {
  json j;
  j["position"] = e.getPosition();
  j["version"] = e.getVersion();
  j["type"] = std::string(ledger::EventTypeName(e.getPayload().which()));
  j["actor"] = std::string(e.getActor());
  j["recorded_at"] = ledger::FormatRfc3339(e.getRecordedAt());
  j["effective_at"] = ledger::FormatRfc3339(e.getEffectiveAt());
  j["reason"] = e.getReason().size() == 0 ? json(nullptr) : json(std::string(e.getReason()));
  j["summary"] = Summary(e);
  j["caused"] = json::array();
  return j;
}

// True if the rejected command named the entity in its own fields.
bool Mentions(const std::string& command_json, char kind, const std::string& id) {
  const json c = json::parse(command_json, nullptr, /*allow_exceptions=*/false);
  if (!c.is_object()) return false;
  const char* field = kind == 'u' ? "user" : kind == 's' ? "subscription" : "group";
  for (const char* name : {field, kind == 'u' ? "owner" : field}) {
    if (c.contains(name) && c[name].is_string() && c[name].get<std::string>() == id) return true;
  }
  if (kind == 'u' && c.contains("rows") && c["rows"].is_array()) {
    for (const auto& row : c["rows"]) {
      if (row.is_object() && row.contains("user") && row["user"] == id) return true;
    }
  }
  return false;
}

std::string Text(const json& v) {
  if (v.is_null()) return "";
  return v.is_string() ? v.get<std::string>() : DumpJson(v);
}

void AddRows(const json& entry, int depth, Table* table) {
  const std::string indent(static_cast<size_t>(depth) * 2, ' ');
  if (entry.value("rejected", false)) {
    table->Add({"-", Text(entry["at"]), "", Text(entry["actor"]),
                indent + "REJECTED " + Text(entry["command_type"]),
                Text(entry["code"]) + ": " + Text(entry["message"])});
    return;
  }
  const std::string effective =
      entry["effective_at"] == entry["recorded_at"] ? "" : Text(entry["effective_at"]);
  table->Add({Text(entry["position"]), Text(entry["recorded_at"]), effective, Text(entry["actor"]),
              indent + Text(entry["type"]), Text(entry["summary"])});
  for (const auto& child : entry["caused"]) AddRows(child, depth + 1, table);
}

}  // namespace

ledger::Status History(const ledger::Store& store, const projections::ViewReader& reader,
                       const HistoryQuery& query, json* out) {
  std::vector<uint64_t> positions;
  ledger::Status s = reader.EntityPositions(query.tenant, query.kind, query.id, &positions);
  if (!s.ok()) return s;
  // Entries by position; causes outside the entity's own events are fetched as context.
  std::map<uint64_t, json> entries;
  std::map<uint64_t, uint64_t> cause_of;
  auto load = [&](uint64_t position, bool context) -> ledger::Status {
    auto c = store.ReadLog(position, position);
    if (!c->Valid()) {
      return c->status().ok() ? ledger::Status::Corruption("indexed event " +
                                                           std::to_string(position) + " is missing")
                              : c->status();
    }
    const auto e = c->event().event();
    if (query.from && e.getRecordedAt() < *query.from) return ledger::Status::OK();
    if (query.to && e.getRecordedAt() > *query.to) return ledger::Status::OK();
    json j = Entry(e);
    if (context) j["context"] = true;
    entries[position] = std::move(j);
    if (e.getCausation() != 0) cause_of[position] = e.getCausation();
    return ledger::Status::OK();
  };
  for (uint64_t p : positions) {
    s = load(p, false);
    if (!s.ok()) return s;
  }
  for (const auto& [child, cause] : std::map<uint64_t, uint64_t>(cause_of)) {
    if (entries.count(child) > 0 && entries.count(cause) == 0) {
      s = load(cause, true);
      if (!s.ok()) return s;
    }
  }
  // Nest cascades under their cause (deepest first, so chains nest fully).
  for (auto it = cause_of.rbegin(); it != cause_of.rend(); ++it) {
    auto child = entries.find(it->first);
    auto parent = entries.find(it->second);
    if (child == entries.end() || parent == entries.end()) continue;
    parent->second["caused"].push_back(std::move(child->second));
    entries.erase(child);
  }
  for (auto& [p, e] : entries) {
    auto& caused = e["caused"];
    std::sort(caused.begin(), caused.end(),
              [](const json& a, const json& b) { return a["position"] < b["position"]; });
  }
  // Rejected attempts, merged by time.
  std::vector<std::pair<ledger::Micros, json>> rejected;
  s = store.ForEachRejection(query.tenant, [&](const ledger::RejectionRecord& r) {
    if (query.from && r.at < *query.from) return true;
    if (query.to && r.at > *query.to) return true;
    if (!Mentions(r.command_json, query.kind, query.id)) return true;
    json entry = RejectionJson(r);
    entry["rejected"] = true;
    rejected.emplace_back(r.at, std::move(entry));
    return true;
  });
  if (!s.ok()) return s;
  json list = json::array();
  size_t next_rejected = 0;
  for (auto& [p, e] : entries) {
    const ledger::Micros at = *ledger::ParseRfc3339(e["recorded_at"].get<std::string>());
    while (next_rejected < rejected.size() && rejected[next_rejected].first < at) {
      list.push_back(std::move(rejected[next_rejected++].second));
    }
    list.push_back(std::move(e));
  }
  while (next_rejected < rejected.size())
    list.push_back(std::move(rejected[next_rejected++].second));
  const char* key = query.kind == 'u' ? "user" : query.kind == 's' ? "subscription" : "group";
  *out = json{{"tenant", query.tenant}, {key, query.id}, {"entries", std::move(list)}};
  return ledger::Status::OK();
}

void PrintHistory(const json& history, std::ostream& out) {
  Table table({"POSITION", "RECORDED", "EFFECTIVE", "ACTOR", "EVENT", "SUMMARY"});
  for (const auto& entry : history["entries"]) AddRows(entry, 0, &table);
  if (table.empty()) {
    out << "no history\n";
  } else {
    table.Print(out);
  }
}

}  // namespace replay

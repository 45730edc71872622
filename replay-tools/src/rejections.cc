#include "replay/rejections.h"

#include "ledger/time.h"
#include "replay/table.h"

namespace replay {

using nlohmann::json;

json RejectionJson(const ledger::RejectionRecord& r) {
  return json{{"at", ledger::FormatRfc3339(r.at)}, {"actor", r.actor}, {"command_id", r.command_id},
              {"command_type", r.command_type},    {"code", r.code},   {"message", r.message}};
}

ledger::Status Rejections(const ledger::Store& store, const RejectionsQuery& query, json* out) {
  json list = json::array();
  bool more = false;
  uint64_t last = 0;
  const ledger::Status s =
      store.ForEachRejection(query.tenant, [&](const ledger::RejectionRecord& r) {
        if (r.sequence <= query.after) return true;
        if (query.from && r.at < *query.from) return true;
        if (query.to && r.at > *query.to) return true;
        if (query.limit != 0 && list.size() == query.limit) {
          more = true;
          return false;
        }
        json entry = RejectionJson(r);
        entry["sequence"] = r.sequence;
        list.push_back(std::move(entry));
        last = r.sequence;
        return true;
      });
  if (!s.ok()) return s;
  *out = json{{"tenant", query.tenant}, {"rejections", std::move(list)}};
  if (more) (*out)["next"] = std::to_string(last);
  return ledger::Status::OK();
}

void PrintRejections(const json& rejections, std::ostream& out) {
  Table table({"SEQ", "AT", "ACTOR", "COMMAND", "ID", "CODE", "MESSAGE"});
  for (const auto& r : rejections["rejections"]) {
    auto text = [&](const char* key) { return r[key].get<std::string>(); };
    table.Add({std::to_string(r["sequence"].get<uint64_t>()), text("at"), text("actor"),
               text("command_type"), text("command_id"), text("code"), text("message")});
  }
  table.Print(out);
}

}  // namespace replay

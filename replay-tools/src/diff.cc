#include "replay/diff.h"

#include <map>
#include <set>

#include "commands/access.h"
#include "replay/event_json.h"
#include "replay/state_json.h"
#include "replay/table.h"

namespace replay {
namespace {

using nlohmann::json;

// Compares two arrays of objects keyed by `key`: added, removed, and per changed object
// the fields that differ as [before, after].
json DiffLists(const json& before, const json& after, const std::string& key) {
  std::map<std::string, json> a, b;
  for (const auto& item : before) a[item[key].get<std::string>()] = item;
  for (const auto& item : after) b[item[key].get<std::string>()] = item;
  json out = {{"added", json::array()}, {"removed", json::array()}, {"changed", json::array()}};
  for (const auto& [id, item] : b) {
    if (a.count(id) == 0) out["added"].push_back(item);
  }
  for (const auto& [id, item] : a) {
    auto it = b.find(id);
    if (it == b.end()) {
      out["removed"].push_back(item);
      continue;
    }
    json fields = json::object();
    for (const auto& [field, value] : item.items()) {
      const json other = it->second.contains(field) ? it->second[field] : json(nullptr);
      if (value != other) fields[field] = json::array({value, other});
    }
    for (const auto& [field, value] : it->second.items()) {
      if (!item.contains(field)) fields[field] = json::array({nullptr, value});
    }
    if (!fields.empty()) out["changed"].push_back({{key, id}, {"fields", fields}});
  }
  return out;
}

json Point(const json& state) {
  return {{"version", state["version"]}, {"position", state["position"]}, {"at", state["at"]}};
}

std::string Text(const json& v) {
  if (v.is_null()) return "null";
  return v.is_string() ? v.get<std::string>() : DumpJson(v);
}

}  // namespace

json Diff(const commands::TenantState& from, ledger::Micros from_at,
          const commands::TenantState& to, ledger::Micros to_at) {
  const json a = StateJson(from, from_at);
  const json b = StateJson(to, to_at);
  json out;
  out["tenant"] = to.tenant.empty() ? from.tenant : to.tenant;
  out["from"] = Point(a);
  out["to"] = Point(b);
  out["members"] = DiffLists(a["members"], b["members"], "user");
  out["groups"] = DiffLists(a["groups"], b["groups"], "group");
  out["subscriptions"] = DiffLists(a["subscriptions"], b["subscriptions"], "subscription");
  // Access: every user known at either point, for every product sold at either point.
  std::set<std::string> users, products;
  for (const auto* s : {&from, &to}) {
    for (const auto& [id, m] : s->members) users.insert(id);
    for (const auto& [id, sub] : s->subscriptions) products.insert(sub.product);
  }
  json gained = json::array(), lost = json::array();
  for (const auto& user : users) {
    for (const auto& product : products) {
      const auto before = commands::CheckAccess(from, user, product, from_at);
      const auto after = commands::CheckAccess(to, user, product, to_at);
      if (!before.allowed && after.allowed) {
        gained.push_back(
            {{"user", user}, {"product", product}, {"subscription", after.subscription}});
      } else if (before.allowed && !after.allowed) {
        lost.push_back({{"user", user},
                        {"product", product},
                        {"reason", after.reason},
                        {"subscription", after.subscription.empty() ? json(before.subscription)
                                                                    : json(after.subscription)}});
      }
    }
  }
  out["access"] = {{"gained", gained}, {"lost", lost}};
  return out;
}

void PrintDiff(const json& diff, std::ostream& out) {
  out << "tenant " << Text(diff["tenant"]) << ": version " << Text(diff["from"]["version"]) << " ("
      << Text(diff["from"]["at"]) << ") -> version " << Text(diff["to"]["version"]) << " ("
      << Text(diff["to"]["at"]) << ")\n";
  Table changes({"WHAT", "ID", "CHANGE"});
  const std::pair<const char*, const char*> kinds[] = {
      {"members", "user"}, {"groups", "group"}, {"subscriptions", "subscription"}};
  for (const auto& [kind, key] : kinds) {
    const json& d = diff[kind];
    for (const auto& item : d["added"]) changes.Add({kind, Text(item[key]), "added"});
    for (const auto& item : d["removed"]) changes.Add({kind, Text(item[key]), "removed"});
    for (const auto& item : d["changed"]) {
      for (const auto& [field, pair] : item["fields"].items()) {
        changes.Add({kind, Text(item[key]), field + ": " + Text(pair[0]) + " -> " + Text(pair[1])});
      }
    }
  }
  for (const auto& g : diff["access"]["gained"]) {
    changes.Add({"access", Text(g["user"]),
                 "gained " + Text(g["product"]) + " (" + Text(g["subscription"]) + ")"});
  }
  for (const auto& l : diff["access"]["lost"]) {
    changes.Add(
        {"access", Text(l["user"]), "lost " + Text(l["product"]) + " (" + Text(l["reason"]) + ")"});
  }
  if (changes.empty()) {
    out << "no changes\n";
  } else {
    changes.Print(out);
  }
}

}  // namespace replay

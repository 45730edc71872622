#include "replay/state_json.h"

#include "commands/evolve.h"
#include "replay/event_json.h"
#include "replay/table.h"

namespace replay {
namespace {

using nlohmann::json;

json TimeOrNull(ledger::Micros t) {
  return t == 0 ? json(nullptr) : json(ledger::FormatRfc3339(t));
}

json Strings(const std::set<std::string>& items) {
  json out = json::array();
  for (const auto& s : items) out.push_back(s);
  return out;
}

json Pending(const commands::Subscription& sub) {
  json out = json::array();
  for (const auto* change : {&sub.pending_decrease, &sub.pending_downgrade}) {
    if (!change->has_value()) continue;
    const commands::PendingChange& c = **change;
    json p;
    p["change"] = c.change;
    if (c.change == "seat_decrease") {
      p["seats"] = c.seats;
    } else {
      p["edition"] = c.edition;
    }
    p["effective_at"] = TimeOrNull(c.effective_at);
    out.push_back(std::move(p));
  }
  return out;
}

std::string Join(const json& array) {
  std::string out;
  for (const auto& item : array) {
    if (!out.empty()) out += ",";
    out += item.is_string() ? item.get<std::string>() : DumpJson(item);
  }
  return out;
}

std::string Text(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  return DumpJson(value);
}

}  // namespace

json StateJson(const commands::TenantState& state, ledger::Micros at) {
  json out;
  out["tenant"] = state.tenant;
  out["version"] = state.version;
  out["position"] = state.position;
  out["at"] = ledger::FormatRfc3339(at);
  json members = json::array();
  for (const auto& [id, m] : state.members) {
    members.push_back({{"user", m.user},
                       {"email", m.email},
                       {"role", commands::RoleName(m.role)},
                       {"status", commands::MemberStatusName(m.status)}});
  }
  out["members"] = std::move(members);
  json groups = json::array();
  for (const auto& [id, g] : state.groups) {
    groups.push_back({{"group", g.group}, {"name", g.name}, {"members", Strings(g.members)}});
  }
  out["groups"] = std::move(groups);
  json subscriptions = json::array();
  for (const auto& [id, sub] : state.subscriptions) {
    json s;
    s["subscription"] = sub.subscription;
    s["product"] = sub.product;
    s["edition"] = sub.edition;
    s["seats"] = sub.seats;
    s["seat_model"] = commands::SeatModelName(sub.seat_model);
    s["status"] = commands::StatusAt(sub, at);
    s["auto_renew"] = sub.auto_renew;
    s["period_start"] = TimeOrNull(sub.period_start);
    s["period_end"] = TimeOrNull(sub.period_end);
    s["purchase_order"] = sub.purchase_order.empty() ? json(nullptr) : json(sub.purchase_order);
    s["groups"] = Strings(sub.groups);
    s["direct"] = Strings(sub.direct);
    s["assigned"] = Strings(state.AssignedUsers(sub));
    s["violations"] = state.Violations(sub);
    s["pending"] = Pending(sub);
    // Beyond 6.2: the leases in use (R19; concurrent subscriptions only).
    if (sub.seat_model == commands::SeatModel::CONCURRENT) {
      json leases = json::array();
      for (const auto& [id, lease] : sub.leases) {
        leases.push_back({{"lease", id},
                          {"user", lease.user},
                          {"device", lease.device},
                          {"granted_at", TimeOrNull(lease.granted_at)}});
      }
      s["leases"] = std::move(leases);
    }
    // Beyond 6.2: the add-on link (R13) and the overage policy that decides violations.
    s["add_on_of"] = sub.add_on_of.empty() ? json(nullptr) : json(sub.add_on_of);
    s["overage"] = commands::OverageName(sub.overage);
    subscriptions.push_back(std::move(s));
  }
  out["subscriptions"] = std::move(subscriptions);
  return out;
}

void PrintStateTables(const json& state, std::ostream& out) {
  out << "tenant " << Text(state["tenant"]) << "  version " << state["version"] << "  position "
      << state["position"] << "  at " << Text(state["at"]) << "\n\n";
  Table members({"USER", "EMAIL", "ROLE", "STATUS"});
  for (const auto& m : state["members"]) {
    members.Add({Text(m["user"]), Text(m["email"]), Text(m["role"]), Text(m["status"])});
  }
  out << "members\n";
  members.Print(out);
  Table groups({"GROUP", "NAME", "MEMBERS"});
  for (const auto& g : state["groups"]) {
    groups.Add({Text(g["group"]), Text(g["name"]), Join(g["members"])});
  }
  out << "\ngroups\n";
  groups.Print(out);
  Table subs({"SUBSCRIPTION", "PRODUCT", "EDITION", "SEATS", "MODEL", "STATUS", "PERIOD END",
              "ASSIGNED", "VIOLATIONS", "PENDING"});
  for (const auto& s : state["subscriptions"]) {
    std::string pending;
    for (const auto& p : s["pending"]) {
      if (!pending.empty()) pending += "; ";
      pending += Text(p["change"]) + " " +
                 (p.contains("seats") ? Text(p["seats"]) : Text(p["edition"])) + " at " +
                 Text(p["effective_at"]);
    }
    subs.Add({Text(s["subscription"]), Text(s["product"]), Text(s["edition"]), Text(s["seats"]),
              Text(s["seat_model"]), Text(s["status"]), Text(s["period_end"]), Join(s["assigned"]),
              Join(s["violations"]), pending});
  }
  out << "\nsubscriptions\n";
  subs.Print(out);
  Table leases({"SUBSCRIPTION", "LEASE", "USER", "DEVICE", "GRANTED AT"});
  for (const auto& s : state["subscriptions"]) {
    if (!s.contains("leases")) continue;
    for (const auto& l : s["leases"]) {
      leases.Add({Text(s["subscription"]), Text(l["lease"]), Text(l["user"]), Text(l["device"]),
                  Text(l["granted_at"])});
    }
  }
  if (!leases.empty()) {
    out << "\nleases in use\n";
    leases.Print(out);
  }
}

}  // namespace replay

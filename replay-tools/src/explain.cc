#include "replay/explain.h"

#include <fmt/format.h>

#include <deque>

#include "commands/access.h"
#include "commands/as_of.h"
#include "commands/evolve.h"
#include "projections/touched.h"
#include "replay/summary.h"

namespace replay {
namespace {

using nlohmann::json;

constexpr size_t kMaxBecause = 32;

bool Same(const commands::AccessDecision& a, const commands::AccessDecision& b) {
  return a.allowed == b.allowed && a.reason == b.reason && a.subscription == b.subscription;
}

// What the decision means, in words: "bob allowed through L1", "3 users on 2 seats →
// subscription L1 locked (lock_all)".
std::string Consequence(const commands::TenantState& state, const std::string& user,
                        const commands::AccessDecision& d, ledger::Micros at) {
  if (d.allowed) return fmt::format("{} allowed through {}", user, d.subscription);
  auto it = state.subscriptions.find(d.subscription);
  const commands::Subscription* sub = it == state.subscriptions.end() ? nullptr : &it->second;
  if (sub != nullptr && (d.reason == "subscription_locked" || d.reason == "count_violation")) {
    const size_t assigned = state.AssignedCount(*sub);
    std::string cause;
    if (sub->seat_model == commands::SeatModel::NAMED && assigned > sub->seats) {
      cause = fmt::format("{} users on {} seats", assigned, sub->seats);
    } else {
      cause = fmt::format("{} groups, at most {}", sub->groups.size(), sub->max_groups);
    }
    if (d.reason == "subscription_locked") {
      return fmt::format("{} → subscription {} locked ({})", cause, sub->subscription,
                         commands::OverageName(sub->overage));
    }
    return fmt::format("{} → {} beyond capacity ({})", cause, user,
                       commands::OverageName(sub->overage));
  }
  if (sub != nullptr && d.reason == "subscription_expired") {
    return fmt::format("subscription {} {} → {} denied (subscription_expired)", sub->subscription,
                       commands::StatusAt(*sub, at), user);
  }
  if (sub != nullptr && d.reason == "base_not_entitled") {
    return fmt::format(
        "{} holds add-on {} without access to its base {} → denied "
        "(base_not_entitled)",
        user, sub->subscription, sub->add_on_of);
  }
  return fmt::format("{} denied ({})", user, d.reason);
}

json DecisionJson(const commands::AccessDecision& d) {
  return {{"allowed", d.allowed},
          {"reason", d.reason.empty() ? json(nullptr) : json(d.reason)},
          {"subscription", d.subscription.empty() ? json(nullptr) : json(d.subscription)}};
}

// True if `e` can change the user's access to `product`: it names the user, a
// subscription of the product (or a base of one), or a group assigned to one.
bool Relevant(const commands::TenantState& state, ledger::schema::Event::Reader e,
              const std::string& user, const std::string& product) {
  const projections::Touched t = projections::TouchedBy(e);
  if (std::find(t.users.begin(), t.users.end(), user) != t.users.end()) return true;
  if (t.subscriptions.empty() && t.groups.empty()) {
    // Tenant-wide events (tenant_created) matter; others name someone else.
    return e.getPayload().which() == ledger::schema::Event::Payload::TENANT_CREATED;
  }
  for (const auto& [id, sub] : state.subscriptions) {
    const bool of_product = sub.product == product;
    bool is_base = false;
    for (const auto& [other_id, other] : state.subscriptions) {
      is_base = is_base || (other.product == product && other.add_on_of == id);
    }
    if (!of_product && !is_base) continue;
    if (std::find(t.subscriptions.begin(), t.subscriptions.end(), id) != t.subscriptions.end()) {
      return true;
    }
    for (const auto& g : t.groups) {
      if (sub.groups.count(g) > 0) return true;
    }
  }
  // A purchase of a new subscription of the product is not in state yet.
  return e.getPayload().which() == ledger::schema::Event::Payload::SUBSCRIPTION_PURCHASED &&
         std::string(e.getPayload().getSubscriptionPurchased().getProduct()) == product;
}

// `state` as a check at `t` sees it: with the time rules at `t` applied (R15), in *scratch
// when any fell due.
const commands::TenantState& AtTime(const commands::TenantState& state, ledger::Micros t,
                                    commands::TenantState* scratch) {
  return commands::ApplyDueEffects(state, t, scratch) ? *scratch : state;
}

}  // namespace

ledger::Status Explain(const ledger::Store& store, const projections::ViewReader& reader,
                       const ExplainQuery& query, json* out) {
  const ledger::Micros at = query.at.value_or(reader.Now());
  commands::TenantState state;
  state.tenant = query.tenant;
  commands::AccessDecision current;
  current.reason = "unknown_tenant";
  std::deque<json> because;
  size_t omitted = 0;
  const commands::AsOf point{.at = at};
  commands::TenantState scratch;
  auto c = store.ReadStream(query.tenant);
  for (; c->Valid(); c->Next()) {
    const auto e = c->event().event();
    // Not yet true at `at` (backdated ones may be).
    if (commands::CountsAsOf(point, e) != commands::Counts::kFold) continue;
    const bool relevant = Relevant(state, e, query.user, query.product);
    commands::Evolve(&state, e);
    if (!relevant) continue;
    const ledger::Micros then = std::max(e.getEffectiveAt(), e.getRecordedAt());
    const commands::AccessDecision d =
        commands::CheckAccess(state, query.user, query.product, std::min(then, at));
    if (Same(d, current)) continue;
    current = d;
    const commands::TenantState& seen = AtTime(state, std::min(then, at), &scratch);
    because.push_back({{"position", e.getPosition()},
                       {"type", std::string(ledger::EventTypeName(e.getPayload().which()))},
                       {"recorded_at", ledger::FormatRfc3339(e.getRecordedAt())},
                       {"effective_at", ledger::FormatRfc3339(e.getEffectiveAt())},
                       {"actor", std::string(e.getActor())},
                       {"summary", Summary(e) + " → " + Consequence(seen, query.user, d, then)},
                       {"decision", DecisionJson(d)}});
    if (because.size() > kMaxBecause) {
      because.pop_front();
      ++omitted;
    }
  }
  if (!c->status().ok()) return c->status();
  // The answer at `at`: time rules may have changed it since the last event. It is told
  // with the state the check saw (a seat decrease that fell due, say).
  const commands::AccessDecision final_decision =
      commands::CheckAccess(state, query.user, query.product, at);
  const commands::TenantState& seen = AtTime(state, at, &scratch);
  if (!Same(final_decision, current)) {
    because.push_back({{"position", nullptr},
                       {"type", "time_rule"},
                       {"recorded_at", nullptr},
                       {"effective_at", ledger::FormatRfc3339(at)},
                       {"actor", "system"},
                       {"summary", "by " + ledger::FormatRfc3339(at) + " → " +
                                       Consequence(seen, query.user, final_decision, at)},
                       {"decision", DecisionJson(final_decision)}});
  }
  json j = DecisionJson(final_decision);
  j["tenant"] = query.tenant;
  j["user"] = query.user;
  j["product"] = query.product;
  j["at"] = ledger::FormatRfc3339(at);
  j["because"] = json::array();
  for (auto& b : because) j["because"].push_back(std::move(b));
  j["omitted"] = omitted;
  *out = std::move(j);
  return ledger::Status::OK();
}

void PrintExplain(const json& explain, std::ostream& out) {
  const bool allowed = explain["allowed"].get<bool>();
  out << explain["user"].get<std::string>() << (allowed ? " may use " : " may not use ")
      << explain["product"].get<std::string>() << " at " << explain["at"].get<std::string>();
  if (allowed) {
    out << " (through " << explain["subscription"].get<std::string>() << ")\n";
  } else {
    out << ": " << explain["reason"].get<std::string>();
    if (!explain["subscription"].is_null()) {
      out << " (" << explain["subscription"].get<std::string>() << ")";
    }
    out << "\n";
  }
  if (explain["omitted"].get<size_t>() > 0) {
    out << "  ... " << explain["omitted"].get<size_t>() << " earlier changes\n";
  }
  for (const auto& b : explain["because"]) {
    const std::string where = b["position"].is_null()
                                  ? "  time   "
                                  : fmt::format("  #{:<6} ", b["position"].get<uint64_t>());
    out << where << b["summary"].get<std::string>() << "\n";
  }
}

}  // namespace replay

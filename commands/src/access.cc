#include "commands/access.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "commands/as_of.h"
#include "commands/evolve.h"

namespace commands {
namespace {

// Denial reasons from the most to the least telling, when several subscriptions deny.
int Rank(const std::string& reason) {
  static const char* kOrder[] = {"count_violation", "subscription_locked",  "base_not_entitled",
                                 "no_free_seat",    "subscription_expired", "no_seat"};
  for (int i = 0; i < 6; ++i) {
    if (reason == kOrder[i]) return i;
  }
  return 6;
}

// Why `user` may not use `sub` at `at`, or "" if they may. `depth` bounds add-on chains.
std::string Evaluate(const TenantState& state, const Subscription& sub, const std::string& user,
                     Micros at, int depth) {
  if (!state.HoldsSeat(sub, user)) return "no_seat";
  if (StatusAt(sub, at) == "expired") return "subscription_expired";
  const std::vector<std::string> violations = state.Violations(sub);
  const bool capacity_violation =
      std::find(violations.begin(), violations.end(), "over_assigned") != violations.end() ||
      std::find(violations.begin(), violations.end(), "too_many_groups") != violations.end();
  if (capacity_violation && sub.overage == Overage::LOCK_ALL) return "subscription_locked";
  if (capacity_violation && sub.overage == Overage::DENY_EXCESS) {
    // Users beyond capacity, in the order they got their seat, are denied.
    std::vector<std::pair<uint64_t, std::string>> order;
    for (const auto& [u, since] : sub.seat_since) order.emplace_back(since, u);
    std::sort(order.begin(), order.end());
    for (size_t i = 0; i < order.size(); ++i) {
      if (order[i].second == user) {
        if (i >= sub.seats) return "count_violation";
        break;
      }
    }
  }
  if (!sub.add_on_of.empty()) {
    auto base = state.subscriptions.find(sub.add_on_of);
    if (base == state.subscriptions.end() || depth > 8 ||
        !Evaluate(state, base->second, user, at, depth + 1).empty()) {
      return "base_not_entitled";
    }
  }
  return "";
}

// R19 on top: a concurrent subscription needs the user's own lease, or a free seat.
std::string LeaseProblem(const Subscription& sub, const std::string& user) {
  if (sub.seat_model != SeatModel::CONCURRENT) return "";
  for (const auto& [id, lease] : sub.leases) {
    if (lease.user == user) return "";
  }
  return sub.leases.size() >= sub.seats ? "no_free_seat" : "";
}

}  // namespace

std::string EntitlementProblem(const TenantState& state, const Subscription& sub,
                               const std::string& user, Micros at) {
  return Evaluate(state, sub, user, at, 0);
}

std::string MembershipProblem(const TenantState& state, const std::string& user) {
  const Member* m = state.FindMember(user);
  if (m == nullptr) return "not_member";
  if (m->status == MemberStatus::kInvited) return "invitation_pending";
  if (m->status == MemberStatus::kRemoved) return "member_removed";
  return "";
}

std::string AccessDecision::ToJson() const {
  nlohmann::json j;
  j["allowed"] = allowed;
  j["reason"] = reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(reason);
  j["subscription"] = subscription.empty() ? nlohmann::json(nullptr) : nlohmann::json(subscription);
  return j.dump();
}

AccessDecision CheckAccess(const TenantState& folded, const std::string& user,
                           const std::string& product, Micros at) {
  // Time rules at query time (R15): what has fallen due by `at` applies, written or not.
  TenantState due;
  const TenantState& state = ApplyDueEffects(folded, at, &due) ? due : folded;
  AccessDecision d;
  if (!state.exists) {
    d.reason = "unknown_tenant";
    return d;
  }
  d.reason = MembershipProblem(state, user);
  if (!d.reason.empty()) return d;
  std::string best_reason = "no_seat";
  std::string best_sub;
  for (const auto& [id, sub] : state.subscriptions) {
    if (sub.product != product || !state.HoldsSeat(sub, user)) continue;
    std::string why = Evaluate(state, sub, user, at, 0);
    if (why.empty()) why = LeaseProblem(sub, user);
    if (why.empty()) {
      d.allowed = true;
      d.subscription = id;
      return d;
    }
    if (best_sub.empty() || Rank(why) < Rank(best_reason)) {
      best_reason = why;
      best_sub = id;
    }
  }
  d.reason = best_reason;
  d.subscription = best_sub;
  return d;
}

}  // namespace commands

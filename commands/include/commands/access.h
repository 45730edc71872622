// The access check (R18): may user U use product P at time T?
#pragma once

#include <string>

#include "commands/state.h"

namespace commands {

// The answer: allowed with the subscription that grants it, or one reason code.
struct AccessDecision {
  bool allowed = false;
  std::string reason;        // empty when allowed
  std::string subscription;  // the granting subscription (or the one that denies)

  // {"allowed": ..., "reason": ...|null, "subscription": ...|null}
  std::string ToJson() const;
};

// Why `user` (an active member holding a seat of `sub`) may not use `sub` at `at` by the
// assignment rules (R6, R7, R11, R13: no_seat, subscription_expired, subscription_locked,
// count_violation, base_not_entitled), leases aside; "" when they may.
std::string EntitlementProblem(const TenantState& state, const Subscription& sub,
                               const std::string& user, Micros at);

// Why `user` cannot use the member's side of R18: not_member, invitation_pending,
// member_removed; "" for an active member.
std::string MembershipProblem(const TenantState& state, const std::string& user);

// Evaluates R18 on `state` (the tenant as of time `at`, i.e. every event effective at
// or before `at` folded) with the time rules applied at `at` (R15).
AccessDecision CheckAccess(const TenantState& state, const std::string& user,
                           const std::string& product, Micros at);

}  // namespace commands

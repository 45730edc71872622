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

// Evaluates R18 on `state` (the tenant as of time `at`, i.e. every event effective at
// or before `at` folded) with the time rules applied at `at` (R15).
AccessDecision CheckAccess(const TenantState& state, const std::string& user,
                           const std::string& product, Micros at);

}  // namespace commands

// Shared pieces of the decisions (internal).
#pragma once

#include <fmt/format.h>

#include <string>

#include "commands/decide.h"
#include "drafts.h"

namespace commands::internal {

// Everything one decision looks at.
struct Ctx {
  const TenantState& state;
  const Catalog& catalog;
  const Command& cmd;
  Micros now;
  bool system = false;            // the actor is "system"
  const Member* actor = nullptr;  // the acting member, when not system
};

inline Decided Reject(std::string code, std::string message) {
  Decided d;
  d.rejection = ledger::Rejected{std::move(code), std::move(message)};
  return d;
}

inline Decided Accept(std::vector<ledger::EventDraft> events) {
  Decided d;
  d.events = std::move(events);
  return d;
}

inline Decided One(ledger::EventDraft event) {
  Decided d;
  d.events.push_back(std::move(event));
  return d;
}

// The acting role (system acts as owner).
inline bool ActorIs(const Ctx& c, std::initializer_list<Role> roles) {
  if (c.system) return true;
  for (Role r : roles) {
    if (c.actor != nullptr && c.actor->role == r) return true;
  }
  return false;
}

// R3: owner, admin and user_manager manage members; a user_manager only those whose role
// is (or would be) `member`.
std::optional<Decided> CheckMemberManagement(const Ctx& c, Role target_role);

// R3: owner and admin only.
std::optional<Decided> CheckAdmin(const Ctx& c, std::string_view what);

// The subscription, or a not_found rejection.
const Subscription* FindSubscription(const Ctx& c, Decided* rejection);

// Decisions by area.
Decided DecideMembers(const Ctx& c);
Decided DecideGroups(const Ctx& c);
Decided DecideSubscriptions(const Ctx& c);
Decided DecideImport(const Ctx& c);
Decided DecideLeases(const Ctx& c);

}  // namespace commands::internal

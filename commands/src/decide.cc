// Decide: dispatch, the actor rules of R3, catalog and tenant creation.
#include <algorithm>
#include <set>

#include "decide_internal.h"

namespace commands {
namespace internal {

std::optional<Decided> CheckMemberManagement(const Ctx& c, Role target_role) {
  if (ActorIs(c, {Role::OWNER, Role::ADMIN})) return std::nullopt;
  if (c.actor != nullptr && c.actor->role == Role::USER_MANAGER) {
    if (target_role == Role::MEMBER) return std::nullopt;
    return Reject("forbidden", fmt::format("actor: a user_manager may only manage members with "
                                           "role member, not {}",
                                           RoleName(target_role)));
  }
  return Reject("forbidden",
                fmt::format("actor: '{}' ({}) may not {}", c.cmd.actor,
                            c.actor ? RoleName(c.actor->role) : "unknown", c.cmd.type));
}

std::optional<Decided> CheckAdmin(const Ctx& c, std::string_view what) {
  if (ActorIs(c, {Role::OWNER, Role::ADMIN})) return std::nullopt;
  return Reject("forbidden",
                fmt::format("actor: only the owner or an admin may {} ('{}' is {})", what,
                            c.cmd.actor, c.actor ? RoleName(c.actor->role) : "unknown"));
}

const Subscription* FindSubscription(const Ctx& c, Decided* rejection) {
  auto it = c.state.subscriptions.find(c.cmd.subscription);
  if (it == c.state.subscriptions.end()) {
    *rejection = Reject("not_found", "subscription: '" + c.cmd.subscription + "' does not exist");
    return nullptr;
  }
  return &it->second;
}

namespace {

Decided DefineProduct(const Ctx& c) {
  if (!c.system) return Reject("forbidden", "actor: only system may define products");
  auto it = c.catalog.products.find(c.cmd.product);
  if (it != c.catalog.products.end()) {
    // A product may gain editions; existing ones must stay, in the same order, so that
    // every subscription's edition keeps its rank.
    size_t next = 0;
    for (const auto& e : c.cmd.editions) {
      if (next < it->second.size() && e == it->second[next]) ++next;
    }
    if (next != it->second.size()) {
      return Reject("bad_request",
                    "editions: a redefinition must keep the existing editions in order");
    }
    if (c.cmd.editions == it->second) {
      return Reject("already_exists", "product: '" + c.cmd.product + "' is already defined so");
    }
  }
  return One(drafts::ProductDefined(c.cmd.product, c.cmd.editions));
}

Decided CreateTenant(const Ctx& c) {
  if (!c.system) return Reject("forbidden", "actor: only system may create tenants");
  if (c.state.exists) return Reject("already_exists", "tenant: '" + c.cmd.tenant + "' exists");
  return One(drafts::TenantCreated(c.cmd.owner, c.cmd.owner_email));
}

}  // namespace
}  // namespace internal

Decided Decide(const TenantState& state, const Catalog& catalog, const Command& cmd, Micros now) {
  using namespace internal;
  Ctx c{state, catalog, cmd, now};
  c.system = cmd.actor == kSystemActor;

  if (cmd.effective_at && *cmd.effective_at > now) {
    return Reject("bad_request", "effective_at: a correction cannot take effect in the future");
  }

  Decided d;
  if (cmd.type == "define_product") {
    d = DefineProduct(c);
  } else if (cmd.type == "create_tenant") {
    d = CreateTenant(c);
  } else if (!state.exists) {
    return Reject("unknown_tenant", "tenant: '" + cmd.tenant + "' does not exist");
  } else {
    if (!c.system) {
      c.actor = state.FindMember(cmd.actor);
      const bool accepting_own = cmd.type == "accept_invitation" &&
                                 (cmd.user.empty() || cmd.user == cmd.actor) &&
                                 c.actor != nullptr && c.actor->status == MemberStatus::kInvited;
      if (!accepting_own && (c.actor == nullptr || c.actor->status != MemberStatus::kActive)) {
        return Reject("forbidden",
                      "actor: '" + cmd.actor + "' is not an active member of '" + cmd.tenant + "'");
      }
    }
    if (cmd.type == "tick") {
      if (auto r = CheckAdmin(c, "advance the clock")) return std::move(*r);
      return Decided();  // the effects due are appended by the service
    }
    static const std::set<std::string> kGroupCommands = {
        "create_group", "rename_group", "delete_group", "add_group_member", "remove_group_member"};
    static const std::set<std::string> kMemberCommands = {
        "invite_member", "resend_invitation", "accept_invitation",
        "remove_member", "change_role",       "transfer_ownership"};
    if (cmd.type == "import_members") {
      d = DecideImport(c);
    } else if (cmd.type == "checkout" || cmd.type == "heartbeat" || cmd.type == "checkin") {
      d = DecideLeases(c);
    } else if (kGroupCommands.count(cmd.type) > 0) {
      d = DecideGroups(c);
    } else if (kMemberCommands.count(cmd.type) > 0) {
      d = DecideMembers(c);
    } else {
      d = DecideSubscriptions(c);  // purchase, seats, groups on subscriptions, billing
    }
  }
  if (d.rejection) return d;
  for (auto& e : d.events) {
    if (e.actor.empty()) e.actor = cmd.actor;
    if (cmd.effective_at) e.effective_at = *cmd.effective_at;
    if (!cmd.reason.empty() && e.reason.empty()) e.reason = cmd.reason;
  }
  return d;
}

}  // namespace commands

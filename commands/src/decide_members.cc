// Decisions on members (R2, R3) and groups (R4).
#include "decide_internal.h"

namespace commands::internal {
namespace {

Decided NotMember(const Ctx& c, const std::string& user) {
  return Reject("not_member", "user: '" + user + "' is not a member of '" + c.cmd.tenant + "'");
}

Decided Invite(const Ctx& c) {
  const Role role = c.cmd.role.empty() ? Role::MEMBER : *ParseRole(c.cmd.role);
  if (role == Role::OWNER) {
    return Reject("bad_request", "role: the owner is named by transfer_ownership, not invited");
  }
  if (auto r = CheckMemberManagement(c, role)) return std::move(*r);
  if (c.state.IsCurrentMember(c.cmd.user)) {
    return Reject("already_member", "user: '" + c.cmd.user + "' is already " +
                                        MemberStatusName(c.state.FindMember(c.cmd.user)->status));
  }
  return One(drafts::MemberInvited(c.cmd.user, c.cmd.email, role, c.cmd.name));
}

Decided Resend(const Ctx& c) {
  const Member* m = c.state.FindMember(c.cmd.user);
  if (auto r = CheckMemberManagement(c, m ? m->role : Role::MEMBER)) return std::move(*r);
  if (m == nullptr || m->status != MemberStatus::kInvited) {
    return Reject("not_invited", "user: '" + c.cmd.user + "' has no pending invitation");
  }
  return One(drafts::InvitationResent(c.cmd.user));
}

Decided Accept(const Ctx& c) {
  const std::string user = c.cmd.user.empty() ? c.cmd.actor : c.cmd.user;
  if (!c.system && user != c.cmd.actor) {
    return Reject("forbidden", "actor: only the invited user (or system) accepts an invitation");
  }
  const Member* m = c.state.FindMember(user);
  if (m == nullptr || m->status != MemberStatus::kInvited) {
    return Reject("not_invited", "user: '" + user + "' has no pending invitation");
  }
  return One(drafts::InvitationAccepted(user));
}

Decided Remove(const Ctx& c) {
  const Member* m = c.state.FindMember(c.cmd.user);
  if (m == nullptr || m->status == MemberStatus::kRemoved) return NotMember(c, c.cmd.user);
  if (m->role == Role::OWNER) {
    return Reject("owner_cannot_be_removed",
                  "user: '" + c.cmd.user + "' owns the tenant; transfer ownership first");
  }
  if (auto r = CheckMemberManagement(c, m->role)) return std::move(*r);
  // Cascade first, as explicit events caused by the removal (the last event).
  std::vector<ledger::EventDraft> events;
  const std::string why = "cascade: member " + c.cmd.user + " removed";
  for (const auto& [id, sub] : c.state.subscriptions) {
    if (sub.direct.count(c.cmd.user) > 0) events.push_back(drafts::SeatRevoked(id, c.cmd.user));
  }
  for (const auto& [id, g] : c.state.groups) {
    if (g.members.count(c.cmd.user) > 0) {
      events.push_back(drafts::GroupMemberRemoved(id, c.cmd.user));
    }
  }
  const auto removal_index = static_cast<uint32_t>(events.size() + 1);
  for (auto& e : events) {
    e.caused_by = removal_index;
    e.reason = why;
  }
  events.push_back(drafts::MemberRemoved(c.cmd.user));
  return internal::Accept(std::move(events));
}

Decided ChangeRole(const Ctx& c) {
  if (auto r = CheckAdmin(c, "change roles")) return std::move(*r);
  const Member* m = c.state.FindMember(c.cmd.user);
  if (m == nullptr || m->status == MemberStatus::kRemoved) return NotMember(c, c.cmd.user);
  const Role to = *ParseRole(c.cmd.role);
  if (m->role == Role::OWNER) {
    return Reject("forbidden", "user: the owner's role changes only by transfer_ownership");
  }
  if (to == Role::OWNER) {
    return Reject("bad_request", "role: use transfer_ownership to make someone the owner");
  }
  if (to == m->role) {
    return Reject("bad_request", "role: '" + c.cmd.user + "' is already " + RoleName(to));
  }
  return One(drafts::RoleChanged(c.cmd.user, m->role, to));
}

Decided Transfer(const Ctx& c) {
  if (!ActorIs(c, {Role::OWNER})) {
    return Reject("forbidden", "actor: only the owner may transfer ownership");
  }
  const Member* m = c.state.FindMember(c.cmd.user);
  if (m == nullptr || m->status != MemberStatus::kActive) {
    return Reject("not_member", "user: '" + c.cmd.user + "' is not an active member");
  }
  if (c.cmd.user == c.state.owner) {
    return Reject("bad_request", "user: '" + c.cmd.user + "' is already the owner");
  }
  return One(drafts::OwnershipTransferred(c.state.owner, c.cmd.user, Role::ADMIN));
}

const Group* FindGroup(const Ctx& c, Decided* rejection) {
  auto it = c.state.groups.find(c.cmd.group);
  if (it == c.state.groups.end()) {
    *rejection = Reject("not_found", "group: '" + c.cmd.group + "' does not exist");
    return nullptr;
  }
  return &it->second;
}

}  // namespace

Decided DecideMembers(const Ctx& c) {
  const std::string& t = c.cmd.type;
  if (t == "invite_member") return Invite(c);
  if (t == "resend_invitation") return Resend(c);
  if (t == "accept_invitation") return Accept(c);
  if (t == "remove_member") return Remove(c);
  if (t == "change_role") return ChangeRole(c);
  if (t == "transfer_ownership") return Transfer(c);
  return Reject("bad_request", "type: '" + t + "' is not a member command");
}

Decided DecideGroups(const Ctx& c) {
  const std::string& t = c.cmd.type;
  Decided missing;
  if (t == "create_group") {
    if (auto r = CheckAdmin(c, "create groups")) return std::move(*r);
    if (c.state.groups.count(c.cmd.group) > 0) {
      return Reject("already_exists", "group: '" + c.cmd.group + "' exists");
    }
    return One(drafts::GroupCreated(c.cmd.group, c.cmd.name));
  }
  if (t == "rename_group") {
    if (auto r = CheckAdmin(c, "rename groups")) return std::move(*r);
    const Group* g = FindGroup(c, &missing);
    if (g == nullptr) return missing;
    if (g->name == c.cmd.name)
      return Reject("bad_request", "name: the group already has this name");
    return One(drafts::GroupRenamed(c.cmd.group, c.cmd.name));
  }
  if (t == "delete_group") {
    if (auto r = CheckAdmin(c, "delete groups")) return std::move(*r);
    const Group* g = FindGroup(c, &missing);
    if (g == nullptr) return missing;
    std::vector<ledger::EventDraft> events;
    for (const auto& [id, sub] : c.state.subscriptions) {
      if (sub.groups.count(c.cmd.group) > 0) {
        events.push_back(drafts::GroupUnassigned(id, c.cmd.group));
      }
    }
    for (const auto& user : g->members) {
      events.push_back(drafts::GroupMemberRemoved(c.cmd.group, user));
    }
    const auto deletion_index = static_cast<uint32_t>(events.size() + 1);
    for (auto& e : events) {
      e.caused_by = deletion_index;
      e.reason = "cascade: group " + c.cmd.group + " deleted";
    }
    events.push_back(drafts::GroupDeleted(c.cmd.group));
    return internal::Accept(std::move(events));
  }
  // Group membership: member management rights on the user (R3).
  const Group* g = FindGroup(c, &missing);
  const Member* m = c.state.FindMember(c.cmd.user);
  if (auto r = CheckMemberManagement(c, m ? m->role : Role::MEMBER)) return std::move(*r);
  if (g == nullptr) return missing;
  if (t == "add_group_member") {
    if (!c.state.IsCurrentMember(c.cmd.user)) return NotMember(c, c.cmd.user);
    if (g->members.count(c.cmd.user) > 0) {
      return Reject("already_in_group",
                    "user: '" + c.cmd.user + "' is already in group '" + c.cmd.group + "'");
    }
    return One(drafts::GroupMemberAdded(c.cmd.group, c.cmd.user));
  }
  if (t == "remove_group_member") {
    if (g->members.count(c.cmd.user) == 0) {
      return Reject("not_in_group",
                    "user: '" + c.cmd.user + "' is not in group '" + c.cmd.group + "'");
    }
    return One(drafts::GroupMemberRemoved(c.cmd.group, c.cmd.user));
  }
  return Reject("bad_request", "type: '" + t + "' is not a group command");
}

}  // namespace commands::internal

// import_members (R14): every row is reported as valid, incomplete, invalid or duplicate;
// on commit all valid rows are appended as one command, or nothing is.
#include <map>

#include "commands/evolve.h"
#include "decide_internal.h"

namespace commands::internal {
namespace {

bool PrintableName(const std::string& s) {
  if (s.size() > 200) return false;
  for (unsigned char ch : s) {
    if (ch < 0x20 || ch == 0x7f) return false;
  }
  return true;
}

}  // namespace

Decided DecideImport(const Ctx& c) {
  ImportReport report;
  std::map<std::string, int> seen_users;  // user → line (or index) first seen
  std::map<std::string, int> seen_emails;
  std::map<std::string, std::string> member_emails;  // e-mail of current members → user
  for (const auto& [id, m] : c.state.members) {
    if (m.status != MemberStatus::kRemoved) member_emails[m.email] = id;
  }
  struct Valid {
    std::string user, email, name;
    Role role;
  };
  std::vector<Valid> valid;

  for (size_t i = 0; i < c.cmd.rows.size(); ++i) {
    const ImportRow& row = c.cmd.rows[i];
    ImportReport::Row r;
    r.line = row.line;
    r.index = static_cast<int>(i);
    r.email = row.email;
    r.user = row.user.empty() ? row.email : row.user;
    const int where = row.line > 0 ? row.line : static_cast<int>(i);
    const char* where_name = row.line > 0 ? "line" : "row";
    if (row.email.empty() && row.problem.empty()) {
      r.problem = "email: missing";
      report.incomplete.push_back(r);
      continue;
    }
    std::optional<Role> role = row.role.empty() ? Role::MEMBER : ParseRole(row.role);
    if (!row.problem.empty()) {
      r.problem = row.problem;
    } else if (!IsValidEmail(row.email)) {
      r.problem = "email: not a valid e-mail address";
    } else if (!IsValidId(r.user)) {
      r.problem = "user: must be 1-128 characters of A-Z a-z 0-9 . _ @ + -";
    } else if (!role) {
      r.problem = "role: must be one of admin, user_manager, member";
    } else if (*role == Role::OWNER) {
      r.problem = "role: the owner cannot be imported";
    } else if (!PrintableName(row.name)) {
      r.problem = "name: at most 200 printable characters";
    } else if (!c.system && c.actor->role == Role::USER_MANAGER && *role != Role::MEMBER) {
      r.problem = "role: a user_manager may only import members with role member";
    }
    if (!r.problem.empty()) {
      report.invalid.push_back(r);
      continue;
    }
    if (auto u = seen_users.find(r.user); u != seen_users.end()) {
      r.problem = fmt::format("user: duplicate of {} {}", where_name, u->second);
    } else if (auto e = seen_emails.find(row.email); e != seen_emails.end()) {
      r.problem = fmt::format("email: duplicate of {} {}", where_name, e->second);
    } else if (c.state.IsCurrentMember(r.user)) {
      r.problem = "user: already a member";
    } else if (auto m = member_emails.find(row.email); m != member_emails.end()) {
      r.problem = "email: already the e-mail of member '" + m->second + "'";
    }
    seen_users.emplace(r.user, where);
    seen_emails.emplace(row.email, where);
    if (!r.problem.empty()) {
      report.duplicates.push_back(r);
      continue;
    }
    report.valid.push_back(r);
    valid.push_back(Valid{r.user, row.email, row.name, *role});
  }

  // Rights and targets are checked for dry runs too, so a dry run predicts the commit.
  if (auto r = CheckMemberManagement(c, Role::MEMBER)) return std::move(*r);
  const Subscription* sub = nullptr;
  if (!c.cmd.subscription.empty()) {
    Decided missing;
    sub = FindSubscription(c, &missing);
    if (sub == nullptr) return missing;
    if (StatusAt(*sub, c.now) == "expired") {
      return Reject("subscription_expired",
                    "subscription: '" + sub->subscription + "' has expired");
    }
    if (sub->seat_model == SeatModel::NAMED) {
      const size_t after = c.state.AssignedCount(*sub) + valid.size();
      if (after > sub->seats) {
        Decided d = Reject("seat_limit_reached",
                           fmt::format("subscription: '{}' has {} seats; importing {} users "
                                       "would need {}",
                                       sub->subscription, sub->seats, valid.size(), after));
        d.report = std::move(report);
        return d;
      }
    }
  }
  if (!c.cmd.group.empty() && c.state.groups.count(c.cmd.group) == 0) {
    return Reject("not_found", "group: '" + c.cmd.group + "' does not exist");
  }

  Decided d;
  if (c.cmd.commit.value_or(false)) {
    if (valid.empty()) {
      d = Reject("bad_request", "rows: no valid row to import");
      d.report = std::move(report);
      return d;
    }
    for (const Valid& v : valid) {
      d.events.push_back(drafts::MemberInvited(v.user, v.email, v.role, v.name));
      if (sub != nullptr) d.events.push_back(drafts::SeatAssigned(sub->subscription, v.user));
      if (!c.cmd.group.empty()) d.events.push_back(drafts::GroupMemberAdded(c.cmd.group, v.user));
    }
  }
  d.report = std::move(report);
  return d;
}

}  // namespace commands::internal

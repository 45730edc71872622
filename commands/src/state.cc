#include "commands/state.h"

#include <algorithm>

namespace commands {
namespace {

struct Named {
  const char* name;
  int value;
};

constexpr Named kRoles[] = {{"owner", static_cast<int>(Role::OWNER)},
                            {"admin", static_cast<int>(Role::ADMIN)},
                            {"user_manager", static_cast<int>(Role::USER_MANAGER)},
                            {"member", static_cast<int>(Role::MEMBER)}};
constexpr Named kSeatModels[] = {{"named", static_cast<int>(SeatModel::NAMED)},
                                 {"concurrent", static_cast<int>(SeatModel::CONCURRENT)}};
constexpr Named kOverages[] = {{"lock_all", static_cast<int>(Overage::LOCK_ALL)},
                               {"deny_excess", static_cast<int>(Overage::DENY_EXCESS)},
                               {"allow", static_cast<int>(Overage::ALLOW)}};

template <size_t N>
std::string NameOf(const Named (&table)[N], int value) {
  for (const auto& n : table) {
    if (n.value == value) return n.name;
  }
  return "unknown";
}

template <size_t N>
std::optional<int> ValueOf(const Named (&table)[N], std::string_view text) {
  for (const auto& n : table) {
    if (text == n.name) return n.value;
  }
  return std::nullopt;
}

}  // namespace

std::string RoleName(Role role) { return NameOf(kRoles, static_cast<int>(role)); }
std::optional<Role> ParseRole(std::string_view text) {
  auto v = ValueOf(kRoles, text);
  return v ? std::optional<Role>(static_cast<Role>(*v)) : std::nullopt;
}
std::string SeatModelName(SeatModel model) { return NameOf(kSeatModels, static_cast<int>(model)); }
std::optional<SeatModel> ParseSeatModel(std::string_view text) {
  auto v = ValueOf(kSeatModels, text);
  return v ? std::optional<SeatModel>(static_cast<SeatModel>(*v)) : std::nullopt;
}
std::string OverageName(Overage overage) { return NameOf(kOverages, static_cast<int>(overage)); }
std::optional<Overage> ParseOverage(std::string_view text) {
  auto v = ValueOf(kOverages, text);
  return v ? std::optional<Overage>(static_cast<Overage>(*v)) : std::nullopt;
}
std::string MemberStatusName(MemberStatus status) {
  switch (status) {
    case MemberStatus::kInvited:
      return "invited";
    case MemberStatus::kActive:
      return "active";
    case MemberStatus::kRemoved:
      return "removed";
  }
  return "unknown";
}

int Catalog::EditionRank(const std::string& product, const std::string& edition) const {
  auto it = products.find(product);
  if (it == products.end()) return -1;
  auto e = std::find(it->second.begin(), it->second.end(), edition);
  return e == it->second.end() ? -1 : static_cast<int>(e - it->second.begin());
}

const Member* TenantState::FindMember(const std::string& user) const {
  auto it = members.find(user);
  return it == members.end() ? nullptr : &it->second;
}

bool TenantState::IsCurrentMember(const std::string& user) const {
  const Member* m = FindMember(user);
  return m != nullptr && m->status != MemberStatus::kRemoved;
}

std::set<std::string> TenantState::AssignedUsers(const Subscription& sub) const {
  std::set<std::string> users = sub.direct;
  for (const auto& g : sub.groups) {
    auto it = groups.find(g);
    if (it != groups.end()) users.insert(it->second.members.begin(), it->second.members.end());
  }
  return users;
}

bool TenantState::HoldsSeat(const Subscription& sub, const std::string& user) const {
  if (sub.direct.count(user) > 0) return true;
  for (const auto& g : sub.groups) {
    auto it = groups.find(g);
    if (it != groups.end() && it->second.members.count(user) > 0) return true;
  }
  return false;
}

Micros Subscription::LeaseTtl() const {
  const uint32_t seconds = lease_ttl_seconds > 0 ? lease_ttl_seconds : kDefaultLeaseTtlSeconds;
  return static_cast<Micros>(seconds) * 1'000'000;
}

size_t TenantState::AssignedCount(const Subscription& sub) const {
  return sub.groups.empty() ? sub.direct.size() : AssignedUsers(sub).size();
}

std::vector<std::string> TenantState::Violations(const Subscription& sub) const {
  std::vector<std::string> out;
  if (sub.seat_model == SeatModel::NAMED && AssignedCount(sub) > sub.seats) {
    out.push_back("over_assigned");
  }
  if (sub.max_groups > 0 && sub.groups.size() > sub.max_groups) out.push_back("too_many_groups");
  if (!sub.add_on_of.empty()) {
    auto base = subscriptions.find(sub.add_on_of);
    for (const auto& u : AssignedUsers(sub)) {
      if (base == subscriptions.end() || !HoldsSeat(base->second, u)) {
        out.push_back("orphaned_add_on");
        break;
      }
    }
  }
  return out;
}

void TenantState::RefreshSeats(Subscription* sub, uint64_t at_version) const {
  const std::set<std::string> users = AssignedUsers(*sub);
  for (auto it = sub->seat_since.begin(); it != sub->seat_since.end();) {
    it = users.count(it->first) > 0 ? std::next(it) : sub->seat_since.erase(it);
  }
  for (const auto& u : users) sub->seat_since.emplace(u, at_version);
}

void TenantState::RefreshSeat(Subscription* sub, const std::string& user,
                              uint64_t at_version) const {
  if (HoldsSeat(*sub, user)) {
    sub->seat_since.emplace(user, at_version);
  } else {
    sub->seat_since.erase(user);
  }
}

}  // namespace commands

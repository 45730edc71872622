// The domain state of one tenant (and the global product catalog), as folded from its
// events by Evolve. Plain values: copyable, no I/O, not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ledger/event.capnp.h"
#include "ledger/time.h"

namespace commands {

using ledger::Micros;
using Role = ledger::schema::Role;
using SeatModel = ledger::schema::SeatModel;
using Overage = ledger::schema::Overage;

// The stream that holds the global product catalog (not a valid tenant id: '#').
inline constexpr char kCatalogStream[] = "#catalog";
// The actor that stands for billing and the clock.
inline constexpr char kSystemActor[] = "system";

enum class MemberStatus { kInvited, kActive, kRemoved };

// Text forms used in JSON: "owner", "user_manager", "named", "lock_all", "invited", ...
std::string RoleName(Role role);
std::optional<Role> ParseRole(std::string_view text);
std::string SeatModelName(SeatModel model);
std::optional<SeatModel> ParseSeatModel(std::string_view text);
std::string OverageName(Overage overage);
std::optional<Overage> ParseOverage(std::string_view text);
std::string MemberStatusName(MemberStatus status);

struct Member {
  std::string user;
  std::string email;
  std::string name;
  Role role = Role::MEMBER;
  MemberStatus status = MemberStatus::kInvited;
  Micros invited_at = 0;
};

struct Group {
  std::string group;
  std::string name;
  std::set<std::string> members;
};

// A floating-seat lease of a concurrent subscription (R19), from lease_granted until
// lease_released or lease_expired. `expires_at` is the granted expiry, moved on by
// heartbeats where the writer knows them (heartbeats are not events).
struct Lease {
  std::string user;
  std::string device;
  Micros granted_at = 0;
  Micros expires_at = 0;
};

// Default lease time to live when the subscription sets none (R19): 15 minutes.
inline constexpr uint32_t kDefaultLeaseTtlSeconds = 900;

// A change scheduled for the end of the current period (R8, R9).
struct PendingChange {
  std::string change;  // "seat_decrease" | "edition_downgrade"
  uint32_t seats = 0;
  std::string edition;
  Micros effective_at = 0;
};

struct Subscription {
  std::string subscription;
  std::string product;
  std::string edition;
  uint32_t seats = 0;
  SeatModel seat_model = SeatModel::NAMED;
  Micros period_start = 0;
  Micros period_end = 0;
  bool auto_renew = true;
  Overage overage = Overage::LOCK_ALL;
  uint32_t max_groups = 0;  // 0 = no limit
  std::string add_on_of;    // base subscription, or empty
  Micros trial_end = 0;     // 0 = not a trial (or converted)
  bool expired = false;     // subscription_expired / trial_expired applied
  std::string purchase_order;
  uint32_t lease_ttl_seconds = 0;
  std::set<std::string> direct;  // users assigned directly
  std::set<std::string> groups;  // groups assigned
  // When each user who holds a seat got it (stream version), for deny_excess ordering.
  std::map<std::string, uint64_t> seat_since;
  std::optional<PendingChange> pending_decrease;
  std::optional<PendingChange> pending_downgrade;
  std::map<std::string, Lease> leases;  // lease id → lease, while in use (R19)

  // The lease TTL in microseconds (lease_ttl_seconds, or the default).
  Micros LeaseTtl() const;
};

// The product catalog (define_product): product → editions, lowest first.
struct Catalog {
  std::map<std::string, std::vector<std::string>> products;

  // Index of `edition` in `product`'s list, or -1.
  int EditionRank(const std::string& product, const std::string& edition) const;
};

struct TenantState {
  std::string tenant;
  bool exists = false;
  uint64_t version = 0;   // last folded stream version
  uint64_t position = 0;  // last folded global position
  Micros at = 0;          // recorded_at of the last folded event
  std::string owner;
  std::map<std::string, Member> members;
  std::map<std::string, Group> groups;
  std::map<std::string, Subscription> subscriptions;

  // The member, or nullptr.
  const Member* FindMember(const std::string& user) const;
  // True if `user` is an invited or active member.
  bool IsCurrentMember(const std::string& user) const;
  // Distinct users holding a seat of `sub`: direct ∪ members of its groups.
  std::set<std::string> AssignedUsers(const Subscription& sub) const;
  // |AssignedUsers(sub)|, without building the set when no group is assigned.
  size_t AssignedCount(const Subscription& sub) const;
  // True if `user` holds a seat of `sub` (directly or through a group).
  bool HoldsSeat(const Subscription& sub, const std::string& user) const;
  // Violations of `sub` (R7, R13): "over_assigned", "too_many_groups", "orphaned_add_on".
  std::vector<std::string> Violations(const Subscription& sub) const;
  // Recomputes sub.seat_since after a change of assignments at stream `version`.
  void RefreshSeats(Subscription* sub, uint64_t version) const;
  // The same when only `user`'s assignments changed (O(log n) instead of O(n)).
  void RefreshSeat(Subscription* sub, const std::string& user, uint64_t version) const;
};

}  // namespace commands

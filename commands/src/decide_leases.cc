// Decide: concurrent seats (R19) — checkout, heartbeat, checkin.
//
// A checkout grants a lease (an event) when the user may use the subscription by its
// assignment rules and a seat is free; the same user and device checking out again gets
// its lease back, renewed. Heartbeats renew a lease without an event (the service keeps
// the new expiry in the lease table). A checkin releases it (an event); expiry is a time
// rule (time_effects.cc).
#include "commands/access.h"
#include "decide_internal.h"
#include "drafts.h"

namespace commands::internal {
namespace {

// The lease with id `lease` and its subscription id, or nullptr.
const Lease* FindLease(const TenantState& state, const std::string& lease,
                       std::string* subscription) {
  for (const auto& [id, sub] : state.subscriptions) {
    auto it = sub.leases.find(lease);
    if (it != sub.leases.end()) {
      *subscription = id;
      return &it->second;
    }
  }
  return nullptr;
}

// Users act on their own leases; system, the owner and admins on anyone's.
std::optional<Decided> CheckLeaseActor(const Ctx& c, const std::string& user) {
  if (c.cmd.actor == user || ActorIs(c, {Role::OWNER, Role::ADMIN})) return std::nullopt;
  return Reject("forbidden", fmt::format("actor: '{}' may not {} for '{}' (only the user, the "
                                         "owner, an admin or system)",
                                         c.cmd.actor, c.cmd.type, user));
}

// Why `user` may not hold a lease of `sub` now, as a rejection; nullopt if they may.
std::optional<Decided> CheckEntitled(const Ctx& c, const std::string& sub_id,
                                     const Subscription& sub, const std::string& user) {
  std::string why = MembershipProblem(c.state, user);
  if (why.empty()) why = EntitlementProblem(c.state, sub, user, c.now);
  if (why.empty()) return std::nullopt;
  return Reject(why,
                fmt::format("user: '{}' may not use subscription '{}' ({})", user, sub_id, why));
}

Decided Checkout(const Ctx& c) {
  Decided rejection;
  const Subscription* sub = FindSubscription(c, &rejection);
  if (sub == nullptr) return rejection;
  const std::string& sub_id = c.cmd.subscription;
  if (sub->seat_model != SeatModel::CONCURRENT) {
    return Reject("bad_request", fmt::format("subscription: '{}' has named seats; only concurrent "
                                             "subscriptions are checked out",
                                             sub_id));
  }
  if (auto r = CheckLeaseActor(c, c.cmd.user)) return std::move(*r);
  if (auto r = CheckEntitled(c, sub_id, *sub, c.cmd.user)) return std::move(*r);
  const Micros expires_at = c.now + sub->LeaseTtl();
  for (const auto& [id, lease] : sub->leases) {
    if (lease.user == c.cmd.user && lease.device == c.cmd.device) {
      Decided again;  // the same user and device: their lease, renewed (no event)
      again.lease = LeaseOutcome{id, sub_id, std::max(expires_at, lease.expires_at)};
      return again;
    }
  }
  if (sub->leases.size() >= sub->seats) {
    return Reject("no_free_seat",
                  fmt::format("subscription: all {} seats of '{}' are in use", sub->seats, sub_id));
  }
  // Unique within the tenant: the version of the lease_granted event.
  const std::string id = fmt::format("lease-{}", c.state.version + 1);
  const Lease granted{c.cmd.user, c.cmd.device, c.now, expires_at};
  Decided d = One(drafts::LeaseGranted(sub_id, id, granted));
  d.lease = LeaseOutcome{id, sub_id, expires_at};
  return d;
}

Decided Heartbeat(const Ctx& c) {
  std::string sub_id;
  const Lease* lease = FindLease(c.state, c.cmd.lease, &sub_id);
  if (lease == nullptr) {
    return Reject("not_found", fmt::format("lease: '{}' is not in use (released, expired or "
                                           "unknown); check out again",
                                           c.cmd.lease));
  }
  if (auto r = CheckLeaseActor(c, lease->user)) return std::move(*r);
  const Subscription& sub = c.state.subscriptions.at(sub_id);
  if (auto r = CheckEntitled(c, sub_id, sub, lease->user)) return std::move(*r);
  Decided d;
  d.lease = LeaseOutcome{c.cmd.lease, sub_id, std::max(c.now + sub.LeaseTtl(), lease->expires_at)};
  return d;
}

Decided Checkin(const Ctx& c) {
  std::string sub_id;
  const Lease* lease = FindLease(c.state, c.cmd.lease, &sub_id);
  if (lease == nullptr) {
    return Reject(
        "not_found",
        fmt::format("lease: '{}' is not in use (released, expired or unknown)", c.cmd.lease));
  }
  if (auto r = CheckLeaseActor(c, lease->user)) return std::move(*r);
  Decided d = One(drafts::LeaseReleased(sub_id, c.cmd.lease));
  d.lease = LeaseOutcome{c.cmd.lease, sub_id, c.now, /*ended=*/true};
  return d;
}

}  // namespace

Decided DecideLeases(const Ctx& c) {
  if (c.cmd.type == "checkout") return Checkout(c);
  if (c.cmd.type == "heartbeat") return Heartbeat(c);
  return Checkin(c);
}

}  // namespace commands::internal

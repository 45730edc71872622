#include "drafts.h"

namespace commands::drafts {

EventDraft TenantCreated(const std::string& owner, const std::string& email) {
  EventDraft d;
  auto e = d.payload().initTenantCreated();
  e.setOwner(owner);
  e.setOwnerEmail(email);
  return d;
}

EventDraft ProductDefined(const std::string& product, const std::vector<std::string>& editions) {
  EventDraft d;
  auto e = d.payload().initProductDefined();
  e.setProduct(product);
  auto list = e.initEditions(static_cast<unsigned>(editions.size()));
  for (unsigned i = 0; i < editions.size(); ++i) list.set(i, editions[i]);
  return d;
}

EventDraft MemberInvited(const std::string& user, const std::string& email, Role role,
                         const std::string& name) {
  EventDraft d;
  auto e = d.payload().initMemberInvited();
  e.setUser(user);
  e.setEmail(email);
  e.setRole(role);
  e.setName(name);
  return d;
}

#define LEDGER_USER_EVENT(Fn, Init)        \
  EventDraft Fn(const std::string& user) { \
    EventDraft d;                          \
    d.payload().Init().setUser(user);      \
    return d;                              \
  }
LEDGER_USER_EVENT(InvitationResent, initInvitationResent)
LEDGER_USER_EVENT(InvitationAccepted, initInvitationAccepted)
LEDGER_USER_EVENT(MemberRemoved, initMemberRemoved)
#undef LEDGER_USER_EVENT

EventDraft RoleChanged(const std::string& user, Role from, Role to) {
  EventDraft d;
  auto e = d.payload().initRoleChanged();
  e.setUser(user);
  e.setFrom(from);
  e.setTo(to);
  return d;
}

EventDraft OwnershipTransferred(const std::string& from, const std::string& to, Role previous) {
  EventDraft d;
  auto e = d.payload().initOwnershipTransferred();
  e.setFrom(from);
  e.setTo(to);
  e.setPreviousOwnerRole(previous);
  return d;
}

EventDraft GroupCreated(const std::string& group, const std::string& name) {
  EventDraft d;
  auto e = d.payload().initGroupCreated();
  e.setGroup(group);
  e.setName(name);
  return d;
}

EventDraft GroupRenamed(const std::string& group, const std::string& name) {
  EventDraft d;
  auto e = d.payload().initGroupRenamed();
  e.setGroup(group);
  e.setName(name);
  return d;
}

EventDraft GroupDeleted(const std::string& group) {
  EventDraft d;
  d.payload().initGroupDeleted().setGroup(group);
  return d;
}

EventDraft GroupMemberAdded(const std::string& group, const std::string& user) {
  EventDraft d;
  auto e = d.payload().initGroupMemberAdded();
  e.setGroup(group);
  e.setUser(user);
  return d;
}

EventDraft GroupMemberRemoved(const std::string& group, const std::string& user) {
  EventDraft d;
  auto e = d.payload().initGroupMemberRemoved();
  e.setGroup(group);
  e.setUser(user);
  return d;
}

EventDraft SeatAssigned(const std::string& sub, const std::string& user) {
  EventDraft d;
  auto e = d.payload().initSeatAssigned();
  e.setSubscription(sub);
  e.setUser(user);
  return d;
}

EventDraft SeatRevoked(const std::string& sub, const std::string& user) {
  EventDraft d;
  auto e = d.payload().initSeatRevoked();
  e.setSubscription(sub);
  e.setUser(user);
  return d;
}

EventDraft GroupAssigned(const std::string& sub, const std::string& group) {
  EventDraft d;
  auto e = d.payload().initGroupAssigned();
  e.setSubscription(sub);
  e.setGroup(group);
  return d;
}

EventDraft GroupUnassigned(const std::string& sub, const std::string& group) {
  EventDraft d;
  auto e = d.payload().initGroupUnassigned();
  e.setSubscription(sub);
  e.setGroup(group);
  return d;
}

EventDraft SeatsIncreased(const std::string& sub, uint32_t from, uint32_t to) {
  EventDraft d;
  auto e = d.payload().initSeatsIncreased();
  e.setSubscription(sub);
  e.setFrom(from);
  e.setTo(to);
  return d;
}

EventDraft SeatDecreaseScheduled(const std::string& sub, uint32_t seats, Micros at) {
  EventDraft d;
  auto e = d.payload().initSeatDecreaseScheduled();
  e.setSubscription(sub);
  e.setSeats(seats);
  e.setEffectiveAt(at);
  return d;
}

EventDraft SeatsDecreased(const std::string& sub, uint32_t from, uint32_t to) {
  EventDraft d;
  auto e = d.payload().initSeatsDecreased();
  e.setSubscription(sub);
  e.setFrom(from);
  e.setTo(to);
  return d;
}

EventDraft ScheduledChangeCancelled(const std::string& sub, const std::string& change) {
  EventDraft d;
  auto e = d.payload().initScheduledChangeCancelled();
  e.setSubscription(sub);
  e.setChange(change);
  return d;
}

EventDraft EditionUpgraded(const std::string& sub, const std::string& from, const std::string& to) {
  EventDraft d;
  auto e = d.payload().initEditionUpgraded();
  e.setSubscription(sub);
  e.setFrom(from);
  e.setTo(to);
  return d;
}

EventDraft EditionDowngradeScheduled(const std::string& sub, const std::string& edition,
                                     Micros at) {
  EventDraft d;
  auto e = d.payload().initEditionDowngradeScheduled();
  e.setSubscription(sub);
  e.setEdition(edition);
  e.setEffectiveAt(at);
  return d;
}

EventDraft EditionDowngraded(const std::string& sub, const std::string& from,
                             const std::string& to) {
  EventDraft d;
  auto e = d.payload().initEditionDowngraded();
  e.setSubscription(sub);
  e.setFrom(from);
  e.setTo(to);
  return d;
}

#define LEDGER_SUB_EVENT(Fn, Init)           \
  EventDraft Fn(const std::string& sub) {    \
    EventDraft d;                            \
    d.payload().Init().setSubscription(sub); \
    return d;                                \
  }
LEDGER_SUB_EVENT(RenewalCancelled, initRenewalCancelled)
LEDGER_SUB_EVENT(RenewalResumed, initRenewalResumed)
LEDGER_SUB_EVENT(SubscriptionExpired, initSubscriptionExpired)
LEDGER_SUB_EVENT(TrialExpired, initTrialExpired)
#undef LEDGER_SUB_EVENT

EventDraft SubscriptionRenewed(const std::string& sub, Micros start, Micros end) {
  EventDraft d;
  auto e = d.payload().initSubscriptionRenewed();
  e.setSubscription(sub);
  e.setPeriodStart(start);
  e.setPeriodEnd(end);
  return d;
}

EventDraft TrialConverted(const std::string& sub, const std::string& edition, uint32_t seats) {
  EventDraft d;
  auto e = d.payload().initTrialConverted();
  e.setSubscription(sub);
  e.setEdition(edition);
  e.setSeats(seats);
  return d;
}

EventDraft PurchaseOrderSet(const std::string& sub, const std::string& po) {
  EventDraft d;
  auto e = d.payload().initPurchaseOrderSet();
  e.setSubscription(sub);
  e.setPurchaseOrder(po);
  return d;
}

EventDraft LeaseGranted(const std::string& sub, const std::string& lease, const Lease& granted) {
  EventDraft d;
  auto e = d.payload().initLeaseGranted();
  e.setSubscription(sub);
  e.setUser(granted.user);
  e.setDevice(granted.device);
  e.setLease(lease);
  e.setExpiresAt(granted.expires_at);
  return d;
}

EventDraft LeaseReleased(const std::string& sub, const std::string& lease) {
  EventDraft d;
  auto e = d.payload().initLeaseReleased();
  e.setSubscription(sub);
  e.setLease(lease);
  return d;
}

EventDraft LeaseExpired(const std::string& sub, const std::string& lease) {
  EventDraft d;
  auto e = d.payload().initLeaseExpired();
  e.setSubscription(sub);
  e.setLease(lease);
  return d;
}

}  // namespace commands::drafts

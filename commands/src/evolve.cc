#include "commands/evolve.h"

namespace commands {
namespace {

using Kind = ledger::schema::Event::Payload::Which;
using ledger::schema::Event;
namespace schema = ledger::schema;

// Refreshes `user`'s seat in every subscription that `group` is assigned to.
void RefreshGroupSubscriptions(TenantState* s, const std::string& group, const std::string& user,
                               uint64_t version) {
  for (auto& [id, sub] : s->subscriptions) {
    if (sub.groups.count(group) > 0) s->RefreshSeat(&sub, user, version);
  }
}

Subscription* FindSub(TenantState* s, const capnp::Text::Reader& id) {
  auto it = s->subscriptions.find(std::string(id));
  return it == s->subscriptions.end() ? nullptr : &it->second;
}

// The tenant and its members (R1, R2, R3).

void OnTenantCreated(TenantState* s, Event::Reader event, schema::TenantCreated::Reader e) {
  s->exists = true;
  s->owner = e.getOwner();
  Member& m = s->members[s->owner];
  m.user = s->owner;
  m.email = e.getOwnerEmail();
  m.role = Role::OWNER;
  m.status = MemberStatus::kActive;
  m.invited_at = event.getEffectiveAt();
}

void OnMemberInvited(TenantState* s, Event::Reader event, schema::MemberInvited::Reader e) {
  Member& m = s->members[e.getUser()];
  m.user = e.getUser();
  m.email = e.getEmail();
  m.name = e.getName();
  m.role = e.getRole();
  m.status = MemberStatus::kInvited;
  m.invited_at = event.getEffectiveAt();
}

void OnInvitationAccepted(TenantState* s, schema::InvitationAccepted::Reader e) {
  auto it = s->members.find(e.getUser());
  if (it != s->members.end()) it->second.status = MemberStatus::kActive;
}

void OnMemberRemoved(TenantState* s, uint64_t v, schema::MemberRemoved::Reader e) {
  const std::string user = e.getUser();
  auto it = s->members.find(user);
  if (it != s->members.end()) it->second.status = MemberStatus::kRemoved;
  // Cascades were explicit events; drop any leftovers so no removed member holds a seat.
  for (auto& [gid, g] : s->groups) g.members.erase(user);
  for (auto& [sid, sub] : s->subscriptions) {
    sub.direct.erase(user);
    s->RefreshSeat(&sub, user, v);
  }
}

void OnRoleChanged(TenantState* s, schema::RoleChanged::Reader e) {
  auto it = s->members.find(e.getUser());
  if (it != s->members.end()) it->second.role = e.getTo();
}

void OnOwnershipTransferred(TenantState* s, schema::OwnershipTransferred::Reader e) {
  auto from = s->members.find(e.getFrom());
  if (from != s->members.end()) from->second.role = e.getPreviousOwnerRole();
  auto to = s->members.find(e.getTo());
  if (to != s->members.end()) to->second.role = Role::OWNER;
  s->owner = e.getTo();
}

// Groups (R4).

void OnGroupCreated(TenantState* s, schema::GroupCreated::Reader e) {
  Group& g = s->groups[e.getGroup()];
  g.group = e.getGroup();
  g.name = e.getName();
  g.members.clear();
}

void OnGroupRenamed(TenantState* s, schema::GroupRenamed::Reader e) {
  auto it = s->groups.find(e.getGroup());
  if (it != s->groups.end()) it->second.name = e.getName();
}

void OnGroupDeleted(TenantState* s, uint64_t v, schema::GroupDeleted::Reader e) {
  const std::string group = e.getGroup();
  s->groups.erase(group);
  for (auto& [sid, sub] : s->subscriptions) {
    if (sub.groups.erase(group) > 0) s->RefreshSeats(&sub, v);
  }
}

// A user joins (`added`) or leaves a group, and so the seats its subscriptions give.
void OnGroupMembership(TenantState* s, uint64_t v, const capnp::Text::Reader& group,
                       const capnp::Text::Reader& user_text, bool added) {
  auto it = s->groups.find(group);
  if (it == s->groups.end()) return;
  const std::string user = user_text;
  if (added) {
    it->second.members.insert(user);
  } else {
    it->second.members.erase(user);
  }
  RefreshGroupSubscriptions(s, it->first, user, v);
}

// Who holds seats of a subscription (R6, R7).

void OnSubscriptionPurchased(TenantState* s, schema::SubscriptionPurchased::Reader e) {
  Subscription& sub = s->subscriptions[e.getSubscription()];
  sub = Subscription();
  sub.subscription = e.getSubscription();
  sub.product = e.getProduct();
  sub.edition = e.getEdition();
  sub.seats = e.getSeats();
  sub.seat_model = e.getSeatModel();
  sub.period_start = e.getPeriodStart();
  sub.period_end = e.getPeriodEnd();
  sub.auto_renew = e.getAutoRenew();
  sub.overage = e.getOverage();
  sub.max_groups = e.getMaxGroups();
  sub.add_on_of = e.getAddOnOf();
  sub.trial_end = e.getTrialEnd();
  sub.lease_ttl_seconds = e.getLeaseTtlSeconds();
}

// A user's direct seat is assigned (`assigned`) or revoked.
void OnDirectSeat(TenantState* s, uint64_t v, const capnp::Text::Reader& subscription,
                  const capnp::Text::Reader& user_text, bool assigned) {
  Subscription* sub = FindSub(s, subscription);
  if (sub == nullptr) return;
  const std::string user = user_text;
  if (assigned) {
    sub->direct.insert(user);
  } else {
    sub->direct.erase(user);
  }
  s->RefreshSeat(sub, user, v);
}

// A group is assigned to (`assigned`) or unassigned from a subscription.
void OnGroupOnSubscription(TenantState* s, uint64_t v, const capnp::Text::Reader& subscription,
                           const capnp::Text::Reader& group, bool assigned) {
  Subscription* sub = FindSub(s, subscription);
  if (sub == nullptr) return;
  if (assigned) {
    sub->groups.insert(group);
  } else {
    sub->groups.erase(group);
  }
  s->RefreshSeats(sub, v);
}

// A subscription's terms: seats, edition, period, renewal, trial, billing (R8-R12).

void OnSeatsChanged(TenantState* s, const capnp::Text::Reader& subscription, uint32_t to) {
  if (Subscription* sub = FindSub(s, subscription)) {
    sub->seats = to;
    sub->pending_decrease.reset();  // a later resize replaces a pending one
  }
}

void OnSeatDecreaseScheduled(TenantState* s, schema::SeatDecreaseScheduled::Reader e) {
  if (Subscription* sub = FindSub(s, e.getSubscription())) {
    sub->pending_decrease = PendingChange{"seat_decrease", e.getSeats(), "", e.getEffectiveAt()};
  }
}

void OnScheduledChangeCancelled(TenantState* s, schema::ScheduledChangeCancelled::Reader e) {
  if (Subscription* sub = FindSub(s, e.getSubscription())) {
    const std::string change = e.getChange();
    if (change == "seat_decrease") sub->pending_decrease.reset();
    if (change == "edition_downgrade") sub->pending_downgrade.reset();
  }
}

void OnEditionChanged(TenantState* s, const capnp::Text::Reader& subscription,
                      const capnp::Text::Reader& to) {
  if (Subscription* sub = FindSub(s, subscription)) {
    sub->edition = to;
    sub->pending_downgrade.reset();
  }
}

void OnEditionDowngradeScheduled(TenantState* s, schema::EditionDowngradeScheduled::Reader e) {
  if (Subscription* sub = FindSub(s, e.getSubscription())) {
    sub->pending_downgrade =
        PendingChange{"edition_downgrade", 0, e.getEdition(), e.getEffectiveAt()};
  }
}

void OnAutoRenew(TenantState* s, const capnp::Text::Reader& subscription, bool auto_renew) {
  if (Subscription* sub = FindSub(s, subscription)) sub->auto_renew = auto_renew;
}

void OnSubscriptionRenewed(TenantState* s, schema::SubscriptionRenewed::Reader e) {
  if (Subscription* sub = FindSub(s, e.getSubscription())) {
    sub->period_start = e.getPeriodStart();
    sub->period_end = e.getPeriodEnd();
  }
}

void OnSubscriptionExpired(TenantState* s, schema::SubscriptionExpired::Reader e) {
  if (Subscription* sub = FindSub(s, e.getSubscription())) {
    sub->expired = true;
    sub->pending_decrease.reset();
    sub->pending_downgrade.reset();
  }
}

void OnTrialConverted(TenantState* s, schema::TrialConverted::Reader e) {
  if (Subscription* sub = FindSub(s, e.getSubscription())) {
    sub->trial_end = 0;
    if (e.hasEdition() && e.getEdition().size() > 0) sub->edition = e.getEdition();
    if (e.getSeats() > 0) sub->seats = e.getSeats();
  }
}

void OnTrialExpired(TenantState* s, schema::TrialExpired::Reader e) {
  if (Subscription* sub = FindSub(s, e.getSubscription())) sub->expired = true;
}

void OnPurchaseOrderSet(TenantState* s, schema::PurchaseOrderSet::Reader e) {
  if (Subscription* sub = FindSub(s, e.getSubscription())) {
    sub->purchase_order = e.getPurchaseOrder();
  }
}

// Leases of concurrent seats (R19).

void OnLeaseGranted(TenantState* s, Event::Reader event, schema::LeaseGranted::Reader e) {
  if (Subscription* sub = FindSub(s, e.getSubscription())) {
    Lease& lease = sub->leases[e.getLease()];
    lease.user = e.getUser();
    lease.device = e.getDevice();
    lease.granted_at = event.getEffectiveAt();
    lease.expires_at = e.getExpiresAt();
  }
}

// A lease is released or expired: it no longer holds a seat.
void OnLeaseEnded(TenantState* s, const capnp::Text::Reader& subscription,
                  const capnp::Text::Reader& lease) {
  if (Subscription* sub = FindSub(s, subscription)) sub->leases.erase(lease);
}

}  // namespace

void Evolve(TenantState* s, Event::Reader event) {
  s->version = event.getVersion();
  s->position = event.getPosition();
  s->at = event.getRecordedAt();
  if (s->tenant.empty()) s->tenant = event.getTenant();
  const uint64_t v = event.getVersion();
  const auto p = event.getPayload();
  // Every variant of this build's schema is listed (no default): a new one does not compile
  // until it is handled here.
  switch (p.which()) {
    case Kind::UNKNOWN:
    case Kind::PRODUCT_DEFINED:  // the catalog stream's (EvolveCatalog)
    case Kind::INVITATION_RESENT:
      return;
    case Kind::TENANT_CREATED:
      return OnTenantCreated(s, event, p.getTenantCreated());
    case Kind::MEMBER_INVITED:
      return OnMemberInvited(s, event, p.getMemberInvited());
    case Kind::INVITATION_ACCEPTED:
      return OnInvitationAccepted(s, p.getInvitationAccepted());
    case Kind::MEMBER_REMOVED:
      return OnMemberRemoved(s, v, p.getMemberRemoved());
    case Kind::ROLE_CHANGED:
      return OnRoleChanged(s, p.getRoleChanged());
    case Kind::OWNERSHIP_TRANSFERRED:
      return OnOwnershipTransferred(s, p.getOwnershipTransferred());
    case Kind::GROUP_CREATED:
      return OnGroupCreated(s, p.getGroupCreated());
    case Kind::GROUP_RENAMED:
      return OnGroupRenamed(s, p.getGroupRenamed());
    case Kind::GROUP_DELETED:
      return OnGroupDeleted(s, v, p.getGroupDeleted());
    case Kind::GROUP_MEMBER_ADDED: {
      const auto e = p.getGroupMemberAdded();
      return OnGroupMembership(s, v, e.getGroup(), e.getUser(), /*added=*/true);
    }
    case Kind::GROUP_MEMBER_REMOVED: {
      const auto e = p.getGroupMemberRemoved();
      return OnGroupMembership(s, v, e.getGroup(), e.getUser(), /*added=*/false);
    }
    case Kind::SUBSCRIPTION_PURCHASED:
      return OnSubscriptionPurchased(s, p.getSubscriptionPurchased());
    case Kind::SEAT_ASSIGNED: {
      const auto e = p.getSeatAssigned();
      return OnDirectSeat(s, v, e.getSubscription(), e.getUser(), /*assigned=*/true);
    }
    case Kind::SEAT_REVOKED: {
      const auto e = p.getSeatRevoked();
      return OnDirectSeat(s, v, e.getSubscription(), e.getUser(), /*assigned=*/false);
    }
    case Kind::GROUP_ASSIGNED: {
      const auto e = p.getGroupAssigned();
      return OnGroupOnSubscription(s, v, e.getSubscription(), e.getGroup(), /*assigned=*/true);
    }
    case Kind::GROUP_UNASSIGNED: {
      const auto e = p.getGroupUnassigned();
      return OnGroupOnSubscription(s, v, e.getSubscription(), e.getGroup(), /*assigned=*/false);
    }
    case Kind::SEATS_INCREASED:
      return OnSeatsChanged(s, p.getSeatsIncreased().getSubscription(),
                            p.getSeatsIncreased().getTo());
    case Kind::SEAT_DECREASE_SCHEDULED:
      return OnSeatDecreaseScheduled(s, p.getSeatDecreaseScheduled());
    case Kind::SEATS_DECREASED:
      return OnSeatsChanged(s, p.getSeatsDecreased().getSubscription(),
                            p.getSeatsDecreased().getTo());
    case Kind::SCHEDULED_CHANGE_CANCELLED:
      return OnScheduledChangeCancelled(s, p.getScheduledChangeCancelled());
    case Kind::EDITION_UPGRADED:
      return OnEditionChanged(s, p.getEditionUpgraded().getSubscription(),
                              p.getEditionUpgraded().getTo());
    case Kind::EDITION_DOWNGRADE_SCHEDULED:
      return OnEditionDowngradeScheduled(s, p.getEditionDowngradeScheduled());
    case Kind::EDITION_DOWNGRADED:
      return OnEditionChanged(s, p.getEditionDowngraded().getSubscription(),
                              p.getEditionDowngraded().getTo());
    case Kind::RENEWAL_CANCELLED:
      return OnAutoRenew(s, p.getRenewalCancelled().getSubscription(), false);
    case Kind::RENEWAL_RESUMED:
      return OnAutoRenew(s, p.getRenewalResumed().getSubscription(), true);
    case Kind::SUBSCRIPTION_RENEWED:
      return OnSubscriptionRenewed(s, p.getSubscriptionRenewed());
    case Kind::SUBSCRIPTION_EXPIRED:
      return OnSubscriptionExpired(s, p.getSubscriptionExpired());
    case Kind::TRIAL_CONVERTED:
      return OnTrialConverted(s, p.getTrialConverted());
    case Kind::TRIAL_EXPIRED:
      return OnTrialExpired(s, p.getTrialExpired());
    case Kind::PURCHASE_ORDER_SET:
      return OnPurchaseOrderSet(s, p.getPurchaseOrderSet());
    case Kind::LEASE_GRANTED:
      return OnLeaseGranted(s, event, p.getLeaseGranted());
    case Kind::LEASE_RELEASED:
      return OnLeaseEnded(s, p.getLeaseReleased().getSubscription(),
                          p.getLeaseReleased().getLease());
    case Kind::LEASE_EXPIRED:
      return OnLeaseEnded(s, p.getLeaseExpired().getSubscription(),
                          p.getLeaseExpired().getLease());
  }
  // A variant of a newer writer's schema (schema evolution): only the version advances.
}

void EvolveCatalog(Catalog* catalog, ledger::schema::Event::Reader event) {
  if (event.getPayload().which() != Kind::PRODUCT_DEFINED) return;
  auto e = event.getPayload().getProductDefined();
  std::vector<std::string> editions;
  for (auto ed : e.getEditions()) editions.emplace_back(ed);
  catalog->products[e.getProduct()] = std::move(editions);
}

std::string StatusAt(const Subscription& sub, Micros t) {
  if (sub.expired) return "expired";
  if (sub.trial_end != 0 && t >= sub.trial_end) return "expired";
  if (t >= sub.period_end && !sub.auto_renew) return "expired";
  if (sub.trial_end != 0) return "trial";
  if (!sub.auto_renew) return "cancelled";
  return "active";
}

}  // namespace commands

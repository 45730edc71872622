#include "projections/touched.h"

namespace projections {

Touched TouchedBy(ledger::schema::Event::Reader event) {
  using P = ledger::schema::Event::Payload;
  Touched t;
  auto user = [&](capnp::Text::Reader u) { t.users.emplace_back(u); };
  auto group = [&](capnp::Text::Reader g) { t.groups.emplace_back(g); };
  auto sub = [&](capnp::Text::Reader s) { t.subscriptions.emplace_back(s); };
  const auto p = event.getPayload();
  switch (p.which()) {
    case P::TENANT_CREATED:
      user(p.getTenantCreated().getOwner());
      break;
    case P::MEMBER_INVITED:
      user(p.getMemberInvited().getUser());
      break;
    case P::INVITATION_RESENT:
      user(p.getInvitationResent().getUser());
      break;
    case P::INVITATION_ACCEPTED:
      user(p.getInvitationAccepted().getUser());
      break;
    case P::MEMBER_REMOVED:
      user(p.getMemberRemoved().getUser());
      break;
    case P::ROLE_CHANGED:
      user(p.getRoleChanged().getUser());
      break;
    case P::OWNERSHIP_TRANSFERRED:
      user(p.getOwnershipTransferred().getFrom());
      user(p.getOwnershipTransferred().getTo());
      break;
    case P::GROUP_CREATED:
      group(p.getGroupCreated().getGroup());
      break;
    case P::GROUP_RENAMED:
      group(p.getGroupRenamed().getGroup());
      break;
    case P::GROUP_DELETED:
      group(p.getGroupDeleted().getGroup());
      break;
    case P::GROUP_MEMBER_ADDED:
      group(p.getGroupMemberAdded().getGroup());
      user(p.getGroupMemberAdded().getUser());
      break;
    case P::GROUP_MEMBER_REMOVED:
      group(p.getGroupMemberRemoved().getGroup());
      user(p.getGroupMemberRemoved().getUser());
      break;
    case P::SUBSCRIPTION_PURCHASED:
      sub(p.getSubscriptionPurchased().getSubscription());
      break;
    case P::SEAT_ASSIGNED:
      sub(p.getSeatAssigned().getSubscription());
      user(p.getSeatAssigned().getUser());
      break;
    case P::SEAT_REVOKED:
      sub(p.getSeatRevoked().getSubscription());
      user(p.getSeatRevoked().getUser());
      break;
    case P::GROUP_ASSIGNED:
      sub(p.getGroupAssigned().getSubscription());
      group(p.getGroupAssigned().getGroup());
      break;
    case P::GROUP_UNASSIGNED:
      sub(p.getGroupUnassigned().getSubscription());
      group(p.getGroupUnassigned().getGroup());
      break;
    case P::SEATS_INCREASED:
      sub(p.getSeatsIncreased().getSubscription());
      break;
    case P::SEAT_DECREASE_SCHEDULED:
      sub(p.getSeatDecreaseScheduled().getSubscription());
      break;
    case P::SEATS_DECREASED:
      sub(p.getSeatsDecreased().getSubscription());
      break;
    case P::SCHEDULED_CHANGE_CANCELLED:
      sub(p.getScheduledChangeCancelled().getSubscription());
      break;
    case P::EDITION_UPGRADED:
      sub(p.getEditionUpgraded().getSubscription());
      break;
    case P::EDITION_DOWNGRADE_SCHEDULED:
      sub(p.getEditionDowngradeScheduled().getSubscription());
      break;
    case P::EDITION_DOWNGRADED:
      sub(p.getEditionDowngraded().getSubscription());
      break;
    case P::RENEWAL_CANCELLED:
      sub(p.getRenewalCancelled().getSubscription());
      break;
    case P::RENEWAL_RESUMED:
      sub(p.getRenewalResumed().getSubscription());
      break;
    case P::SUBSCRIPTION_RENEWED:
      sub(p.getSubscriptionRenewed().getSubscription());
      break;
    case P::SUBSCRIPTION_EXPIRED:
      sub(p.getSubscriptionExpired().getSubscription());
      break;
    case P::TRIAL_CONVERTED:
      sub(p.getTrialConverted().getSubscription());
      break;
    case P::TRIAL_EXPIRED:
      sub(p.getTrialExpired().getSubscription());
      break;
    case P::PURCHASE_ORDER_SET:
      sub(p.getPurchaseOrderSet().getSubscription());
      break;
    case P::LEASE_GRANTED:
      sub(p.getLeaseGranted().getSubscription());
      user(p.getLeaseGranted().getUser());
      break;
    case P::LEASE_RELEASED:
      sub(p.getLeaseReleased().getSubscription());
      break;
    case P::LEASE_EXPIRED:
      sub(p.getLeaseExpired().getSubscription());
      break;
    case P::PRODUCT_DEFINED:  // the catalog stream: no tenant entity
    case P::UNKNOWN:
      break;
  }
  return t;
}

}  // namespace projections

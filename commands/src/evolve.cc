#include "commands/evolve.h"

namespace commands {
namespace {

using Kind = ledger::schema::Event::Payload::Which;

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

}  // namespace

void Evolve(TenantState* s, ledger::schema::Event::Reader event) {
  s->version = event.getVersion();
  s->position = event.getPosition();
  s->at = event.getRecordedAt();
  if (s->tenant.empty()) s->tenant = event.getTenant();
  const uint64_t v = event.getVersion();
  const auto p = event.getPayload();
  switch (p.which()) {
    case Kind::TENANT_CREATED: {
      auto e = p.getTenantCreated();
      s->exists = true;
      s->owner = e.getOwner();
      Member& m = s->members[s->owner];
      m.user = s->owner;
      m.email = e.getOwnerEmail();
      m.role = Role::OWNER;
      m.status = MemberStatus::kActive;
      m.invited_at = event.getEffectiveAt();
      break;
    }
    case Kind::MEMBER_INVITED: {
      auto e = p.getMemberInvited();
      Member& m = s->members[e.getUser()];
      m.user = e.getUser();
      m.email = e.getEmail();
      m.name = e.getName();
      m.role = e.getRole();
      m.status = MemberStatus::kInvited;
      m.invited_at = event.getEffectiveAt();
      break;
    }
    case Kind::INVITATION_RESENT:
      break;
    case Kind::INVITATION_ACCEPTED: {
      auto it = s->members.find(p.getInvitationAccepted().getUser());
      if (it != s->members.end()) it->second.status = MemberStatus::kActive;
      break;
    }
    case Kind::MEMBER_REMOVED: {
      const std::string user = p.getMemberRemoved().getUser();
      auto it = s->members.find(user);
      if (it != s->members.end()) it->second.status = MemberStatus::kRemoved;
      // Cascades were explicit events; drop any leftovers so no removed member holds a seat.
      for (auto& [gid, g] : s->groups) g.members.erase(user);
      for (auto& [sid, sub] : s->subscriptions) {
        sub.direct.erase(user);
        s->RefreshSeat(&sub, user, v);
      }
      break;
    }
    case Kind::ROLE_CHANGED: {
      auto e = p.getRoleChanged();
      auto it = s->members.find(e.getUser());
      if (it != s->members.end()) it->second.role = e.getTo();
      break;
    }
    case Kind::OWNERSHIP_TRANSFERRED: {
      auto e = p.getOwnershipTransferred();
      auto from = s->members.find(e.getFrom());
      if (from != s->members.end()) from->second.role = e.getPreviousOwnerRole();
      auto to = s->members.find(e.getTo());
      if (to != s->members.end()) to->second.role = Role::OWNER;
      s->owner = e.getTo();
      break;
    }
    case Kind::GROUP_CREATED: {
      auto e = p.getGroupCreated();
      Group& g = s->groups[e.getGroup()];
      g.group = e.getGroup();
      g.name = e.getName();
      g.members.clear();
      break;
    }
    case Kind::GROUP_RENAMED: {
      auto e = p.getGroupRenamed();
      auto it = s->groups.find(e.getGroup());
      if (it != s->groups.end()) it->second.name = e.getName();
      break;
    }
    case Kind::GROUP_DELETED: {
      const std::string group = p.getGroupDeleted().getGroup();
      s->groups.erase(group);
      for (auto& [sid, sub] : s->subscriptions) {
        if (sub.groups.erase(group) > 0) s->RefreshSeats(&sub, v);
      }
      break;
    }
    case Kind::GROUP_MEMBER_ADDED: {
      auto e = p.getGroupMemberAdded();
      auto it = s->groups.find(e.getGroup());
      if (it != s->groups.end()) {
        const std::string user = e.getUser();
        it->second.members.insert(user);
        RefreshGroupSubscriptions(s, it->first, user, v);
      }
      break;
    }
    case Kind::GROUP_MEMBER_REMOVED: {
      auto e = p.getGroupMemberRemoved();
      auto it = s->groups.find(e.getGroup());
      if (it != s->groups.end()) {
        const std::string user = e.getUser();
        it->second.members.erase(user);
        RefreshGroupSubscriptions(s, it->first, user, v);
      }
      break;
    }
    case Kind::SUBSCRIPTION_PURCHASED: {
      auto e = p.getSubscriptionPurchased();
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
      break;
    }
    case Kind::SEAT_ASSIGNED: {
      auto e = p.getSeatAssigned();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        const std::string user = e.getUser();
        sub->direct.insert(user);
        s->RefreshSeat(sub, user, v);
      }
      break;
    }
    case Kind::SEAT_REVOKED: {
      auto e = p.getSeatRevoked();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        const std::string user = e.getUser();
        sub->direct.erase(user);
        s->RefreshSeat(sub, user, v);
      }
      break;
    }
    case Kind::GROUP_ASSIGNED: {
      auto e = p.getGroupAssigned();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        sub->groups.insert(e.getGroup());
        s->RefreshSeats(sub, v);
      }
      break;
    }
    case Kind::GROUP_UNASSIGNED: {
      auto e = p.getGroupUnassigned();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        sub->groups.erase(e.getGroup());
        s->RefreshSeats(sub, v);
      }
      break;
    }
    case Kind::SEATS_INCREASED: {
      auto e = p.getSeatsIncreased();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        sub->seats = e.getTo();
        sub->pending_decrease.reset();  // a later resize replaces a pending one
      }
      break;
    }
    case Kind::SEAT_DECREASE_SCHEDULED: {
      auto e = p.getSeatDecreaseScheduled();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        sub->pending_decrease =
            PendingChange{"seat_decrease", e.getSeats(), "", e.getEffectiveAt()};
      }
      break;
    }
    case Kind::SEATS_DECREASED: {
      auto e = p.getSeatsDecreased();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        sub->seats = e.getTo();
        sub->pending_decrease.reset();
      }
      break;
    }
    case Kind::SCHEDULED_CHANGE_CANCELLED: {
      auto e = p.getScheduledChangeCancelled();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        const std::string change = e.getChange();
        if (change == "seat_decrease") sub->pending_decrease.reset();
        if (change == "edition_downgrade") sub->pending_downgrade.reset();
      }
      break;
    }
    case Kind::EDITION_UPGRADED: {
      auto e = p.getEditionUpgraded();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        sub->edition = e.getTo();
        sub->pending_downgrade.reset();
      }
      break;
    }
    case Kind::EDITION_DOWNGRADE_SCHEDULED: {
      auto e = p.getEditionDowngradeScheduled();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        sub->pending_downgrade =
            PendingChange{"edition_downgrade", 0, e.getEdition(), e.getEffectiveAt()};
      }
      break;
    }
    case Kind::EDITION_DOWNGRADED: {
      auto e = p.getEditionDowngraded();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        sub->edition = e.getTo();
        sub->pending_downgrade.reset();
      }
      break;
    }
    case Kind::RENEWAL_CANCELLED: {
      if (Subscription* sub = FindSub(s, p.getRenewalCancelled().getSubscription())) {
        sub->auto_renew = false;
      }
      break;
    }
    case Kind::RENEWAL_RESUMED: {
      if (Subscription* sub = FindSub(s, p.getRenewalResumed().getSubscription())) {
        sub->auto_renew = true;
      }
      break;
    }
    case Kind::SUBSCRIPTION_RENEWED: {
      auto e = p.getSubscriptionRenewed();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        sub->period_start = e.getPeriodStart();
        sub->period_end = e.getPeriodEnd();
      }
      break;
    }
    case Kind::SUBSCRIPTION_EXPIRED: {
      if (Subscription* sub = FindSub(s, p.getSubscriptionExpired().getSubscription())) {
        sub->expired = true;
        sub->pending_decrease.reset();
        sub->pending_downgrade.reset();
      }
      break;
    }
    case Kind::TRIAL_CONVERTED: {
      auto e = p.getTrialConverted();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        sub->trial_end = 0;
        if (e.hasEdition() && e.getEdition().size() > 0) sub->edition = e.getEdition();
        if (e.getSeats() > 0) sub->seats = e.getSeats();
      }
      break;
    }
    case Kind::TRIAL_EXPIRED: {
      if (Subscription* sub = FindSub(s, p.getTrialExpired().getSubscription())) {
        sub->expired = true;
      }
      break;
    }
    case Kind::PURCHASE_ORDER_SET: {
      auto e = p.getPurchaseOrderSet();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        sub->purchase_order = e.getPurchaseOrder();
      }
      break;
    }
    case Kind::LEASE_GRANTED: {
      auto e = p.getLeaseGranted();
      if (Subscription* sub = FindSub(s, e.getSubscription())) {
        Lease& lease = sub->leases[e.getLease()];
        lease.user = e.getUser();
        lease.device = e.getDevice();
        lease.granted_at = event.getEffectiveAt();
        lease.expires_at = e.getExpiresAt();
      }
      break;
    }
    case Kind::LEASE_RELEASED: {
      auto e = p.getLeaseReleased();
      if (Subscription* sub = FindSub(s, e.getSubscription())) sub->leases.erase(e.getLease());
      break;
    }
    case Kind::LEASE_EXPIRED: {
      auto e = p.getLeaseExpired();
      if (Subscription* sub = FindSub(s, e.getSubscription())) sub->leases.erase(e.getLease());
      break;
    }
    default:
      // product_defined lives in the catalog stream; unknown variants from newer writers
      // are skipped (schema evolution).
      break;
  }
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

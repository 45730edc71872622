#include "replay/summary.h"

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

namespace replay {
namespace {

using Payload = ledger::schema::Event::Payload;

constexpr char kUnknown[] = "unknown event";

std::string_view Str(capnp::Text::Reader text) { return {text.cStr(), text.size()}; }

std::string_view RoleName(ledger::schema::Role role) {
  switch (role) {
    case ledger::schema::Role::OWNER:
      return "owner";
    case ledger::schema::Role::ADMIN:
      return "admin";
    case ledger::schema::Role::USER_MANAGER:
      return "user_manager";
    case ledger::schema::Role::MEMBER:
      return "member";
  }
  return "unknown role";
}

// A time for people: the date alone at midnight UTC (period ends, renewal dates), else
// RFC 3339.
std::string Day(ledger::Micros t) {
  const std::string text = ledger::FormatRfc3339(t);
  return t % ledger::kMicrosPerDay == 0 ? text.substr(0, 10) : text;
}

// "seat_decrease" → "seat decrease".
std::string Words(std::string_view snake) {
  std::string out(snake);
  for (char& c : out) c = c == '_' ? ' ' : c;
  return out;
}

std::string Purchased(Payload::Reader p) {
  const auto s = p.getSubscriptionPurchased();
  const bool concurrent = s.getSeatModel() == ledger::schema::SeatModel::CONCURRENT;
  std::string terms =
      fmt::format("{} {}, {} {} seat{}, {} → {}", Str(s.getProduct()), Str(s.getEdition()),
                  s.getSeats(), concurrent ? "concurrent" : "named", s.getSeats() == 1 ? "" : "s",
                  Day(s.getPeriodStart()), Day(s.getPeriodEnd()));
  if (s.getTrialEnd() != 0) terms += ", trial until " + Day(s.getTrialEnd());
  if (s.getAddOnOf().size() != 0) terms += fmt::format(", add-on of {}", Str(s.getAddOnOf()));
  if (!s.getAutoRenew()) terms += ", not renewing";
  return fmt::format("subscription {} purchased ({})", Str(s.getSubscription()), terms);
}

std::string Invited(Payload::Reader p) {
  const auto m = p.getMemberInvited();
  const std::string contact = m.getName().size() == 0
                                  ? std::string(Str(m.getEmail()))
                                  : fmt::format("{} <{}>", Str(m.getName()), Str(m.getEmail()));
  return fmt::format("{} invited as {} ({})", Str(m.getUser()), RoleName(m.getRole()), contact);
}

std::string Converted(Payload::Reader p) {
  const auto t = p.getTrialConverted();
  return fmt::format("trial of {} converted to {} with {} seat{}", Str(t.getSubscription()),
                     Str(t.getEdition()), t.getSeats(), t.getSeats() == 1 ? "" : "s");
}

std::string LeaseGranted(Payload::Reader p) {
  const auto l = p.getLeaseGranted();
  return fmt::format("lease {} of {} granted to {} on {} until {}", Str(l.getLease()),
                     Str(l.getSubscription()), Str(l.getUser()), Str(l.getDevice()),
                     ledger::FormatRfc3339(l.getExpiresAt()));
}

std::string TenantCreated(Payload::Reader p) {
  const auto t = p.getTenantCreated();
  return fmt::format("tenant created with owner {} ({})", Str(t.getOwner()),
                     Str(t.getOwnerEmail()));
}

std::string ProductDefined(Payload::Reader p) {
  const auto d = p.getProductDefined();
  std::vector<std::string_view> editions;
  for (auto e : d.getEditions()) editions.push_back(Str(e));
  return fmt::format("product {} defined with editions {}", Str(d.getProduct()),
                     fmt::join(editions, " < "));
}

std::string RoleChanged(Payload::Reader p) {
  const auto r = p.getRoleChanged();
  return fmt::format("role of {} changed {} → {}", Str(r.getUser()), RoleName(r.getFrom()),
                     RoleName(r.getTo()));
}

std::string OwnershipTransferred(Payload::Reader p) {
  const auto o = p.getOwnershipTransferred();
  return fmt::format("ownership transferred {} → {} ({} is now {})", Str(o.getFrom()),
                     Str(o.getTo()), Str(o.getFrom()), RoleName(o.getPreviousOwnerRole()));
}

std::string GroupCreated(Payload::Reader p) {
  const auto g = p.getGroupCreated();
  return fmt::format("group {} created (\"{}\")", Str(g.getGroup()), Str(g.getName()));
}

std::string GroupRenamed(Payload::Reader p) {
  const auto g = p.getGroupRenamed();
  return fmt::format("group {} renamed to \"{}\"", Str(g.getGroup()), Str(g.getName()));
}

std::string GroupMemberAdded(Payload::Reader p) {
  const auto g = p.getGroupMemberAdded();
  return fmt::format("{} added to group {}", Str(g.getUser()), Str(g.getGroup()));
}

std::string GroupMemberRemoved(Payload::Reader p) {
  const auto g = p.getGroupMemberRemoved();
  return fmt::format("{} removed from group {}", Str(g.getUser()), Str(g.getGroup()));
}

std::string GroupAssigned(Payload::Reader p) {
  const auto g = p.getGroupAssigned();
  return fmt::format("group {} assigned to {}", Str(g.getGroup()), Str(g.getSubscription()));
}

std::string GroupUnassigned(Payload::Reader p) {
  const auto g = p.getGroupUnassigned();
  return fmt::format("group {} unassigned from {}", Str(g.getGroup()), Str(g.getSubscription()));
}

std::string SeatAssigned(Payload::Reader p) {
  const auto s = p.getSeatAssigned();
  return fmt::format("seat of {} assigned to {}", Str(s.getSubscription()), Str(s.getUser()));
}

std::string SeatRevoked(Payload::Reader p) {
  const auto s = p.getSeatRevoked();
  return fmt::format("seat of {} revoked from {}", Str(s.getSubscription()), Str(s.getUser()));
}

std::string SeatsIncreased(Payload::Reader p) {
  const auto s = p.getSeatsIncreased();
  return fmt::format("seats of {} increased {} → {}", Str(s.getSubscription()), s.getFrom(),
                     s.getTo());
}

std::string SeatDecreaseScheduled(Payload::Reader p) {
  const auto s = p.getSeatDecreaseScheduled();
  return fmt::format("seats of {} to decrease to {} on {}", Str(s.getSubscription()), s.getSeats(),
                     Day(s.getEffectiveAt()));
}

std::string SeatsDecreased(Payload::Reader p) {
  const auto s = p.getSeatsDecreased();
  return fmt::format("seats of {} decreased {} → {}", Str(s.getSubscription()), s.getFrom(),
                     s.getTo());
}

std::string ScheduledChangeCancelled(Payload::Reader p) {
  const auto s = p.getScheduledChangeCancelled();
  return fmt::format("scheduled {} of {} cancelled", Words(Str(s.getChange())),
                     Str(s.getSubscription()));
}

std::string EditionUpgraded(Payload::Reader p) {
  const auto e = p.getEditionUpgraded();
  return fmt::format("edition of {} upgraded {} → {}", Str(e.getSubscription()), Str(e.getFrom()),
                     Str(e.getTo()));
}

std::string EditionDowngradeScheduled(Payload::Reader p) {
  const auto e = p.getEditionDowngradeScheduled();
  return fmt::format("edition of {} to downgrade to {} on {}", Str(e.getSubscription()),
                     Str(e.getEdition()), Day(e.getEffectiveAt()));
}

std::string EditionDowngraded(Payload::Reader p) {
  const auto e = p.getEditionDowngraded();
  return fmt::format("edition of {} downgraded {} → {}", Str(e.getSubscription()), Str(e.getFrom()),
                     Str(e.getTo()));
}

std::string SubscriptionRenewed(Payload::Reader p) {
  const auto r = p.getSubscriptionRenewed();
  return fmt::format("subscription {} renewed until {}", Str(r.getSubscription()),
                     Day(r.getPeriodEnd()));
}

std::string PurchaseOrderSet(Payload::Reader p) {
  const auto o = p.getPurchaseOrderSet();
  return fmt::format("purchase order of {} set to {}", Str(o.getSubscription()),
                     Str(o.getPurchaseOrder()));
}

std::string LeaseReleased(Payload::Reader p) {
  const auto l = p.getLeaseReleased();
  return fmt::format("lease {} of {} released", Str(l.getLease()), Str(l.getSubscription()));
}

std::string LeaseExpired(Payload::Reader p) {
  const auto l = p.getLeaseExpired();
  return fmt::format("lease {} of {} expired", Str(l.getLease()), Str(l.getSubscription()));
}

// What happened, without who did it. No `default`: the compiler (-Wswitch) insists that
// every variant of this build's schema has its words; variants of a newer schema fall
// through to their type name.
std::string What(Payload::Reader p) {
  switch (p.which()) {
    case Payload::TENANT_CREATED:
      return TenantCreated(p);
    case Payload::PRODUCT_DEFINED:
      return ProductDefined(p);
    case Payload::MEMBER_INVITED:
      return Invited(p);
    case Payload::INVITATION_RESENT:
      return fmt::format("invitation of {} resent", Str(p.getInvitationResent().getUser()));
    case Payload::INVITATION_ACCEPTED:
      return fmt::format("invitation of {} accepted", Str(p.getInvitationAccepted().getUser()));
    case Payload::MEMBER_REMOVED:
      return fmt::format("member {} removed", Str(p.getMemberRemoved().getUser()));
    case Payload::ROLE_CHANGED:
      return RoleChanged(p);
    case Payload::OWNERSHIP_TRANSFERRED:
      return OwnershipTransferred(p);
    case Payload::GROUP_CREATED:
      return GroupCreated(p);
    case Payload::GROUP_RENAMED:
      return GroupRenamed(p);
    case Payload::GROUP_DELETED:
      return fmt::format("group {} deleted", Str(p.getGroupDeleted().getGroup()));
    case Payload::GROUP_MEMBER_ADDED:
      return GroupMemberAdded(p);
    case Payload::GROUP_MEMBER_REMOVED:
      return GroupMemberRemoved(p);
    case Payload::GROUP_ASSIGNED:
      return GroupAssigned(p);
    case Payload::GROUP_UNASSIGNED:
      return GroupUnassigned(p);
    case Payload::SEAT_ASSIGNED:
      return SeatAssigned(p);
    case Payload::SEAT_REVOKED:
      return SeatRevoked(p);
    case Payload::SEATS_INCREASED:
      return SeatsIncreased(p);
    case Payload::SEAT_DECREASE_SCHEDULED:
      return SeatDecreaseScheduled(p);
    case Payload::SEATS_DECREASED:
      return SeatsDecreased(p);
    case Payload::SCHEDULED_CHANGE_CANCELLED:
      return ScheduledChangeCancelled(p);
    case Payload::SUBSCRIPTION_PURCHASED:
      return Purchased(p);
    case Payload::EDITION_UPGRADED:
      return EditionUpgraded(p);
    case Payload::EDITION_DOWNGRADE_SCHEDULED:
      return EditionDowngradeScheduled(p);
    case Payload::EDITION_DOWNGRADED:
      return EditionDowngraded(p);
    case Payload::RENEWAL_CANCELLED:
      return fmt::format("renewal of {} cancelled", Str(p.getRenewalCancelled().getSubscription()));
    case Payload::RENEWAL_RESUMED:
      return fmt::format("renewal of {} resumed", Str(p.getRenewalResumed().getSubscription()));
    case Payload::SUBSCRIPTION_RENEWED:
      return SubscriptionRenewed(p);
    case Payload::SUBSCRIPTION_EXPIRED:
      return fmt::format("subscription {} expired",
                         Str(p.getSubscriptionExpired().getSubscription()));
    case Payload::TRIAL_CONVERTED:
      return Converted(p);
    case Payload::TRIAL_EXPIRED:
      return fmt::format("trial of {} expired", Str(p.getTrialExpired().getSubscription()));
    case Payload::PURCHASE_ORDER_SET:
      return PurchaseOrderSet(p);
    case Payload::LEASE_GRANTED:
      return LeaseGranted(p);
    case Payload::LEASE_RELEASED:
      return LeaseReleased(p);
    case Payload::LEASE_EXPIRED:
      return LeaseExpired(p);
    case Payload::UNKNOWN:
      break;
  }
  return kUnknown;
}

}  // namespace

std::string Summary(ledger::schema::Event::Reader event) {
  std::string out = fmt::format("{} by {}", What(event.getPayload()), Str(event.getActor()));
  const std::string_view reason = Str(event.getReason());
  if (event.getEffectiveAt() < event.getRecordedAt()) {
    out += " (backdated to " + ledger::FormatRfc3339(event.getEffectiveAt());
    out += reason.empty() ? ")" : fmt::format(": {})", reason);
  } else if (!reason.empty()) {
    out += fmt::format(" — {}", reason);
  }
  return out;
}

}  // namespace replay

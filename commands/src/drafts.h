// Builders of event drafts, one per payload variant used by the decisions (internal).
#pragma once

#include <string>

#include "commands/state.h"
#include "ledger/event.h"

namespace commands::drafts {

using ledger::EventDraft;

EventDraft TenantCreated(const std::string& owner, const std::string& email);
EventDraft ProductDefined(const std::string& product, const std::vector<std::string>& editions);
EventDraft MemberInvited(const std::string& user, const std::string& email, Role role,
                         const std::string& name);
EventDraft InvitationResent(const std::string& user);
EventDraft InvitationAccepted(const std::string& user);
EventDraft MemberRemoved(const std::string& user);
EventDraft RoleChanged(const std::string& user, Role from, Role to);
EventDraft OwnershipTransferred(const std::string& from, const std::string& to, Role previous);
EventDraft GroupCreated(const std::string& group, const std::string& name);
EventDraft GroupRenamed(const std::string& group, const std::string& name);
EventDraft GroupDeleted(const std::string& group);
EventDraft GroupMemberAdded(const std::string& group, const std::string& user);
EventDraft GroupMemberRemoved(const std::string& group, const std::string& user);
EventDraft SeatAssigned(const std::string& sub, const std::string& user);
EventDraft SeatRevoked(const std::string& sub, const std::string& user);
EventDraft GroupAssigned(const std::string& sub, const std::string& group);
EventDraft GroupUnassigned(const std::string& sub, const std::string& group);
EventDraft SeatsIncreased(const std::string& sub, uint32_t from, uint32_t to);
EventDraft SeatDecreaseScheduled(const std::string& sub, uint32_t seats, Micros at);
EventDraft SeatsDecreased(const std::string& sub, uint32_t from, uint32_t to);
EventDraft ScheduledChangeCancelled(const std::string& sub, const std::string& change);
EventDraft EditionUpgraded(const std::string& sub, const std::string& from, const std::string& to);
EventDraft EditionDowngradeScheduled(const std::string& sub, const std::string& edition, Micros at);
EventDraft EditionDowngraded(const std::string& sub, const std::string& from,
                             const std::string& to);
EventDraft RenewalCancelled(const std::string& sub);
EventDraft RenewalResumed(const std::string& sub);
EventDraft SubscriptionRenewed(const std::string& sub, Micros start, Micros end);
EventDraft SubscriptionExpired(const std::string& sub);
EventDraft TrialConverted(const std::string& sub, const std::string& edition, uint32_t seats);
EventDraft TrialExpired(const std::string& sub);
EventDraft PurchaseOrderSet(const std::string& sub, const std::string& po);
EventDraft LeaseGranted(const std::string& sub, const std::string& lease, const Lease& granted);
EventDraft LeaseReleased(const std::string& sub, const std::string& lease);
EventDraft LeaseExpired(const std::string& sub, const std::string& lease);

}  // namespace commands::drafts

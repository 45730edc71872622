// Decisions on subscriptions: purchase (R5), seats (R6), groups on subscriptions (R7),
// resize (R8), editions (R9), renewal (R10), trials (R11), purchase orders (R12).
#include "commands/evolve.h"
#include "decide_internal.h"

namespace commands::internal {
namespace {

Decided Expired(const Subscription& sub) {
  return Reject("subscription_expired", "subscription: '" + sub.subscription + "' has expired");
}

bool IsExpired(const Ctx& c, const Subscription& sub) { return StatusAt(sub, c.now) == "expired"; }

Decided Purchase(const Ctx& c) {
  if (auto r = CheckAdmin(c, "purchase subscriptions")) return std::move(*r);
  const Command& cmd = c.cmd;
  if (c.state.subscriptions.count(cmd.subscription) > 0) {
    return Reject("already_exists", "subscription: '" + cmd.subscription + "' exists");
  }
  auto product = c.catalog.products.find(cmd.product);
  if (product == c.catalog.products.end()) {
    return Reject("not_found", "product: '" + cmd.product + "' is not defined");
  }
  if (c.catalog.EditionRank(cmd.product, cmd.edition) < 0) {
    return Reject("bad_request",
                  "edition: '" + cmd.edition + "' is not an edition of '" + cmd.product + "'");
  }
  if (!cmd.add_on_of.empty() && c.state.subscriptions.count(cmd.add_on_of) == 0) {
    return Reject("not_found", "add_on_of: subscription '" + cmd.add_on_of + "' does not exist");
  }
  if (cmd.seat_model != "concurrent" && cmd.lease_ttl_seconds) {
    return Reject("bad_request", "lease_ttl_seconds: only for seat_model concurrent");
  }
  ledger::EventDraft d;
  auto e = d.payload().initSubscriptionPurchased();
  e.setSubscription(cmd.subscription);
  e.setProduct(cmd.product);
  e.setEdition(cmd.edition);
  e.setSeats(*cmd.seats);
  e.setSeatModel(cmd.seat_model.empty() ? SeatModel::NAMED : *ParseSeatModel(cmd.seat_model));
  e.setPeriodStart(*cmd.period_start);
  e.setPeriodEnd(*cmd.period_end);
  e.setAutoRenew(cmd.auto_renew.value_or(true));
  e.setOverage(cmd.overage.empty() ? Overage::LOCK_ALL : *ParseOverage(cmd.overage));
  e.setMaxGroups(cmd.max_groups.value_or(0));
  e.setAddOnOf(cmd.add_on_of);
  e.setTrialEnd(cmd.trial_days ? *cmd.period_start + *cmd.trial_days * ledger::kMicrosPerDay : 0);
  e.setLeaseTtlSeconds(cmd.lease_ttl_seconds.value_or(0));
  return One(std::move(d));
}

Decided AssignSeat(const Ctx& c, const Subscription& sub) {
  const Member* m = c.state.FindMember(c.cmd.user);
  if (auto r = CheckMemberManagement(c, m ? m->role : Role::MEMBER)) return std::move(*r);
  if (!c.state.IsCurrentMember(c.cmd.user)) {
    return Reject("not_member",
                  "user: '" + c.cmd.user + "' is not a member of '" + c.cmd.tenant + "'");
  }
  if (sub.direct.count(c.cmd.user) > 0) {
    return Reject("already_assigned",
                  "user: '" + c.cmd.user + "' already has a seat of '" + sub.subscription + "'");
  }
  if (IsExpired(c, sub)) return Expired(sub);
  if (sub.seat_model == SeatModel::NAMED && !c.state.HoldsSeat(sub, c.cmd.user)) {
    const size_t holders = c.state.AssignedCount(sub);
    if (holders >= sub.seats) {
      return Reject("seat_limit_reached",
                    fmt::format("subscription: all {} seats of '{}' are taken ({} users)",
                                sub.seats, sub.subscription, holders));
    }
  }
  return One(drafts::SeatAssigned(sub.subscription, c.cmd.user));
}

Decided RevokeSeat(const Ctx& c, const Subscription& sub) {
  const Member* m = c.state.FindMember(c.cmd.user);
  if (auto r = CheckMemberManagement(c, m ? m->role : Role::MEMBER)) return std::move(*r);
  if (sub.direct.count(c.cmd.user) == 0) {
    if (c.state.HoldsSeat(sub, c.cmd.user)) {
      return Reject("seat_inherited_from_group",
                    "user: '" + c.cmd.user +
                        "' holds the seat through a group; remove them "
                        "from the group or unassign the group");
    }
    return Reject("not_assigned",
                  "user: '" + c.cmd.user + "' has no seat of '" + sub.subscription + "'");
  }
  return One(drafts::SeatRevoked(sub.subscription, c.cmd.user));
}

Decided AssignGroup(const Ctx& c, const Subscription& sub, bool assign) {
  if (auto r = CheckAdmin(c, "assign groups to subscriptions")) return std::move(*r);
  if (c.state.groups.count(c.cmd.group) == 0) {
    return Reject("not_found", "group: '" + c.cmd.group + "' does not exist");
  }
  const bool assigned = sub.groups.count(c.cmd.group) > 0;
  if (assign) {
    if (assigned) {
      return Reject("already_assigned", "group: '" + c.cmd.group + "' is already assigned to '" +
                                            sub.subscription + "'");
    }
    if (IsExpired(c, sub)) return Expired(sub);
    // Never fails for capacity: an excess shows as a violation (R7).
    return One(drafts::GroupAssigned(sub.subscription, c.cmd.group));
  }
  if (!assigned) {
    return Reject("not_assigned",
                  "group: '" + c.cmd.group + "' is not assigned to '" + sub.subscription + "'");
  }
  return One(drafts::GroupUnassigned(sub.subscription, c.cmd.group));
}

Decided Resize(const Ctx& c, const Subscription& sub) {
  if (auto r = CheckAdmin(c, "resize subscriptions")) return std::move(*r);
  if (IsExpired(c, sub)) return Expired(sub);
  const uint32_t seats = *c.cmd.seats;
  std::vector<ledger::EventDraft> events;
  if (seats > sub.seats) {
    if (sub.pending_decrease) {
      events.push_back(drafts::ScheduledChangeCancelled(sub.subscription, "seat_decrease"));
    }
    events.push_back(drafts::SeatsIncreased(sub.subscription, sub.seats, seats));
  } else if (seats < sub.seats) {
    if (sub.pending_decrease && sub.pending_decrease->seats == seats) {
      return Reject("bad_request",
                    fmt::format("seats: a decrease to {} is already scheduled", seats));
    }
    events.push_back(drafts::SeatDecreaseScheduled(sub.subscription, seats, sub.period_end));
  } else if (sub.pending_decrease) {
    // Back to the current size: the pending decrease is dropped.
    events.push_back(drafts::ScheduledChangeCancelled(sub.subscription, "seat_decrease"));
  } else {
    return Reject("bad_request",
                  fmt::format("seats: the subscription already has {} seats", seats));
  }
  return Accept(std::move(events));
}

Decided CancelScheduled(const Ctx& c, const Subscription& sub) {
  if (auto r = CheckAdmin(c, "cancel scheduled changes")) return std::move(*r);
  std::vector<ledger::EventDraft> events;
  const std::string& which = c.cmd.change;
  if (sub.pending_decrease && (which.empty() || which == "seat_decrease")) {
    events.push_back(drafts::ScheduledChangeCancelled(sub.subscription, "seat_decrease"));
  }
  if (sub.pending_downgrade && (which.empty() || which == "edition_downgrade")) {
    events.push_back(drafts::ScheduledChangeCancelled(sub.subscription, "edition_downgrade"));
  }
  if (events.empty()) {
    return Reject("no_scheduled_change", "subscription: '" + sub.subscription + "' has no " +
                                             (which.empty() ? "scheduled change" : which) +
                                             " pending");
  }
  return Accept(std::move(events));
}

Decided ChangeEdition(const Ctx& c, const Subscription& sub) {
  if (auto r = CheckAdmin(c, "change editions")) return std::move(*r);
  if (IsExpired(c, sub)) return Expired(sub);
  const int to = c.catalog.EditionRank(sub.product, c.cmd.edition);
  if (to < 0) {
    return Reject("bad_request",
                  "edition: '" + c.cmd.edition + "' is not an edition of '" + sub.product + "'");
  }
  const int from = c.catalog.EditionRank(sub.product, sub.edition);
  if (to > from) {
    std::vector<ledger::EventDraft> events;
    if (sub.pending_downgrade) {
      events.push_back(drafts::ScheduledChangeCancelled(sub.subscription, "edition_downgrade"));
    }
    events.push_back(drafts::EditionUpgraded(sub.subscription, sub.edition, c.cmd.edition));
    return Accept(std::move(events));
  }
  if (to < from) {
    if (sub.pending_downgrade && sub.pending_downgrade->edition == c.cmd.edition) {
      return Reject("bad_request", "edition: this downgrade is already scheduled");
    }
    return One(drafts::EditionDowngradeScheduled(sub.subscription, c.cmd.edition, sub.period_end));
  }
  if (sub.pending_downgrade) {
    return One(drafts::ScheduledChangeCancelled(sub.subscription, "edition_downgrade"));
  }
  return Reject("bad_request", "edition: the subscription is already " + sub.edition);
}

Decided Renewal(const Ctx& c, const Subscription& sub, bool cancel) {
  if (auto r = CheckAdmin(c, "change renewal")) return std::move(*r);
  if (IsExpired(c, sub)) return Expired(sub);
  if (cancel) {
    if (!sub.auto_renew) {
      return Reject("renewal_already_cancelled",
                    "subscription: '" + sub.subscription + "' will already not renew");
    }
    return One(drafts::RenewalCancelled(sub.subscription));
  }
  if (sub.auto_renew) {
    return Reject("renewal_not_cancelled",
                  "subscription: '" + sub.subscription + "' already renews");
  }
  return One(drafts::RenewalResumed(sub.subscription));
}

Decided ConvertTrial(const Ctx& c, const Subscription& sub) {
  if (auto r = CheckAdmin(c, "convert trials")) return std::move(*r);
  if (IsExpired(c, sub)) return Expired(sub);
  if (sub.trial_end == 0) {
    return Reject("not_trial", "subscription: '" + sub.subscription + "' is not a trial");
  }
  if (!c.cmd.edition.empty() && c.catalog.EditionRank(sub.product, c.cmd.edition) < 0) {
    return Reject("bad_request",
                  "edition: '" + c.cmd.edition + "' is not an edition of '" + sub.product + "'");
  }
  return One(drafts::TrialConverted(sub.subscription, c.cmd.edition, c.cmd.seats.value_or(0)));
}

}  // namespace

Decided DecideSubscriptions(const Ctx& c) {
  const std::string& t = c.cmd.type;
  if (t == "purchase_subscription") return Purchase(c);
  Decided missing;
  const Subscription* sub = FindSubscription(c, &missing);
  if (sub == nullptr) return missing;
  if (t == "assign_seat") return AssignSeat(c, *sub);
  if (t == "revoke_seat") return RevokeSeat(c, *sub);
  if (t == "assign_group") return AssignGroup(c, *sub, true);
  if (t == "unassign_group") return AssignGroup(c, *sub, false);
  if (t == "resize") return Resize(c, *sub);
  if (t == "cancel_scheduled_change") return CancelScheduled(c, *sub);
  if (t == "change_edition") return ChangeEdition(c, *sub);
  if (t == "cancel_renewal") return Renewal(c, *sub, true);
  if (t == "resume_renewal") return Renewal(c, *sub, false);
  if (t == "convert_trial") return ConvertTrial(c, *sub);
  if (t == "set_purchase_order") {
    if (auto r = CheckAdmin(c, "set purchase orders")) return std::move(*r);
    if (sub->purchase_order == c.cmd.purchase_order) {
      return Reject("bad_request", "purchase_order: already set to this value");
    }
    return One(drafts::PurchaseOrderSet(sub->subscription, c.cmd.purchase_order));
  }
  return Reject("bad_request", "type: '" + t + "' is not a subscription command");
}

}  // namespace commands::internal

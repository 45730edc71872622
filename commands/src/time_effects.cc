// R15: the effects that fall due with time — trial ends, renewals (with scheduled changes
// applied as their own events) and expiries.
#include <algorithm>

#include "commands/decide.h"
#include "drafts.h"

namespace commands {
namespace {

struct Due {
  Micros at;
  std::string subscription;
  int order;  // keeps a subscription's own effects in sequence
  ledger::EventDraft event;
};

}  // namespace

std::vector<ledger::EventDraft> DueEffects(const TenantState& state, Micros t, bool expire_leases) {
  std::vector<Due> due;
  for (const auto& entry : state.subscriptions) {
    // Not a structured binding: clang 14 cannot capture those in the lambda below.
    const std::string& id = entry.first;
    const Subscription& sub = entry.second;
    int order = 0;
    auto add = [&](Micros at, ledger::EventDraft e) {
      e.effective_at = at;
      e.actor = kSystemActor;
      // Recorded when the ledger next looks, effective when it fell due (DESIGN 4).
      e.reason = "fell due at " + ledger::FormatRfc3339(at);
      due.push_back(Due{at, id, order++, std::move(e)});
    };
    if (expire_leases) {
      // R19: a lease not renewed by its expiry ends then.
      for (const auto& [lease_id, lease] : sub.leases) {
        if (lease.expires_at <= t) add(lease.expires_at, drafts::LeaseExpired(id, lease_id));
      }
    }
    if (sub.expired) continue;
    if (sub.trial_end != 0 && sub.trial_end <= sub.period_end) {
      // A trial ends unless converted (a trial outliving its period is handled below as
      // a period first; its trial end comes due on a later look).
      if (sub.trial_end <= t) add(sub.trial_end, drafts::TrialExpired(id));
      continue;
    }
    if (sub.period_end > t) continue;
    if (!sub.auto_renew) {
      add(sub.period_end, drafts::SubscriptionExpired(id));
      continue;
    }
    // Periods of whole calendar months renew on the anniversary (R10); others keep
    // their exact length.
    const std::optional<int> months = ledger::WholeMonthsBetween(sub.period_start, sub.period_end);
    const Micros length = sub.period_end - sub.period_start;
    auto next = [&](Micros start) {
      return months ? ledger::AddMonths(start, *months) : start + length;
    };
    if (sub.pending_decrease) {
      add(sub.period_end, drafts::SeatsDecreased(id, sub.seats, sub.pending_decrease->seats));
    }
    if (sub.pending_downgrade) {
      add(sub.period_end,
          drafts::EditionDowngraded(id, sub.edition, sub.pending_downgrade->edition));
    }
    Micros start = sub.period_end;
    add(start, drafts::SubscriptionRenewed(id, start, next(start)));
    if (next(start) <= t && length > 0) {
      // Several periods passed unseen: one renewal into the period that contains t.
      if (months) {
        while (next(start) <= t) start = next(start);
      } else {
        start += (t - start) / length * length;
      }
      add(start, drafts::SubscriptionRenewed(id, start, next(start)));
    }
  }
  std::stable_sort(due.begin(), due.end(), [](const Due& a, const Due& b) {
    if (a.at != b.at) return a.at < b.at;
    if (a.subscription != b.subscription) return a.subscription < b.subscription;
    return a.order < b.order;
  });
  std::vector<ledger::EventDraft> out;
  out.reserve(due.size());
  for (auto& d : due) out.push_back(std::move(d.event));
  return out;
}

}  // namespace commands

#include "replay/usage.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "commands/as_of.h"
#include "commands/evolve.h"
#include "ledger/time.h"
#include "replay/table.h"

namespace replay {
namespace {

using ledger::Micros;
using Payload = ledger::schema::Event::Payload;

constexpr Micros kDay = 86'400'000'000;

// One change of the subscription over business time.
struct Change {
  Micros at = 0;
  uint64_t version = 0;  // ties: stream order
  int delta = 0;         // leases in use
  int64_t seats = -1;    // new seat count, or -1
};

// Adds the change `event` makes to `sub`, if any; `held` tracks the leases granted so far.
void Collect(ledger::schema::Event::Reader e, const std::string& sub, std::set<std::string>* held,
             std::vector<Change>* changes, bool* seen) {
  const auto p = e.getPayload();
  Change c{e.getEffectiveAt(), e.getVersion()};
  switch (p.which()) {
    case Payload::SUBSCRIPTION_PURCHASED:
      if (p.getSubscriptionPurchased().getSubscription() != sub) return;
      *seen = true;
      c.seats = p.getSubscriptionPurchased().getSeats();
      changes->push_back(c);
      return;
    case Payload::SEATS_INCREASED:
      if (p.getSeatsIncreased().getSubscription() != sub) return;
      c.seats = p.getSeatsIncreased().getTo();
      changes->push_back(c);
      return;
    case Payload::SEATS_DECREASED:
      if (p.getSeatsDecreased().getSubscription() != sub) return;
      c.seats = p.getSeatsDecreased().getTo();
      changes->push_back(c);
      return;
    case Payload::TRIAL_CONVERTED:
      if (p.getTrialConverted().getSubscription() != sub || p.getTrialConverted().getSeats() == 0) {
        return;
      }
      c.seats = p.getTrialConverted().getSeats();
      changes->push_back(c);
      return;
    case Payload::LEASE_GRANTED:
      if (p.getLeaseGranted().getSubscription() != sub) return;
      if (!held->insert(p.getLeaseGranted().getLease()).second) return;
      c.delta = 1;
      changes->push_back(c);
      return;
    case Payload::LEASE_RELEASED:
    case Payload::LEASE_EXPIRED: {
      const bool released = p.which() == Payload::LEASE_RELEASED;
      const auto s =
          released ? p.getLeaseReleased().getSubscription() : p.getLeaseExpired().getSubscription();
      const auto lease =
          released ? p.getLeaseReleased().getLease() : p.getLeaseExpired().getLease();
      if (s != sub || held->erase(lease) == 0) return;
      c.delta = -1;
      changes->push_back(c);
      return;
    }
    case Payload::UNKNOWN:
    case Payload::TENANT_CREATED:
    case Payload::PRODUCT_DEFINED:
    case Payload::MEMBER_INVITED:
    case Payload::INVITATION_RESENT:
    case Payload::INVITATION_ACCEPTED:
    case Payload::MEMBER_REMOVED:
    case Payload::ROLE_CHANGED:
    case Payload::OWNERSHIP_TRANSFERRED:
    case Payload::GROUP_CREATED:
    case Payload::GROUP_RENAMED:
    case Payload::GROUP_DELETED:
    case Payload::GROUP_MEMBER_ADDED:
    case Payload::GROUP_MEMBER_REMOVED:
    case Payload::SEAT_ASSIGNED:
    case Payload::SEAT_REVOKED:
    case Payload::GROUP_ASSIGNED:
    case Payload::GROUP_UNASSIGNED:
    case Payload::SEAT_DECREASE_SCHEDULED:
    case Payload::SCHEDULED_CHANGE_CANCELLED:
    case Payload::EDITION_UPGRADED:
    case Payload::EDITION_DOWNGRADE_SCHEDULED:
    case Payload::EDITION_DOWNGRADED:
    case Payload::RENEWAL_CANCELLED:
    case Payload::RENEWAL_RESUMED:
    case Payload::SUBSCRIPTION_RENEWED:
    case Payload::SUBSCRIPTION_EXPIRED:
    case Payload::TRIAL_EXPIRED:
    case Payload::PURCHASE_ORDER_SET:
      return;  // changes neither the leases nor the number of seats
  }
  // A variant of a newer schema: nothing this build can count.
}

std::string Date(Micros day_start) { return ledger::FormatRfc3339(day_start).substr(0, 10); }

// The moments inside the window at which a named subscription's holders or seats may
// change: every event's effective time and the subscription's due changes (renewal or
// expiry at period end, a scheduled decrease), and the window's start.
std::set<Micros> NamedPoints(const ledger::Store& store, const UsageQuery& q,
                             const commands::Subscription& last, ledger::Status* status) {
  std::set<Micros> points{q.from};
  auto inside = [&](Micros t) { return t > q.from && t < q.to; };
  auto cursor = store.ReadStream(q.tenant);
  for (; cursor->Valid(); cursor->Next()) {
    const Micros t = cursor->event().event().getEffectiveAt();
    if (inside(t)) points.insert(t);
  }
  *status = cursor->status();
  for (Micros t : {last.period_end, last.trial_end}) {
    if (inside(t)) points.insert(t);
  }
  if (last.pending_decrease && inside(last.pending_decrease->effective_at)) {
    points.insert(last.pending_decrease->effective_at);
  }
  return points;
}

// Named seats: at each point, the users holding a seat of the subscription as of that
// business time (the bitemporal fold every reader uses, due changes applied), as
// changes of the level. Backdated corrections count from their effective time.
ledger::Status CollectNamed(const ledger::Store& store, const UsageQuery& q,
                            const commands::Subscription& last, std::vector<Change>* changes) {
  ledger::Status s;
  const std::set<Micros> points = NamedPoints(store, q, last, &s);
  if (!s.ok()) return s;
  int64_t level = 0;
  for (Micros t : points) {
    commands::TenantState as_of, due;
    s = commands::LoadTenantAsOf(store, q.tenant, commands::AsOf{.at = t}, &as_of);
    if (!s.ok()) return s;
    const commands::TenantState& state = commands::ApplyDueEffects(as_of, t, &due) ? due : as_of;
    const auto it = state.subscriptions.find(q.subscription);
    const bool live = it != state.subscriptions.end() && !it->second.expired;
    const int64_t now = live ? static_cast<int64_t>(state.AssignedCount(it->second)) : 0;
    changes->push_back(Change{t, 0, static_cast<int>(now - level),
                              it == state.subscriptions.end() ? 0 : it->second.seats});
    level = now;
  }
  return ledger::Status::OK();
}

}  // namespace

ledger::Status Usage(const ledger::Store& store, const UsageQuery& q, nlohmann::json* out) {
  if (q.to <= q.from) return ledger::Status::InvalidArgument("to: must be later than from");
  if (q.to - q.from > kMaxUsageWindow) {
    return ledger::Status::InvalidArgument("from, to: at most 10 years per report");
  }
  std::vector<Change> changes;
  std::set<std::string> held;
  bool seen = false;
  commands::TenantState state;  // everything recorded, for the time rules below
  auto cursor = store.ReadStream(q.tenant);
  for (; cursor->Valid(); cursor->Next()) {
    const auto e = cursor->event().event();
    Collect(e, q.subscription, &held, &changes, &seen);
    commands::Evolve(&state, e);
  }
  if (!cursor->status().ok()) return cursor->status();
  if (!seen) {
    return ledger::Status::NotFound(
        fmt::format("subscription '{}' of tenant '{}' not found", q.subscription, q.tenant));
  }
  const auto sub = state.subscriptions.find(q.subscription);
  if (sub != state.subscriptions.end() && sub->second.seat_model == commands::SeatModel::NAMED) {
    // Named seats: the holders over time instead of leases.
    changes.clear();
    ledger::Status s = CollectNamed(store, q, sub->second, &changes);
    if (!s.ok()) return s;
  } else {
    // Time rules (R15): a scheduled seat decrease that fell due by the end of the window
    // counts from then, written by the clock or not, as the access check counts it.
    commands::TenantState due;
    for (const auto& effect :
         commands::StepDueEffects(state, q.to, /*expire_leases=*/false, &due)) {
      Collect(effect.reader(), q.subscription, &held, &changes, &seen);
    }
  }
  std::stable_sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
    return a.at != b.at ? a.at < b.at : a.version < b.version;
  });

  // Sweep: the level before `from`, then day by day.
  int64_t level = 0, seats = 0;
  size_t next = 0;
  for (; next < changes.size() && changes[next].at <= q.from; ++next) {
    level += changes[next].delta;
    if (changes[next].seats >= 0) seats = changes[next].seats;
  }
  nlohmann::ordered_json days = nlohmann::ordered_json::array();
  int64_t overall_peak = level;
  double overall_area = 0;
  int at_capacity_days = 0;
  const Micros first_day = q.from - ((q.from % kDay) + kDay) % kDay;
  for (Micros day = first_day; day < q.to; day += kDay) {
    const Micros start = std::max(day, q.from), end = std::min(day + kDay, q.to);
    int64_t peak = level;
    bool full = seats > 0 && level >= seats;
    double area = 0;
    Micros t = start;
    while (next < changes.size() && changes[next].at < end) {
      area += static_cast<double>(level) * static_cast<double>(changes[next].at - t);
      t = changes[next].at;
      // Changes at the same moment apply together before the level is read.
      while (next < changes.size() && changes[next].at == t) {
        level += changes[next].delta;
        if (changes[next].seats >= 0) seats = changes[next].seats;
        ++next;
      }
      peak = std::max(peak, level);
      full = full || (seats > 0 && level >= seats);
    }
    area += static_cast<double>(level) * static_cast<double>(end - t);
    overall_area += area;
    overall_peak = std::max(overall_peak, peak);
    if (full) ++at_capacity_days;
    days.push_back({{"date", Date(day)},
                    {"peak", peak},
                    {"average", std::round(area / static_cast<double>(end - start) * 100) / 100},
                    {"seats", seats},
                    {"at_capacity", full}});
  }
  nlohmann::ordered_json j;
  j["tenant"] = q.tenant;
  j["subscription"] = q.subscription;
  j["from"] = ledger::FormatRfc3339(q.from);
  j["to"] = ledger::FormatRfc3339(q.to);
  j["peak"] = overall_peak;
  j["average"] = std::round(overall_area / static_cast<double>(q.to - q.from) * 100) / 100;
  j["days_at_capacity"] = at_capacity_days;
  j["days"] = std::move(days);
  *out = nlohmann::json::parse(j.dump());  // as every report: keys sorted
  return ledger::Status::OK();
}

void PrintUsage(const nlohmann::json& r, std::ostream& out) {
  out << fmt::format("{} / {}: {} to {}\n", r["tenant"].get<std::string>(),
                     r["subscription"].get<std::string>(), r["from"].get<std::string>(),
                     r["to"].get<std::string>());
  Table table({"DATE", "PEAK", "AVERAGE", "SEATS", "AT CAPACITY"});
  for (const auto& d : r["days"]) {
    table.Add({d["date"].get<std::string>(), std::to_string(d["peak"].get<int64_t>()),
               fmt::format("{:.2f}", d["average"].get<double>()),
               std::to_string(d["seats"].get<int64_t>()),
               d["at_capacity"].get<bool>() ? "yes" : ""});
  }
  table.Print(out);
  out << fmt::format("peak {}, average {:.2f}, {} day(s) at capacity\n", r["peak"].get<int64_t>(),
                     r["average"].get<double>(), r["days_at_capacity"].get<int>());
}

}  // namespace replay

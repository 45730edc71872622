#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "commands/as_of.h"
#include "commands/evolve.h"
#include "ledger/store.h"
#include "projections/entitlements.h"
#include "projections/state_codec.h"
#include "projections/touched.h"
#include "projections/view_keys.h"
#include "projections/views.h"

namespace projections {
namespace {

using commands::Subscription;
using commands::TenantState;
using ledger::Status;

// What, besides its assignments, decides access through a subscription.
std::string Header(const Subscription& s) {
  // A concurrent subscription whose seats all become leased (or stop being so) changes the
  // answer of every user without a lease (R19: no_free_seat).
  const bool all_leased =
      s.seat_model == commands::SeatModel::CONCURRENT && s.leases.size() >= s.seats;
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", s.seats, s.edition,
                     static_cast<int>(s.seat_model), s.period_start, s.period_end, s.auto_renew,
                     static_cast<int>(s.overage), s.max_groups, s.add_on_of, s.trial_end, s.expired,
                     all_leased);
}

// A rough size of a folded tenant in memory, for the cache budget.
size_t EstimateBytes(const TenantState& state) {
  size_t bytes = 512 + state.members.size() * 192;
  for (const auto& [id, g] : state.groups) bytes += 128 + g.members.size() * 64;
  for (const auto& [id, s] : state.subscriptions) {
    bytes += 512 + (s.direct.size() + s.groups.size() + s.seat_since.size()) * 64;
  }
  return bytes;
}

// What one event may change in a tenant's rows, found before it is folded: the
// subscriptions whose rows may change and their state before, and the users whose seats
// may change.
struct Affected {
  struct Before {
    std::string header;
    std::vector<std::string> violations;
    size_t assigned = 0;
  };
  std::set<std::string> subs;
  std::map<std::string, Before> before;
  std::set<std::string> users;
};

// The add-ons of any of `bases` (their access depends on their base).
std::set<std::string> AddOnsOf(const TenantState& state, const std::set<std::string>& bases) {
  std::set<std::string> out;
  for (const auto& [id, sub] : state.subscriptions) {
    if (!sub.add_on_of.empty() && bases.count(sub.add_on_of) > 0) out.insert(id);
  }
  return out;
}

// Subscriptions whose rows may change: named ones, those a touched group is assigned to or
// a touched user holds, and their add-ons. Users whose seats may change: the ones named,
// and the members of a group that is assigned, unassigned or deleted.
Affected AffectedBefore(const TenantState& state, const Touched& touched,
                        ledger::schema::Event::Payload::Which kind) {
  using P = ledger::schema::Event::Payload;
  Affected a;
  a.subs.insert(touched.subscriptions.begin(), touched.subscriptions.end());
  for (const auto& [id, sub] : state.subscriptions) {
    for (const auto& g : touched.groups) {
      if (sub.groups.count(g) > 0) a.subs.insert(id);
    }
    for (const auto& u : touched.users) {
      if (sub.seat_since.count(u) > 0 || sub.direct.count(u) > 0) a.subs.insert(id);
    }
  }
  for (const auto& id : AddOnsOf(state, a.subs)) a.subs.insert(id);
  for (const auto& id : a.subs) {
    auto it = state.subscriptions.find(id);
    if (it == state.subscriptions.end()) continue;
    a.before[id] = Affected::Before{Header(it->second), state.Violations(it->second),
                                    state.AssignedCount(it->second)};
  }
  a.users.insert(touched.users.begin(), touched.users.end());
  if (kind == P::GROUP_ASSIGNED || kind == P::GROUP_UNASSIGNED || kind == P::GROUP_DELETED) {
    for (const auto& g : touched.groups) {
      auto it = state.groups.find(g);
      if (it != state.groups.end())
        a.users.insert(it->second.members.begin(), it->second.members.end());
    }
  }
  return a;
}

// After the fold: every user of a subscription whose terms or violations changed may see
// another answer (and so may the users of its add-ons); under deny_excess, so may every
// user of an over-assigned one (the seat order moved).
void WidenAfter(const TenantState& state, Affected* a) {
  std::set<std::string> whole;
  for (const auto& id : a->subs) {
    auto it = state.subscriptions.find(id);
    auto b = a->before.find(id);
    if (it == state.subscriptions.end() || b == a->before.end()) {
      whole.insert(id);
      continue;
    }
    const Subscription& sub = it->second;
    const size_t assigned = state.AssignedCount(sub);
    const bool changed =
        b->second.header != Header(sub) || b->second.violations != state.Violations(sub);
    const bool excess = sub.overage == commands::Overage::DENY_EXCESS &&
                        (assigned > sub.seats || b->second.assigned > sub.seats);
    if (changed || excess) whole.insert(id);
  }
  for (const auto& id : AddOnsOf(state, whole)) whole.insert(id);
  for (const auto& id : whole) {
    if (auto it = state.subscriptions.find(id); it != state.subscriptions.end()) {
      const std::set<std::string> assigned = state.AssignedUsers(it->second);
      a->users.insert(assigned.begin(), assigned.end());
    }
  }
}

// Writes one tenant's view rows into the group's batch.
struct RowWriter {
  ledger::RowBatch& batch;
  const std::vector<ledger::TableId>& tables;
  const std::string& tenant;

  void PutOrDelete(ViewProjector::Family f, const std::string& key, bool present,
                   const std::string& value) const {
    if (present) {
      batch.Put(tables[f], key, value);
    } else {
      batch.Delete(tables[f], key);
    }
  }

  // Member, group, subscription and entitlement rows, and the tenant marker.
  void PutEntities(const TenantState& state, const Touched& touched, const Affected& a) const {
    using F = ViewProjector;
    for (const auto& u : touched.users) {
      const commands::Member* m = state.FindMember(u);
      PutOrDelete(F::kMembers, keys::RowKey(tenant, u), m != nullptr,
                  m != nullptr ? EncodeMember(*m) : std::string());
    }
    for (const auto& g : touched.groups) {
      auto it = state.groups.find(g);
      const bool present = it != state.groups.end();
      PutOrDelete(F::kGroups, keys::RowKey(tenant, g), present,
                  present ? EncodeGroup(it->second) : std::string());
    }
    for (const auto& id : a.subs) {
      auto it = state.subscriptions.find(id);
      if (it == state.subscriptions.end()) continue;  // subscriptions are never deleted
      PutSubscription(state, it->second, id, touched, a.users);
    }
    for (const auto& u : a.users) {
      const bool member = state.FindMember(u) != nullptr;
      PutOrDelete(F::kEntitlements, keys::RowKey(tenant, u), member,
                  member ? EncodeEntitlements(ComputeEntitlements(state, u)) : std::string());
    }
    batch.Put(tables[F::kEntitlements], tenant,
              EncodeTenantMarker(TenantMarker{state.exists, state.version, state.at}));
  }

  // A subscription's header and its children: direct seats, groups, seat order.
  void PutSubscription(const TenantState& state, const Subscription& sub, const std::string& id,
                       const Touched& touched, const std::set<std::string>& users) const {
    using F = ViewProjector;
    batch.Put(tables[F::kSubscriptions], keys::RowKey(tenant, id),
              EncodeSubscriptionHeader(state, sub));
    auto child = [&](char kind, const std::string& child_id, bool present,
                     const std::string& value) {
      PutOrDelete(F::kSubscriptions, keys::SubscriptionChildKey(tenant, id, kind, child_id),
                  present, value);
    };
    for (const auto& u : users) {
      child('d', u, sub.direct.count(u) > 0, "");
      auto since = sub.seat_since.find(u);
      std::string version;
      if (since != sub.seat_since.end()) keys::PutBE64(&version, since->second);
      child('h', u, since != sub.seat_since.end(), version);
    }
    for (const auto& g : touched.groups) child('g', g, sub.groups.count(g) > 0, "");
  }

  // The event index: one entry per entity the event touched, plus 'b' when backdated.
  void PutIndex(ledger::schema::Event::Reader event, const Touched& touched) const {
    const ledger::TableId index = tables[ViewProjector::kIndex];
    const std::string type(ledger::EventTypeName(event.getPayload().which()));
    const uint64_t position = event.getPosition();
    for (const auto& u : touched.users)
      batch.Put(index, keys::IndexKey(tenant, 'u', u, position), type);
    for (const auto& g : touched.groups)
      batch.Put(index, keys::IndexKey(tenant, 'g', g, position), type);
    for (const auto& id : touched.subscriptions) {
      batch.Put(index, keys::IndexKey(tenant, 's', id, position), type);
    }
    if (event.getEffectiveAt() < event.getRecordedAt()) {
      batch.Put(index, keys::IndexKey(tenant, 'b', "", position), type);
    }
  }
};

}  // namespace

struct ViewProjector::Cached {
  TenantState state;
  Micros max_effective_at = 0;
  uint64_t since_snapshot = 0;  // events folded since the last snapshot
  uint64_t last_position = 0;   // of the last event projected
  size_t bytes = 0;
  std::list<std::string>::iterator lru;
};

std::string EncodeTenantMarker(const TenantMarker& m) {
  std::string out(1, m.exists ? '\1' : '\0');
  keys::PutBE64(&out, m.version);
  keys::PutBE64(&out, static_cast<uint64_t>(m.at));
  return out;
}

bool DecodeTenantMarker(std::string_view bytes, TenantMarker* m) {
  if (bytes.size() != 17) return false;
  m->exists = bytes[0] != 0;
  m->version = keys::GetBE64(bytes.data() + 1);
  m->at = static_cast<Micros>(keys::GetBE64(bytes.data() + 9));
  return true;
}

Status LoadFromSnapshot(
    const ledger::RowReader& rows, ledger::TableId snapshots,
    const ledger::StreamReader& read_stream, const std::string& tenant, std::optional<Micros> at,
    uint64_t upto, TenantState* state, Micros* max_effective_at, ledger::TableId index,
    const std::function<std::unique_ptr<ledger::EventCursor>(uint64_t)>& read_log) {
  *state = TenantState();
  state->tenant = tenant;
  Micros max_eff = 0;
  const std::string prefix = keys::TenantPrefix(tenant);
  std::string target = prefix;
  keys::PutBE64(&target, at ? static_cast<uint64_t>(std::max<Micros>(*at, 0)) : UINT64_MAX);
  keys::PutBE64(&target, UINT64_MAX);
  std::unique_ptr<ledger::RowIterator> it = rows.NewIterator(snapshots);
  // The latest snapshot at or before `at`, and not past `upto`.
  for (it->SeekForPrev(target); it->Valid() && it->key().starts_with(prefix); it->Prev()) {
    if (it->key().size() == prefix.size() + 16 &&
        keys::GetBE64(it->key().data() + prefix.size() + 8) <= upto) {
      break;
    }
  }
  if (it->Valid() && it->key().starts_with(prefix) && it->key().size() == prefix.size() + 16) {
    Status s = DecodeSnapshot(it->value(), state, &max_eff);
    if (!s.ok()) return s;
  } else if (!it->status().ok()) {
    return it->status();
  }
  uint64_t last_read = state->position;
  if (state->version < upto) {
    // The events known by `at`; later ones were recorded after it, and only backdated ones
    // among those can still apply (below).
    const commands::AsOf known{.at = at, .known_at = at};
    auto c = read_stream(tenant, state->version + 1, upto);
    for (; c->Valid(); c->Next()) {
      const auto e = c->event().event();
      const commands::Counts counts = commands::FoldAsOf(known, e, state);
      if (counts == commands::Counts::kStop) break;
      last_read = e.getPosition();
      if (counts == commands::Counts::kFold) max_eff = std::max(max_eff, e.getEffectiveAt());
    }
    if (!c->status().ok()) return c->status();
  }
  if (at && index.valid() && read_log) {
    // Backdated corrections recorded after `at` but effective by then, in log order.
    const commands::AsOf backdated{.at = at, .version = upto};
    const std::string prefix_b = keys::IndexPrefix(tenant, 'b', "");
    std::unique_ptr<ledger::RowIterator> b = rows.NewIterator(index);
    for (b->Seek(prefix_b + std::string(8, '\0')); b->Valid() && b->key().starts_with(prefix_b);
         b->Next()) {
      const uint64_t position = keys::GetBE64(b->key().data() + prefix_b.size());
      if (position <= last_read) continue;
      auto c = read_log(position);
      if (!c->Valid())
        return c->status().ok() ? Status::Corruption("backdated event missing") : c->status();
      const auto e = c->event().event();
      if (commands::FoldAsOf(backdated, e, state) != commands::Counts::kFold) continue;
      max_eff = std::max(max_eff, e.getEffectiveAt());
    }
  }
  if (max_effective_at != nullptr) *max_effective_at = max_eff;
  return Status::OK();
}

ViewProjector::ViewProjector(ViewOptions options) : options_(options) {}
ViewProjector::~ViewProjector() = default;

std::vector<std::string> ViewProjector::families() const {
  return {"view_members",      "view_groups", "view_subscriptions",
          "view_entitlements", "view_index",  "snapshots"};
}

void ViewProjector::Attach(const ledger::RowReader* rows,
                           const std::vector<ledger::TableId>& tables, bool current,
                           ledger::StreamReader read_stream) {
  rows_ = rows;
  tables_ = tables;
  current_ = current && tables.size() == kCount;
  read_stream_ = std::move(read_stream);
}

void ViewProjector::Reset() {
  cache_.clear();
  lru_.clear();
  cached_bytes_ = 0;
}

Status ViewProjector::Load(const std::string& tenant, uint64_t upto, Cached** out) {
  auto found = cache_.find(tenant);
  if (found != cache_.end()) {
    lru_.splice(lru_.begin(), lru_, found->second->lru);
    *out = found->second.get();
    return Status::OK();
  }
  auto c = std::make_unique<Cached>();
  Status s = LoadFromSnapshot(*rows_, tables_[kSnapshots], read_stream_, tenant, std::nullopt, upto,
                              &c->state, &c->max_effective_at);
  if (!s.ok()) return s;
  c->since_snapshot = c->state.version % options_.snapshot_every;
  c->last_position = c->state.position;
  c->bytes = EstimateBytes(c->state);
  cached_bytes_ += c->bytes;
  lru_.push_front(tenant);
  c->lru = lru_.begin();
  *out = c.get();
  cache_.emplace(tenant, std::move(c));
  return Status::OK();
}

void ViewProjector::Evict(const ledger::ProjectContext& context) {
  // Only tenants whose events are all on disk can be folded again from it.
  auto it = lru_.end();
  while (cached_bytes_ > options_.cache_bytes && it != lru_.begin()) {
    --it;
    auto found = cache_.find(*it);
    if (!context.IsDurable(found->second->last_position)) continue;
    cached_bytes_ -= found->second->bytes;
    cache_.erase(found);
    it = lru_.erase(it);
  }
}

Status ViewProjector::Project(ledger::schema::Event::Reader event,
                              const ledger::ProjectContext& context) {
  const std::string tenant = event.getTenant();
  if (tenant == commands::kCatalogStream) return Status::OK();
  Cached* c = nullptr;
  Status s = Load(tenant, event.getVersion() - 1, &c);
  if (!s.ok()) return s;
  TenantState& state = c->state;
  if (state.version + 1 != event.getVersion()) {
    return Status::Corruption(fmt::format("views of '{}' are at version {}, the event is {}",
                                          tenant, state.version, event.getVersion()));
  }
  const Touched touched = TouchedBy(event);
  Affected affected = AffectedBefore(state, touched, event.getPayload().which());
  commands::Evolve(&state, event);
  c->max_effective_at = std::max(c->max_effective_at, event.getEffectiveAt());
  c->last_position = event.getPosition();
  WidenAfter(state, &affected);

  const RowWriter rows{*context.batch, tables_, tenant};
  rows.PutEntities(state, touched, affected);
  rows.PutIndex(event, touched);
  if (++c->since_snapshot >= options_.snapshot_every) {
    context.batch->Put(tables_[kSnapshots],
                       keys::SnapshotKey(tenant, c->max_effective_at, state.version),
                       EncodeSnapshot(state, c->max_effective_at));
    c->since_snapshot = 0;
    cached_bytes_ -= c->bytes;
    c->bytes = EstimateBytes(state);
    cached_bytes_ += c->bytes;
  } else {
    c->bytes += 64;
    cached_bytes_ += 64;
  }
  Evict(context);
  return Status::OK();
}

}  // namespace projections

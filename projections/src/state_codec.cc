#include "projections/state_codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstring>
#include <exception>

#include "projections/state.capnp.h"

namespace projections {
namespace {

namespace s = projections::schema;
using commands::Group;
using commands::Member;
using commands::MemberStatus;
using commands::Subscription;
using commands::TenantState;

template <typename Builder, typename Container>
void SetTexts(Builder list_init, const Container& items) {
  unsigned i = 0;
  for (const auto& item : items) list_init.set(i++, item);
}

void Write(s::Member::Builder b, const Member& m) {
  b.setUser(m.user);
  b.setEmail(m.email);
  b.setName(m.name);
  b.setRole(static_cast<uint16_t>(m.role));
  b.setStatus(static_cast<s::MemberStatus>(m.status));
  b.setInvitedAt(m.invited_at);
}

void Read(s::Member::Reader r, Member* m) {
  m->user = r.getUser();
  m->email = r.getEmail();
  m->name = r.getName();
  m->role = static_cast<commands::Role>(r.getRole());
  m->status = static_cast<MemberStatus>(r.getStatus());
  m->invited_at = r.getInvitedAt();
}

void Write(s::Group::Builder b, const Group& g) {
  b.setGroup(g.group);
  b.setName(g.name);
  SetTexts(b.initMembers(static_cast<unsigned>(g.members.size())), g.members);
}

void Read(s::Group::Reader r, Group* g) {
  g->group = r.getGroup();
  g->name = r.getName();
  g->members.clear();
  for (auto m : r.getMembers()) g->members.emplace_hint(g->members.end(), m);
}

void Write(s::PendingChange::Builder b, const commands::PendingChange& p) {
  b.setChange(p.change);
  b.setSeats(p.seats);
  b.setEdition(p.edition);
  b.setEffectiveAt(p.effective_at);
}

commands::PendingChange Read(s::PendingChange::Reader r) {
  commands::PendingChange p;
  p.change = r.getChange();
  p.seats = r.getSeats();
  p.edition = r.getEdition();
  p.effective_at = r.getEffectiveAt();
  return p;
}

void Write(s::Subscription::Builder b, const Subscription& sub) {
  b.setSubscription(sub.subscription);
  b.setProduct(sub.product);
  b.setEdition(sub.edition);
  b.setSeats(sub.seats);
  b.setSeatModel(static_cast<uint16_t>(sub.seat_model));
  b.setPeriodStart(sub.period_start);
  b.setPeriodEnd(sub.period_end);
  b.setAutoRenew(sub.auto_renew);
  b.setOverage(static_cast<uint16_t>(sub.overage));
  b.setMaxGroups(sub.max_groups);
  b.setAddOnOf(sub.add_on_of);
  b.setTrialEnd(sub.trial_end);
  b.setExpired(sub.expired);
  b.setPurchaseOrder(sub.purchase_order);
  b.setLeaseTtlSeconds(sub.lease_ttl_seconds);
  SetTexts(b.initDirect(static_cast<unsigned>(sub.direct.size())), sub.direct);
  SetTexts(b.initGroups(static_cast<unsigned>(sub.groups.size())), sub.groups);
  auto since = b.initSeatSince(static_cast<unsigned>(sub.seat_since.size()));
  unsigned i = 0;
  for (const auto& [user, version] : sub.seat_since) {
    since[i].setUser(user);
    since[i].setVersion(version);
    ++i;
  }
  if (sub.pending_decrease) Write(b.initPendingDecrease(), *sub.pending_decrease);
  if (sub.pending_downgrade) Write(b.initPendingDowngrade(), *sub.pending_downgrade);
  auto leases = b.initLeases(static_cast<unsigned>(sub.leases.size()));
  i = 0;
  for (const auto& [id, lease] : sub.leases) {
    leases[i].setLease(id);
    leases[i].setUser(lease.user);
    leases[i].setDevice(lease.device);
    leases[i].setGrantedAt(lease.granted_at);
    leases[i].setExpiresAt(lease.expires_at);
    ++i;
  }
}

void Read(s::Subscription::Reader r, Subscription* sub) {
  sub->subscription = r.getSubscription();
  sub->product = r.getProduct();
  sub->edition = r.getEdition();
  sub->seats = r.getSeats();
  sub->seat_model = static_cast<commands::SeatModel>(r.getSeatModel());
  sub->period_start = r.getPeriodStart();
  sub->period_end = r.getPeriodEnd();
  sub->auto_renew = r.getAutoRenew();
  sub->overage = static_cast<commands::Overage>(r.getOverage());
  sub->max_groups = r.getMaxGroups();
  sub->add_on_of = r.getAddOnOf();
  sub->trial_end = r.getTrialEnd();
  sub->expired = r.getExpired();
  sub->purchase_order = r.getPurchaseOrder();
  sub->lease_ttl_seconds = r.getLeaseTtlSeconds();
  sub->direct.clear();
  for (auto u : r.getDirect()) sub->direct.emplace_hint(sub->direct.end(), u);
  sub->groups.clear();
  for (auto g : r.getGroups()) sub->groups.emplace_hint(sub->groups.end(), g);
  sub->seat_since.clear();
  for (auto e : r.getSeatSince()) {
    sub->seat_since.emplace_hint(sub->seat_since.end(), e.getUser(), e.getVersion());
  }
  sub->pending_decrease.reset();
  sub->pending_downgrade.reset();
  if (r.hasPendingDecrease()) sub->pending_decrease = Read(r.getPendingDecrease());
  if (r.hasPendingDowngrade()) sub->pending_downgrade = Read(r.getPendingDowngrade());
  sub->leases.clear();
  for (auto l : r.getLeases()) {
    commands::Lease& lease = sub->leases[l.getLease()];
    lease.user = l.getUser();
    lease.device = l.getDevice();
    lease.granted_at = l.getGrantedAt();
    lease.expires_at = l.getExpiresAt();
  }
}

std::string ToBytes(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// Runs `read` over the message in `bytes` (copied to aligned words), turning Cap'n Proto
// exceptions into Corruption.
template <typename Root, typename Fn>
ledger::Status WithRoot(std::string_view bytes, Fn&& read) {
  if (bytes.size() % sizeof(capnp::word) != 0) {
    return ledger::Status::Corruption("projection row: size is not a whole number of words");
  }
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  try {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words.size() * 4 + 1024;
    capnp::FlatArrayMessageReader reader(words, options);
    read(reader.getRoot<Root>());
  } catch (const std::exception& e) {
    return ledger::Status::Corruption(std::string("projection row: ") + e.what());
  }
  return ledger::Status::OK();
}

}  // namespace

std::string EncodeSnapshot(const TenantState& state, Micros max_effective_at) {
  capnp::MallocMessageBuilder message;
  auto b = message.initRoot<s::TenantState>();
  b.setTenant(state.tenant);
  b.setExists(state.exists);
  b.setVersion(state.version);
  b.setPosition(state.position);
  b.setAt(state.at);
  b.setOwner(state.owner);
  b.setMaxEffectiveAt(max_effective_at);
  auto members = b.initMembers(static_cast<unsigned>(state.members.size()));
  unsigned i = 0;
  for (const auto& [id, m] : state.members) Write(members[i++], m);
  auto groups = b.initGroups(static_cast<unsigned>(state.groups.size()));
  i = 0;
  for (const auto& [id, g] : state.groups) Write(groups[i++], g);
  auto subs = b.initSubscriptions(static_cast<unsigned>(state.subscriptions.size()));
  i = 0;
  for (const auto& [id, sub] : state.subscriptions) Write(subs[i++], sub);
  return ToBytes(message);
}

ledger::Status DecodeSnapshot(std::string_view bytes, TenantState* state,
                              Micros* max_effective_at) {
  return WithRoot<s::TenantState>(bytes, [&](s::TenantState::Reader r) {
    *state = TenantState();
    state->tenant = r.getTenant();
    state->exists = r.getExists();
    state->version = r.getVersion();
    state->position = r.getPosition();
    state->at = r.getAt();
    state->owner = r.getOwner();
    if (max_effective_at != nullptr) *max_effective_at = r.getMaxEffectiveAt();
    for (auto m : r.getMembers()) {
      auto it = state->members.emplace_hint(state->members.end(), m.getUser(), Member());
      Read(m, &it->second);
    }
    for (auto g : r.getGroups()) {
      auto it = state->groups.emplace_hint(state->groups.end(), g.getGroup(), Group());
      Read(g, &it->second);
    }
    for (auto sub : r.getSubscriptions()) {
      auto it = state->subscriptions.emplace_hint(state->subscriptions.end(), sub.getSubscription(),
                                                  Subscription());
      Read(sub, &it->second);
    }
  });
}

std::string EncodeMember(const Member& member) {
  capnp::MallocMessageBuilder message(64);
  Write(message.initRoot<s::Member>(), member);
  return ToBytes(message);
}

ledger::Status DecodeMember(std::string_view bytes, Member* member) {
  return WithRoot<s::Member>(bytes, [&](s::Member::Reader r) { Read(r, member); });
}

std::string EncodeGroup(const Group& group) {
  capnp::MallocMessageBuilder message;
  Write(message.initRoot<s::Group>(), group);
  return ToBytes(message);
}

ledger::Status DecodeGroup(std::string_view bytes, Group* group) {
  return WithRoot<s::Group>(bytes, [&](s::Group::Reader r) { Read(r, group); });
}

std::string EncodeSubscriptionHeader(const TenantState& state, const Subscription& sub) {
  capnp::MallocMessageBuilder message;
  auto b = message.initRoot<s::Subscription>();
  Subscription header = sub;
  header.direct.clear();
  header.groups.clear();
  header.seat_since.clear();
  Write(b, header);
  b.setAssignedCount(static_cast<uint32_t>(state.AssignedCount(sub)));
  const std::vector<std::string> violations = state.Violations(sub);
  SetTexts(b.initViolations(static_cast<unsigned>(violations.size())), violations);
  return ToBytes(message);
}

ledger::Status DecodeSubscriptionHeader(std::string_view bytes, Subscription* sub,
                                        uint32_t* assigned_count,
                                        std::vector<std::string>* violations) {
  return WithRoot<s::Subscription>(bytes, [&](s::Subscription::Reader r) {
    Read(r, sub);
    if (assigned_count != nullptr) *assigned_count = r.getAssignedCount();
    if (violations != nullptr) {
      violations->clear();
      for (auto v : r.getViolations()) violations->emplace_back(v);
    }
  });
}

}  // namespace projections

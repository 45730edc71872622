#include "projections/entitlements.h"

#include <algorithm>
#include <set>

#include "commands/evolve.h"
#include "ledger/coding.h"

namespace projections {
namespace {

namespace coding = ledger::coding;
using commands::AccessDecision;
using commands::MemberStatus;
using commands::Subscription;
using commands::TenantState;

// The earliest time a time rule (R10, R11, R15) can change `sub`.
Micros NextTimeRule(const Subscription& sub) {
  if (sub.expired) return kForever;
  if (sub.trial_end > 0) return std::min(sub.trial_end, sub.period_end);
  return sub.period_end;
}

// Earliest time rule of `sub` and of its base chain (add-ons depend on their base).
Micros ValidUntil(const TenantState& state, const Subscription& sub) {
  Micros until = NextTimeRule(sub);
  const Subscription* s = &sub;
  for (int depth = 0; depth < 8 && !s->add_on_of.empty(); ++depth) {
    auto base = state.subscriptions.find(s->add_on_of);
    if (base == state.subscriptions.end()) break;
    s = &base->second;
    until = std::min(until, NextTimeRule(*s));
  }
  return until;
}

// One byte (status, allowed flag).
void PutByte(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }

bool GetByte(std::string_view* in, uint8_t* v) {
  if (in->empty()) return false;
  *v = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  return true;
}

}  // namespace

std::optional<AccessDecision> UserEntitlements::DecisionAt(std::string_view product,
                                                           Micros at) const {
  AccessDecision d;
  switch (status) {
    case MemberStatus::kInvited:
      d.reason = "invitation_pending";
      return d;
    case MemberStatus::kRemoved:
      d.reason = "member_removed";
      return d;
    case MemberStatus::kActive:
      break;
  }
  auto it =
      std::lower_bound(products.begin(), products.end(), product,
                       [](const ProductAccess& p, std::string_view v) { return p.product < v; });
  if (it == products.end() || it->product != product) {
    d.reason = "no_seat";
    return d;
  }
  if (at >= it->valid_until) return std::nullopt;
  return it->decision;
}

UserEntitlements ComputeEntitlements(const TenantState& state, const std::string& user) {
  UserEntitlements row;
  const commands::Member* m = state.FindMember(user);
  if (m != nullptr) row.status = m->status;
  if (m == nullptr || m->status != MemberStatus::kActive) return row;
  std::set<std::string> products;
  for (const auto& [id, sub] : state.subscriptions) {
    if (state.HoldsSeat(sub, user)) products.insert(sub.product);
  }
  for (const auto& product : products) {
    ProductAccess p;
    p.product = product;
    p.decision = commands::CheckAccess(state, user, product, state.at);
    for (const auto& [id, sub] : state.subscriptions) {
      if (sub.product == product && state.HoldsSeat(sub, user)) {
        p.valid_until = std::min(p.valid_until, ValidUntil(state, sub));
      }
    }
    row.products.push_back(std::move(p));
  }
  return row;
}

// Stored form (ledger/coding.h, big-endian): status byte, product count (4 bytes), then
// per product: product, allowed byte, reason, subscription (each string length-prefixed)
// and valid_until (8 bytes, signed).
std::string EncodeEntitlements(const UserEntitlements& row) {
  std::string out;
  PutByte(&out, static_cast<uint8_t>(row.status));
  coding::PutFixed32(&out, static_cast<uint32_t>(row.products.size()));
  for (const auto& p : row.products) {
    coding::PutLengthPrefixed(&out, p.product);
    PutByte(&out, p.decision.allowed ? 1 : 0);
    coding::PutLengthPrefixed(&out, p.decision.reason);
    coding::PutLengthPrefixed(&out, p.decision.subscription);
    coding::PutFixed64Signed(&out, p.valid_until);
  }
  return out;
}

bool DecodeEntitlements(std::string_view in, UserEntitlements* row) {
  uint8_t status;
  uint32_t n;
  if (!GetByte(&in, &status) || status > 2 || !coding::GetFixed32(&in, &n)) return false;
  row->status = static_cast<MemberStatus>(status);
  row->products.clear();
  for (uint32_t i = 0; i < n; ++i) {
    ProductAccess p;
    uint8_t allowed;
    int64_t valid_until = 0;
    if (!coding::GetLengthPrefixed(&in, &p.product) || !GetByte(&in, &allowed) ||
        !coding::GetLengthPrefixed(&in, &p.decision.reason) ||
        !coding::GetLengthPrefixed(&in, &p.decision.subscription) ||
        !coding::GetFixed64Signed(&in, &valid_until)) {
      return false;
    }
    p.decision.allowed = allowed != 0;
    p.valid_until = valid_until;
    row->products.push_back(std::move(p));
  }
  return in.empty();
}

}  // namespace projections

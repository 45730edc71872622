#include "projections/entitlements.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "commands/evolve.h"

namespace projections {
namespace {

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

void PutString(std::string* out, std::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n);
  out->append(s);
}

bool GetString(std::string_view* in, std::string* s) {
  uint32_t n;
  if (in->size() < sizeof n) return false;
  std::memcpy(&n, in->data(), sizeof n);
  in->remove_prefix(sizeof n);
  if (in->size() < n) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

template <typename T>
void PutFixed(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
bool GetFixed(std::string_view* in, T* v) {
  if (in->size() < sizeof *v) return false;
  std::memcpy(v, in->data(), sizeof *v);
  in->remove_prefix(sizeof *v);
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

std::string EncodeEntitlements(const UserEntitlements& row) {
  std::string out;
  PutFixed<uint8_t>(&out, static_cast<uint8_t>(row.status));
  PutFixed<uint32_t>(&out, static_cast<uint32_t>(row.products.size()));
  for (const auto& p : row.products) {
    PutString(&out, p.product);
    PutFixed<uint8_t>(&out, p.decision.allowed ? 1 : 0);
    PutString(&out, p.decision.reason);
    PutString(&out, p.decision.subscription);
    PutFixed<int64_t>(&out, p.valid_until);
  }
  return out;
}

bool DecodeEntitlements(std::string_view in, UserEntitlements* row) {
  uint8_t status;
  uint32_t n;
  if (!GetFixed(&in, &status) || status > 2 || !GetFixed(&in, &n)) return false;
  row->status = static_cast<MemberStatus>(status);
  row->products.clear();
  for (uint32_t i = 0; i < n; ++i) {
    ProductAccess p;
    uint8_t allowed;
    if (!GetString(&in, &p.product) || !GetFixed(&in, &allowed) ||
        !GetString(&in, &p.decision.reason) || !GetString(&in, &p.decision.subscription) ||
        !GetFixed(&in, &p.valid_until)) {
      return false;
    }
    p.decision.allowed = allowed != 0;
    row->products.push_back(std::move(p));
  }
  return in.empty();
}

}  // namespace projections

// Per-user entitlement rows: the access decision (R18) for every product a user holds a
// seat of, precomputed by the projector and valid until the next time rule can change it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/access.h"
#include "commands/state.h"

namespace projections {

using commands::Micros;

inline constexpr Micros kForever = INT64_MAX;

// The decision for one product, as of the state it was computed from.
struct ProductAccess {
  std::string product;
  commands::AccessDecision decision;
  // The decision holds for any time before this (a trial end, a period end); from then on
  // a time rule may change it and the reader re-evaluates.
  Micros valid_until = kForever;
};

// What one user of one tenant may use.
struct UserEntitlements {
  commands::MemberStatus status = commands::MemberStatus::kInvited;
  std::vector<ProductAccess> products;  // sorted by product

  // The stored decision for `product` at time `at`, or nullopt when a time rule may have
  // changed it by then (the caller must evaluate the folded state).
  std::optional<commands::AccessDecision> DecisionAt(std::string_view product, Micros at) const;
};

// Computes `user`'s row from the folded tenant state (the user must be a member).
UserEntitlements ComputeEntitlements(const commands::TenantState& state, const std::string& user);

std::string EncodeEntitlements(const UserEntitlements& row);
bool DecodeEntitlements(std::string_view bytes, UserEntitlements* row);

}  // namespace projections

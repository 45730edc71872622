// Seat usage of a subscription — the evidence for a true-up: per UTC day, the peak and
// the time-weighted average number of seats in use (a concurrent subscription: leases in
// use, R19; a named one: users holding a seat, directly or through a group), the seats,
// and whether every seat was in use at some moment.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "ledger/store.h"

namespace replay {

struct UsageQuery {
  std::string tenant;
  std::string subscription;
  ledger::Micros from = 0;  // inclusive
  ledger::Micros to = 0;    // exclusive; > from
};

// Computes the report from the tenant's events (by effective time: a lease's expiry
// counts from when it fell due, even if written later), with the time rules (R15) at `to`
// applied (a scheduled seat decrease counts from when it fell due, even if not written
// yet) into *out:
// {"tenant","subscription","from","to","peak","average","days_at_capacity",
//  "days":[{"date","peak","average","seats","at_capacity"}]}.
// NotFound if the subscription never existed in the tenant.
ledger::Status Usage(const ledger::Store& store, const UsageQuery& query, nlohmann::json* out);

// Longest window one report covers; a longer one (or `to` not after `from`) is
// InvalidArgument naming from/to.
inline constexpr ledger::Micros kMaxUsageWindow = int64_t{3660} * 86'400'000'000;

// The report as an aligned table with a summary line.
void PrintUsage(const nlohmann::json& report, std::ostream& out);

}  // namespace replay

// The ledgers the benchmarks load: tenants with members, one subscription and seat churn,
// appended through the store (with or without the views).
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ledger/store.h"
#include "projections/views.h"

namespace ledger::bench {

// The product every bench subscription is for.
inline constexpr char kProduct[] = "bench.pro";
// The ledger time of the first request (manual clock).
extern const Micros kStart;

// "t<t>", "u<u>".
std::string TenantId(int t);
std::string UserId(int u);

// Events of one tenant: created (owner u0), a subscription with `users` seats, every user
// invited and accepted, three users in four assigned a seat, then `extra` seat toggles.
std::vector<EventDraft> TenantEvents(int users, long extra, std::mt19937& rng);

// Events TenantEvents makes before the churn, for `users` members.
inline long TenantSetupEvents(int users) { return 2 + 2L * (users - 1) + users - users / 4; }

// Opens (creating, manual clock) the ledger at `path`, with `views` maintained when given.
// nullptr (after a message) on failure.
std::unique_ptr<Store> Open(const std::string& path,
                            std::shared_ptr<projections::ViewProjector> views, bool read_only);

// Appends every tenant's events in requests of up to `chunk` events, `window` tenants at
// a time (each tenant's requests in order). Returns false on a failure.
bool Load(Store& store, int tenants, int users, long extra, size_t chunk, int window);

// About `events` events over up to 1000 tenants of 50 members (about 1000 events each,
// at least one tenant's setup), in requests of 1024 events, 64 tenants at a time: the log
// of the replay, verify and export benches. Returns false on a failure.
bool LoadLog(Store& store, long events);

}  // namespace ledger::bench

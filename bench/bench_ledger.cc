#include "bench_ledger.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "commands/lease_table.h"

namespace ledger::bench {

const Micros kStart = *ParseRfc3339("2026-01-02T00:00:00Z");

std::string TenantId(int t) { return fmt::format("t{}", t); }
std::string UserId(int u) { return fmt::format("u{}", u); }

// Events of one tenant: created (owner u0), a subscription with `users` seats, every user
// invited and accepted, three users in four assigned a seat, then `extra` seat toggles.
std::vector<EventDraft> TenantEvents(int users, long extra, std::mt19937& rng) {
  std::vector<EventDraft> out;
  auto add = [&]() -> schema::Event::Payload::Builder {
    out.emplace_back();
    out.back().actor = "system";
    return out.back().payload();
  };
  {
    auto e = add().initTenantCreated();
    e.setOwner(UserId(0));
    e.setOwnerEmail("u0@bench.test");
  }
  {
    auto e = add().initSubscriptionPurchased();
    e.setSubscription("S1");
    e.setProduct(kProduct);
    e.setEdition("pro");
    e.setSeats(static_cast<uint32_t>(users));
    e.setSeatModel(schema::SeatModel::NAMED);
    e.setPeriodStart(*ParseRfc3339("2026-01-01T00:00:00Z"));
    e.setPeriodEnd(*ParseRfc3339("2036-01-01T00:00:00Z"));
    e.setAutoRenew(true);
    e.setOverage(schema::Overage::LOCK_ALL);
  }
  std::vector<bool> assigned(static_cast<size_t>(users), false);
  for (int u = 1; u < users; ++u) {
    auto i = add().initMemberInvited();
    i.setUser(UserId(u));
    i.setEmail(UserId(u) + "@bench.test");
    i.setRole(schema::Role::MEMBER);
    add().initInvitationAccepted().setUser(UserId(u));
  }
  for (int u = 0; u < users; ++u) {
    if (u % 4 == 3) continue;
    auto s = add().initSeatAssigned();
    s.setSubscription("S1");
    s.setUser(UserId(u));
    assigned[static_cast<size_t>(u)] = true;
  }
  for (long k = 0; k < extra; ++k) {
    const int u = static_cast<int>(rng() % static_cast<unsigned>(users));
    if (assigned[static_cast<size_t>(u)]) {
      auto s = add().initSeatRevoked();
      s.setSubscription("S1");
      s.setUser(UserId(u));
    } else {
      auto s = add().initSeatAssigned();
      s.setSubscription("S1");
      s.setUser(UserId(u));
    }
    assigned[static_cast<size_t>(u)] = !assigned[static_cast<size_t>(u)];
  }
  return out;
}

std::unique_ptr<Store> Open(const std::string& path,
                            std::shared_ptr<projections::ViewProjector> views, bool read_only) {
  StoreOptions options;
  options.clock_mode_if_new = ClockMode::kManual;
  options.read_only = read_only;
  if (views) options.projectors = {views};
  commands::AddSideTables(&options);
  std::unique_ptr<Store> store;
  Status s = Store::Open(options, path, &store);
  if (!s.ok()) fmt::print(stderr, "ledger-bench: {}\n", s.ToString());
  return store;
}

// Appends every tenant's events in requests of up to `chunk` events, `window` tenants at
// a time (each tenant's requests in order). Returns false on a failure.
bool Load(Store& store, int tenants, int users, long extra, size_t chunk, int window) {
  {
    AppendRequest first;  // fixes the ledger time
    first.tenant = "#bench";
    first.command_id = "start";
    first.request_hash = Sha256("start");
    first.actor = "system";
    first.command_type = "bench";
    first.at = kStart;
    first.events.emplace_back();
    first.events.back().payload().initTenantCreated().setOwner("nobody");
    AppendResult r;
    if (!store.Append(std::move(first), &r).ok()) return false;
  }
  std::mutex mu;
  std::condition_variable cv;
  int running = 0, next_tenant = 0;
  bool failed = false;
  std::function<void(int, std::shared_ptr<std::vector<EventDraft>>, size_t)> send;
  send = [&](int t, std::shared_ptr<std::vector<EventDraft>> events, size_t from) {
    AppendRequest req;
    req.tenant = TenantId(t);
    req.command_id = fmt::format("load-{}", from);
    req.request_hash = Sha256(req.command_id);
    req.actor = "system";
    req.command_type = "bench";
    const size_t to = std::min(events->size(), from + chunk);
    for (size_t i = from; i < to; ++i) req.events.push_back(std::move((*events)[i]));
    store.AppendAsync(std::move(req), [&, t, events, to](const Status& s, AppendResult& r) {
      if (!s.ok() || r.kind != AppendResult::Kind::kAccepted) {
        std::lock_guard<std::mutex> lock(mu);
        failed = true;
      } else if (to < events->size()) {
        send(t, events, to);
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      --running;
      cv.notify_one();
    });
  };
  std::mt19937 rng(42);
  std::unique_lock<std::mutex> lock(mu);
  while (next_tenant < tenants && !failed) {
    cv.wait(lock, [&] { return running < window || failed; });
    const int t = next_tenant++;
    ++running;
    lock.unlock();
    auto events = std::make_shared<std::vector<EventDraft>>(TenantEvents(users, extra, rng));
    send(t, events, 0);
    lock.lock();
  }
  cv.wait(lock, [&] { return running == 0; });
  return !failed;
}

bool LoadLog(Store& store, long events) {
  constexpr int kUsers = 50;
  const long tenants = std::clamp(events / 1000, 1L, 1000L);
  const long extra = std::max(0L, (events - 1) / tenants - TenantSetupEvents(kUsers));
  return Load(store, static_cast<int>(tenants), kUsers, extra, 1024, 64);
}

}  // namespace ledger::bench

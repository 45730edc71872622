#include "export_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <random>
#include <streambuf>
#include <string>
#include <vector>

#include "bench_util.h"
#include "ledger/store.h"
#include "replay/export.h"

namespace ledger::bench {
namespace {

namespace po = boost::program_options;

struct ExportBenchOptions {
  long events = 1000000;  // events in the log
  std::string format = "jsonl";
  std::string dir = "var/bench";
  bool keep = false;   // leave the ledger in --dir
  bool reuse = false;  // use the ledger kept in --dir
};

constexpr int kUsers = 50;                                                  // members per tenant
constexpr long kTenantSetup = 2 + 2L * (kUsers - 1) + kUsers - kUsers / 4;  // events
const Micros kStart = *ParseRfc3339("2026-01-02T00:00:00Z");

std::string UserId(int u) { return fmt::format("u{}", u); }

// A std::ostream target that counts the bytes written and keeps none of them.
class CountingBuf : public std::streambuf {
 public:
  uint64_t bytes() const { return bytes_; }

 protected:
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) ++bytes_;
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char*, std::streamsize n) override {
    bytes_ += static_cast<uint64_t>(n);
    return n;
  }

 private:
  uint64_t bytes_ = 0;
};

// Events of one tenant (as views_bench.cc's TenantEvents): created, a subscription with
// `users` seats, every user invited and accepted, three in four given a seat, then
// `extra` seat toggles of random users.
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
    e.setProduct("bench.pro");
    e.setEdition("pro");
    e.setSeats(static_cast<uint32_t>(users));
    e.setSeatModel(schema::SeatModel::NAMED);
    e.setPeriodStart(*ParseRfc3339("2026-01-01T00:00:00Z"));
    e.setPeriodEnd(*ParseRfc3339("2036-01-01T00:00:00Z"));
    e.setAutoRenew(true);
    e.setOverage(schema::Overage::LOCK_ALL);
  }
  for (int u = 1; u < users; ++u) {
    auto i = add().initMemberInvited();
    i.setUser(UserId(u));
    i.setEmail(UserId(u) + "@bench.test");
    i.setRole(schema::Role::MEMBER);
    add().initInvitationAccepted().setUser(UserId(u));
  }
  std::vector<bool> assigned(static_cast<size_t>(users), false);
  auto toggle = [&](int u) {
    const bool on = assigned[static_cast<size_t>(u)];
    if (on) {
      auto s = add().initSeatRevoked();
      s.setSubscription("S1");
      s.setUser(UserId(u));
    } else {
      auto s = add().initSeatAssigned();
      s.setSubscription("S1");
      s.setUser(UserId(u));
    }
    assigned[static_cast<size_t>(u)] = !on;
  };
  for (int u = 0; u < users; ++u) {
    if (u % 4 != 3) toggle(u);
  }
  for (long k = 0; k < extra; ++k) toggle(static_cast<int>(rng() % static_cast<unsigned>(users)));
  return out;
}

// Counts requests in flight so that the loader keeps at most `limit` queued.
class Window {
 public:
  explicit Window(int limit) : limit_(limit) {}
  void Enter() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return running_ < limit_; });
    ++running_;
  }
  void Leave(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
    failed_ = failed_ || !ok;
    cv_.notify_all();
  }
  // Waits for every request; false if any failed.
  bool Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return running_ == 0; });
    return !failed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int limit_;
  int running_ = 0;
  bool failed_ = false;
};

// Appends about `events` events (at least one tenant's setup) over up to 1000 tenants of
// about 1000 events each, in requests of up to 1024 events, 64 in flight. Returns false on
// a failure.
bool Load(Store& store, long events) {
  AppendRequest first;  // fixes the ledger time (manual clock)
  first.tenant = "#bench";
  first.command_id = "start";
  first.request_hash = Sha256("start");
  first.actor = "system";
  first.command_type = "bench";
  first.at = kStart;
  first.events.emplace_back();
  first.events.back().payload().initTenantCreated().setOwner("nobody");
  AppendResult result;
  if (!store.Append(std::move(first), &result).ok()) return false;
  const long tenants = std::clamp(events / 1000, 1L, 1000L);
  const long extra = std::max(0L, (events - 1) / tenants - kTenantSetup);
  std::mt19937 rng(42);
  Window window(64);
  for (long t = 0; t < tenants; ++t) {
    std::vector<EventDraft> all = TenantEvents(kUsers, extra, rng);
    for (size_t from = 0; from < all.size(); from += 1024) {
      AppendRequest req;
      req.tenant = fmt::format("t{}", t);
      req.command_id = fmt::format("load-{}", from);
      req.request_hash = Sha256(req.command_id);
      req.actor = "system";
      req.command_type = "bench";
      for (size_t i = from; i < std::min(all.size(), from + 1024); ++i) {
        req.events.push_back(std::move(all[i]));
      }
      window.Enter();
      store.AppendAsync(std::move(req), [&window](const Status& s, AppendResult& r) {
        window.Leave(s.ok() && r.kind == AppendResult::Kind::kAccepted);
      });
    }
  }
  return window.Drain();
}

std::unique_ptr<Store> Open(const std::string& path, bool read_only) {
  StoreOptions options;
  options.clock_mode_if_new = ClockMode::kManual;
  options.read_only = read_only;
  std::unique_ptr<Store> store;
  const Status s = Store::Open(options, path, &store);
  if (!s.ok()) fmt::print(stderr, "ledger-bench: {}\n", s.ToString());
  return store;
}

// Fills *o from the command line; false (after a message) on bad usage.
bool ParseOptions(int argc, char** argv, ExportBenchOptions* o) {
  po::options_description desc("ledger-bench export options");
  desc.add_options()("json", "print one JSON line (the only format)")(
      "events", po::value<long>(&o->events), "events in the log (default 1000000)")(
      "format", po::value<std::string>(&o->format), "jsonl | csv (default jsonl)")(
      "dir", po::value<std::string>(&o->dir), "scratch directory")(
      "keep", po::bool_switch(&o->keep), "leave the generated ledger in --dir")(
      "reuse", po::bool_switch(&o->reuse), "use the ledger kept in --dir");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc - 1, argv + 1, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "ledger-bench: {}\n", e.what());
    return false;
  }
  if (o->events < 1 || (o->format != "jsonl" && o->format != "csv")) {
    fmt::print(stderr, "ledger-bench: --events must be >= 1 and --format jsonl or csv\n");
    return false;
  }
  return true;
}

}  // namespace

int RunExportBench(int argc, char** argv) {
  ExportBenchOptions o;
  if (!ParseOptions(argc, argv, &o)) return 2;
  ScratchDir dir(o.dir, "export", o.keep, o.reuse);
  if (!o.reuse) {
    auto store = Open(dir.path(), false);
    if (!store || !Load(*store, o.events)) {
      fmt::print(stderr, "ledger-bench: loading the ledger failed\n");
      return 1;
    }
  }
  // A reader, as ledger-replay opens the ledger.
  auto store = Open(dir.path(), true);
  if (!store) return 1;
  CountingBuf sink;
  std::ostream out(&sink);
  replay::ExportOptions options;
  options.format = o.format;
  uint64_t rows = 0;
  const auto start = SteadyClock::now();
  const Status s = replay::Export(*store, options, out, &rows);
  const double seconds = SecondsSince(start);
  if (!s.ok()) {
    fmt::print(stderr, "ledger-bench: {}\n", s.ToString());
    return 1;
  }
  fmt::print(
      "{{\"bench\":\"export\",\"format\":\"{}\",\"events\":{},\"bytes\":{},\"seconds\":{:.3f},"
      "\"events_per_s\":{:.0f}}}\n",
      o.format, rows, sink.bytes(), seconds, static_cast<double>(rows) / seconds);
  return 0;
}

}  // namespace ledger::bench

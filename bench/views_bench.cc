#include "views_bench.h"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "bench_ledger.h"
#include "bench_util.h"
#include "commands/evolve.h"
#include "ledger/partitioned_read.h"
#include "ledger/sha256.h"
#include "ledger/store.h"
#include "projections/view_reader.h"
#include "projections/views.h"
#include "replay/audit_ledger.h"
#include "replay/verify.h"

namespace ledger::bench {
namespace {}  // namespace

int RunCheckBench(const ViewsBenchOptions& o) {
  ScratchDir dir(o.dir, "check", o.keep, o.reuse);
  double load_seconds = 0;
  if (!o.reuse) {
    auto views = std::make_shared<projections::ViewProjector>();
    auto store = Open(dir.path(), views, false);
    if (!store) return 1;
    const auto start = SteadyClock::now();
    if (!Load(*store, o.tenants, o.users, o.extra_events, 256, 64)) {
      fmt::print(stderr, "ledger-bench: loading the ledger failed\n");
      return 1;
    }
    load_seconds = SecondsSince(start);
  }
  // A reader process: the views opened read-only, as ledgerctl check does.
  auto views = std::make_shared<projections::ViewProjector>();
  auto store = Open(dir.path(), views, true);
  if (!store) return 1;
  if (!views->current()) {
    fmt::print(stderr, "ledger-bench: the views are not current\n");
    return 1;
  }
  projections::ViewReader reader(views.get(), store.get());
  // Warm: every user once.
  std::vector<std::pair<std::string, std::string>> keys;
  for (int t = 0; t < o.tenants; ++t) {
    for (int u = 0; u < o.users; ++u) keys.emplace_back(TenantId(t), UserId(u));
  }
  long allowed = 0;
  // Every timed answer must equal the warm one: a fast wrong answer is no answer.
  std::vector<std::string> expected(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    commands::AccessDecision d;
    if (!reader.Check(keys[i].first, keys[i].second, kProduct, std::nullopt, &d).ok()) return 1;
    allowed += d.allowed ? 1 : 0;
    expected[i] = d.ToJson();
  }
  std::atomic<long> wrong{0};
  const uint64_t folded_before = reader.folded_checks();
  std::atomic<bool> ok{true};
  std::vector<std::vector<int64_t>> latencies(static_cast<size_t>(o.threads));
  std::vector<std::thread> threads;
  const long per_thread = o.checks / o.threads;
  const auto start = SteadyClock::now();
  for (int th = 0; th < o.threads; ++th) {
    threads.emplace_back([&, th] {
      std::mt19937_64 rng(static_cast<uint64_t>(th) + 1);
      auto& lat = latencies[static_cast<size_t>(th)];
      lat.reserve(static_cast<size_t>(per_thread / 16 + 1));
      commands::AccessDecision d;
      for (long i = 0; i < per_thread; ++i) {
        const size_t k = rng() % keys.size();
        const auto& [t, u] = keys[k];
        // Time every 16th check: the clock itself would otherwise weigh on the rate.
        const bool timed = (i & 15) == 0;
        const auto t0 = timed ? SteadyClock::now() : SteadyClock::time_point();
        if (!reader.Check(t, u, kProduct, std::nullopt, &d).ok()) ok = false;
        // Sampled (every 64th) so that the comparison does not weigh on the rate.
        if ((i & 63) == 1 && d.ToJson() != expected[k]) wrong.fetch_add(1);
        if (timed) {
          lat.push_back(
              std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t0)
                  .count());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = SecondsSince(start);
  if (!ok) return 1;
  if (wrong.load() > 0) {
    fmt::print(stderr, "ledger-bench: {} sampled checks answered differently than when warm\n",
               wrong.load());
    return 1;
  }
  std::vector<int64_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  fmt::print(
      "{{\"bench\":\"check\",\"tenants\":{},\"users\":{},\"events\":{},\"threads\":{},"
      "\"checks\":{},\"checks_per_s\":{:.0f},\"p50_us\":{:.2f},\"p99_us\":{:.2f},"
      "\"allowed_share\":{:.2f},\"folded_checks\":{},\"load_s\":{:.1f}}}\n",
      o.tenants, o.tenants * o.users, store->LastPosition(), o.threads, per_thread * o.threads,
      static_cast<double>(per_thread * o.threads) / seconds, Percentile(all, 50) / 1000.0,
      Percentile(all, 99) / 1000.0, static_cast<double>(allowed) / static_cast<double>(keys.size()),
      reader.folded_checks() - folded_before, load_seconds);
  return 0;
}

int RunReplayFold(const ViewsBenchOptions& o) {
  auto store = Open(o.dir, nullptr, true);
  if (!store) return 1;
  // Two readers take turns over chunks of the log; tenants are independent, so `threads`
  // workers fold their share.
  PartitionedReadOptions read;
  read.partitions = std::max(1, o.threads);
  read.readers = 2;
  struct Worker {
    std::unordered_map<std::string, commands::TenantState> tenants;
    commands::TenantState* current = nullptr;
    std::string current_id;
    long events = 0;
  };
  std::vector<Worker> workers(static_cast<size_t>(read.partitions));
  const auto start = SteadyClock::now();
  const Status s =
      ReadLogPartitioned(*store, read, [&](int k, schema::Event::Reader e, std::string_view) {
        Worker& w = workers[static_cast<size_t>(k)];
        const auto tenant = e.getTenant();
        const std::string_view id(tenant.cStr(), tenant.size());
        if (w.current == nullptr || w.current_id != id) {
          w.current_id.assign(id);
          w.current = &w.tenants[w.current_id];
        }
        commands::Evolve(w.current, e);
        ++w.events;
        return Status::OK();
      });
  const double seconds = SecondsSince(start);
  if (!s.ok()) {
    fmt::print(stderr, "ledger-bench: {}\n", s.ToString());
    return 1;
  }
  long total = 0;
  size_t tenants = 0;
  for (const Worker& w : workers) {
    total += w.events;
    tenants += w.tenants.size();
  }
  fmt::print("{} {:.6f} {}\n", total, seconds, tenants);
  return 0;
}

int RunReplayBench(const ViewsBenchOptions& o, const char* self) {
  ScratchDir dir(o.dir, "replay", o.keep, o.reuse);
  if (!o.reuse) {
    auto store = Open(dir.path(), nullptr, false);
    if (!store) return 1;
    if (!LoadLog(*store, o.events)) return 1;
  }
  // A fresh process: nothing of the ledger in memory, the OS page cache as it is.
  const std::string exe = std::filesystem::read_symlink(self).string();
  const std::string cmd =
      fmt::format("{} replay-fold --dir {} --reader-threads {}", exe, dir.path(), o.threads);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return 1;
  long events = 0, tenants = 0;
  double seconds = 0;
  const int n = std::fscanf(p, "%ld %lf %ld", &events, &seconds, &tenants);
  if (::pclose(p) != 0 || n != 3 || seconds <= 0) {
    fmt::print(stderr, "ledger-bench: the replay process failed\n");
    return 1;
  }
  fmt::print(
      "{{\"bench\":\"replay\",\"events\":{},\"tenants\":{},\"threads\":{},\"seconds\":{:.3f},"
      "\"events_per_s\":{:.0f}}}\n",
      events, tenants, o.threads, seconds, static_cast<double>(events) / seconds);
  return 0;
}

// The baseline of verify: every stored event's bytes read in position order and hashed
// (SHA-256), split over `threads` threads as verify splits its work; seconds taken.
double RawScanAndHash(const Store& store, int threads) {
  const uint64_t last = store.LastPosition();
  const uint64_t share = (last + threads - 1) / std::max(1, threads);
  std::atomic<uint64_t> bytes{0};
  std::atomic<bool> ok{true};
  const auto start = SteadyClock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const uint64_t from = 1 + share * static_cast<uint64_t>(t);
      if (from > last) return;
      uint64_t n = 0;
      const Status s =
          store.ScanLog(from, std::min(last, from + share - 1), [&](uint64_t, std::string_view b) {
            const Digest d = Sha256(b);
            n += b.size() + d[0];
            return true;
          });
      if (!s.ok()) ok = false;
      bytes += n;
    });
  }
  for (auto& w : workers) w.join();
  return ok ? SecondsSince(start) : -1;
}

int RunVerifyBench(const ViewsBenchOptions& o) {
  ScratchDir dir(o.dir, "verify", o.keep, o.reuse);
  if (!o.reuse) {
    // The views too: verify compares every row with a fresh fold.
    auto views = std::make_shared<projections::ViewProjector>();
    auto store = Open(dir.path(), views, false);
    if (!store) return 1;
    if (!LoadLog(*store, o.events)) return 1;
  }
  // As an auditor runs it: a secondary instance, every check.
  std::unique_ptr<replay::AuditLedger> ledger;
  Status s = replay::AuditLedger::Open(dir.path(), &ledger);
  if (!s.ok()) {
    fmt::print(stderr, "ledger-bench: {}\n", s.ToString());
    return 1;
  }
  replay::VerifyOptions options;
  options.threads = o.threads;
  replay::VerifyReport report;
  // The raw scan before and after verify (the page cache warm for both); its faster run.
  const double raw_before = RawScanAndHash(ledger->store(), o.threads);
  s = replay::Verify(ledger->store(), ledger->views(), options, &report);
  const double raw_after = RawScanAndHash(ledger->store(), o.threads);
  const double raw = std::min(raw_before, raw_after);
  if (raw_before <= 0 || raw_after <= 0) {
    fmt::print(stderr, "ledger-bench: the raw scan failed\n");
    return 1;
  }
  if (!s.ok() || !report.ok() || !report.views_checked) {
    fmt::print(stderr, "ledger-bench: verify failed: {} {}\n", s.ToString(),
               report.ToJson().dump());
    return 1;
  }
  fmt::print(
      "{{\"bench\":\"verify\",\"events\":{},\"tenants\":{},\"threads\":{},"
      "\"views_checked\":true,\"seconds\":{:.3f},\"events_per_s\":{:.0f},"
      "\"raw_scan_sha256_per_s\":{:.0f},\"ratio_to_raw_scan\":{:.2f}}}\n",
      report.events, report.tenants, o.threads, report.seconds,
      static_cast<double>(report.events) / report.seconds, static_cast<double>(report.events) / raw,
      raw / report.seconds);
  return 0;
}

int RunAsOfBench(const ViewsBenchOptions& o) {
  ScratchDir dir(o.dir, "asof", o.keep, o.reuse);
  const int users = 2000;
  const std::string tenant = TenantId(0);
  Micros end = 0;
  if (!o.reuse) {
    auto views = std::make_shared<projections::ViewProjector>();
    auto store = Open(dir.path(), views, false);
    if (!store) return 1;
    // One tenant, its events spread over time: one request of 1000 events per minute.
    std::mt19937 rng(7);
    const long setup = TenantSetupEvents(users);
    std::vector<EventDraft> events = TenantEvents(users, std::max(0L, o.events - setup), rng);
    Micros at = kStart;
    for (size_t from = 0; from < events.size(); from += 1000, at += 60 * kMicrosPerSecond) {
      AppendRequest req;
      req.tenant = tenant;
      req.command_id = fmt::format("load-{}", from);
      req.request_hash = Sha256(req.command_id);
      req.actor = "system";
      req.command_type = "bench";
      req.at = at;
      for (size_t i = from; i < std::min(events.size(), from + 1000); ++i) {
        req.events.push_back(std::move(events[i]));
      }
      AppendResult r;
      if (!store->Append(std::move(req), &r).ok() || r.kind != AppendResult::Kind::kAccepted) {
        return 1;
      }
    }
  }
  auto views = std::make_shared<projections::ViewProjector>();
  auto store = Open(dir.path(), views, true);
  if (!store) return 1;
  end = store->LedgerTime();
  projections::ViewReader reader(views.get(), store.get());
  std::mt19937_64 rng(11);
  std::vector<int64_t> micros;
  uint64_t version_sum = 0;
  for (int i = 0; i < o.samples; ++i) {
    const Micros at = kStart + static_cast<Micros>(rng() % static_cast<uint64_t>(end - kStart + 1));
    commands::TenantState state;
    const auto t0 = SteadyClock::now();
    if (!reader.StateAt(tenant, at, &state).ok()) return 1;
    micros.push_back(MicrosSince(t0));
    version_sum += state.version;
  }
  fmt::print(
      "{{\"bench\":\"asof\",\"tenant_events\":{},\"samples\":{},\"p50_ms\":{:.2f},"
      "\"p99_ms\":{:.2f},\"mean_version\":{}}}\n",
      store->LastPosition() - 1, o.samples, Percentile(micros, 50) / 1000.0,
      Percentile(micros, 99) / 1000.0, version_sum / static_cast<uint64_t>(o.samples));
  return 0;
}

}  // namespace ledger::bench

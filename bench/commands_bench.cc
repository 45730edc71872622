#include "commands_bench.h"

#include <fmt/format.h>

#include "append_bench.h"
#include "bench_util.h"
#include "clients.h"
#include "commands/service.h"

namespace ledger::bench {
namespace {

constexpr int kTenants = 16;

std::unique_ptr<Store> OpenStore(const std::string& path) {
  std::unique_ptr<Store> store;
  Status s = Store::Open(StoreOptions(), path, &store);
  if (!s.ok()) fmt::print(stderr, "ledger-bench: {}\n", s.ToString());
  return store;
}

}  // namespace

int RunCommandsBench(const CommandsBenchOptions& o) {
  // Baseline: the ledger core's durable appends, same clients, same run.
  Run appends;
  double append_cpu_us = 0, commands_cpu_us = 0;  // CPU (every thread) per operation
  {
    ScratchDir dir(o.dir, "commands-baseline");
    auto store = OpenStore(dir.path());
    if (!store) return 1;
    const double cpu_before = ProcessCpuMicros();
    appends = RunLedgerAppends(*store, o.clients, o.commands, 300, /*async=*/true);
    append_cpu_us = (ProcessCpuMicros() - cpu_before) / o.commands;
  }

  Run commands_run;
  StoreStats stats;
  {
    ScratchDir dir(o.dir, "commands-ledger");
    auto store = OpenStore(dir.path());
    if (!store) return 1;
    commands::CommandService service(store.get());
    bool ok = service
                  .ExecuteJson(R"({"type":"define_product","actor":"system","id":"p",
        "product":"bench.pro","editions":["standard","pro"]})")
                  .status == "accepted";
    for (int t = 0; t < kTenants; ++t) {
      ok = ok &&
           service
                   .ExecuteJson(fmt::format(
                       R"({{"type":"create_tenant","tenant":"t{0}","actor":"system","id":"t{0}",
                         "owner":"owner{0}","owner_email":"owner{0}@bench.test"}})",
                       t))
                   .status == "accepted";
    }
    if (!ok) {
      fmt::print(stderr, "ledger-bench: setup failed\n");
      return 1;
    }
    // One invite_member per command: parsed from JSON, decided against the tenant's
    // state in the writer, appended, answered. The clients' requests are formatted
    // before the clock starts: a client's own formatting is not the ledger's work.
    std::vector<std::vector<std::string>> requests(static_cast<size_t>(o.clients));
    for (int c = 0; c < o.clients; ++c) {
      const int t = c % kTenants;
      const long share = ShareOf(o.clients, o.commands, c);
      for (long n = 0; n < share; ++n) {
        requests[c].push_back(fmt::format(
            R"({{"type":"invite_member","tenant":"t{}","actor":"owner{}","id":"c{}-{}",)"
            R"("user":"u{}-{}","email":"u{}-{}@bench.test","name":"Bench User {} {}"}})",
            t, t, c, n, c, n, c, n, c, n));
      }
    }
    const double cpu_before = ProcessCpuMicros();
    commands_run =
        RunAsync(o.clients, o.commands, [&](int c, long n, std::function<void(bool)> done) {
          service.SubmitJson(requests[c][n], [done = std::move(done)](commands::CommandResult r) {
            done(r.status == "accepted");
          });
        });
    commands_cpu_us = (ProcessCpuMicros() - cpu_before) / o.commands;
    stats = store->Stats();
  }
  if (!appends.ok || !commands_run.ok) {
    fmt::print(stderr, "ledger-bench: a command or append failed\n");
    return 1;
  }
  const double commands_per_s = o.commands / commands_run.seconds;
  const double appends_per_s = o.commands / appends.seconds;
  fmt::print(
      "{{\"bench\":\"commands\",\"clients\":{},\"commands\":{},\"commands_per_s\":{:.0f},"
      "\"p50_us\":{:.0f},\"p99_us\":{:.0f},\"append_events_per_s\":{:.0f},"
      "\"ratio_to_append\":{:.2f},\"avg_group_size\":{:.1f},\"avg_group_build_us\":{:.0f},"
      "\"avg_group_write_us\":{:.0f},\"cores\":{},\"append_cpu_us\":{:.1f},"
      "\"commands_cpu_us\":{:.1f}}}\n",
      o.clients, o.commands, commands_per_s, Percentile(commands_run.latencies_us, 50),
      Percentile(commands_run.latencies_us, 99), appends_per_s, commands_per_s / appends_per_s,
      stats.groups ? double(stats.requests) / double(stats.groups) : 0.0,
      stats.groups ? double(stats.build_micros) / double(stats.groups) : 0.0,
      stats.groups ? double(stats.write_micros) / double(stats.groups) : 0.0, CpuMeter::Cores(),
      append_cpu_us, commands_cpu_us);
  return 0;
}

}  // namespace ledger::bench

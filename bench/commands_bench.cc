#include "commands_bench.h"

#include <fmt/format.h>

#include <algorithm>

#include "append_bench.h"
#include "bench_util.h"
#include "clients.h"
#include "commands/lease_table.h"
#include "commands/service.h"

namespace ledger::bench {
namespace {

constexpr int kTenants = 16;

std::unique_ptr<Store> OpenStore(const std::string& path) {
  std::unique_ptr<Store> store;
  StoreOptions options;
  commands::AddSideTables(&options);
  Status s = Store::Open(options, path, &store);
  if (!s.ok()) fmt::print(stderr, "ledger-bench: {}\n", s.ToString());
  return store;
}

// Defines the product and creates the tenants the commands go to.
bool SetUp(commands::CommandService& service) {
  bool ok = service
                .ExecuteJson(R"({"type":"define_product","actor":"system","id":"p",
        "product":"bench.pro","editions":["standard","pro"]})")
                .status == "accepted";
  for (int t = 0; t < kTenants; ++t) {
    ok = ok && service
                       .ExecuteJson(fmt::format(
                           R"({{"type":"create_tenant","tenant":"t{0}","actor":"system","id":"t{0}",
                         "owner":"owner{0}","owner_email":"owner{0}@bench.test"}})",
                           t))
                       .status == "accepted";
  }
  return ok;
}

// Adds the CPU each thread name used since `before` to `*sum`.
void AddThreadCpu(const std::map<std::string, double>& before, std::map<std::string, double>* sum) {
  for (const auto& [name, us] : ThreadCpuMicrosByName()) {
    auto it = before.find(name);
    (*sum)[name] += us - (it == before.end() ? 0.0 : it->second);
  }
}

// {"name":µs per operation,...} of the threads that used at least 0.05 µs per operation.
std::string ThreadCpuJson(const std::map<std::string, double>& sum, double ops) {
  std::string out;
  for (const auto& [name, us] : sum) {
    if (us / ops < 0.05) continue;
    out += fmt::format("{}\"{}\":{:.1f}", out.empty() ? "" : ",", name, us / ops);
  }
  return "{" + out + "}";
}

// Adds `run` (one round) to `total`.
void Accumulate(const Run& run, Run* total) {
  total->seconds += run.seconds;
  total->ok = total->ok && run.ok;
  total->latencies_us.insert(total->latencies_us.end(), run.latencies_us.begin(),
                             run.latencies_us.end());
}

}  // namespace

int RunCommandsBench(const CommandsBenchOptions& o) {
  // Two ledgers side by side: the ledger core's durable appends (the baseline) and the
  // same clients' commands. Rounds alternate between them so that both see the same
  // machine: on a shared VM the speed drifts by tens of percent within a minute.
  ScratchDir append_dir(o.dir, "commands-baseline");
  ScratchDir commands_dir(o.dir, "commands-ledger");
  auto append_store = OpenStore(append_dir.path());
  auto commands_store = OpenStore(commands_dir.path());
  if (!append_store || !commands_store) return 1;
  commands::CommandService service(commands_store.get());
  if (!SetUp(service)) {
    fmt::print(stderr, "ledger-bench: setup failed\n");
    return 1;
  }
  const int rounds = std::max(1, std::min(o.rounds, o.commands / std::max(1, o.clients)));
  const int per_round = o.commands / rounds;
  const int total = per_round * rounds;
  // One invite_member per command: parsed from JSON, decided against the tenant's state
  // in the writer, appended, answered. The clients' requests are formatted before the
  // clock starts: a client's own formatting is not the ledger's work.
  std::vector<std::vector<std::string>> requests(static_cast<size_t>(o.clients));
  for (int c = 0; c < o.clients; ++c) {
    const int t = c % kTenants;
    const long share = ShareOf(o.clients, per_round, c) * rounds;
    for (long n = 0; n < share; ++n) {
      requests[c].push_back(
          fmt::format(R"({{"type":"invite_member","tenant":"t{}","actor":"owner{}","id":"c{}-{}",)"
                      R"("user":"u{}-{}","email":"u{}-{}@bench.test","name":"Bench User {} {}"}})",
                      t, t, c, n, c, n, c, n, c, n));
    }
  }

  Run appends, commands_run;
  double append_cpu = 0, commands_cpu = 0;                         // µs of CPU, every thread
  std::map<std::string, double> append_threads, commands_threads;  // µs by thread name
  std::vector<double> round_ratios;
  for (int r = 0; r < rounds; ++r) {
    auto threads = ThreadCpuMicrosByName();
    double cpu = ProcessCpuMicros();
    const Run a = RunLedgerAppends(*append_store, o.clients, per_round, 300, /*async=*/true,
                                   /*first_n=*/long{r} * per_round);
    append_cpu += ProcessCpuMicros() - cpu;
    AddThreadCpu(threads, &append_threads);
    threads = ThreadCpuMicrosByName();
    cpu = ProcessCpuMicros();
    const Run c =
        RunAsync(o.clients, per_round, [&](int client, long n, std::function<void(bool)> done) {
          const long index = long{r} * ShareOf(o.clients, per_round, client) + n;
          service.SubmitJson(requests[client][index],
                             [done = std::move(done)](commands::CommandResult result) {
                               done(result.status == "accepted");
                             });
        });
    commands_cpu += ProcessCpuMicros() - cpu;
    AddThreadCpu(threads, &commands_threads);
    round_ratios.push_back(a.seconds / c.seconds);
    Accumulate(a, &appends);
    Accumulate(c, &commands_run);
  }
  const StoreStats stats = commands_store->Stats();
  if (!appends.ok || !commands_run.ok) {
    fmt::print(stderr, "ledger-bench: a command or append failed\n");
    return 1;
  }
  const double commands_per_s = total / commands_run.seconds;
  const double appends_per_s = total / appends.seconds;
  std::string ratios;
  for (const double x : round_ratios)
    ratios += fmt::format("{}{:.2f}", ratios.empty() ? "" : ",", x);
  std::vector<double> sorted = round_ratios;
  std::sort(sorted.begin(), sorted.end());
  fmt::print(
      "{{\"bench\":\"commands\",\"clients\":{},\"commands\":{},\"rounds\":{},"
      "\"commands_per_s\":{:.0f},\"p50_us\":{:.0f},\"p99_us\":{:.0f},"
      "\"append_events_per_s\":{:.0f},\"ratio_to_append\":{:.2f},\"round_ratios\":[{}],"
      "\"median_round_ratio\":{:.2f},\"avg_group_size\":{:.1f},\"avg_group_build_us\":{:.0f},"
      "\"avg_group_write_us\":{:.0f},\"cores\":{},\"append_cpu_us\":{:.1f},"
      "\"commands_cpu_us\":{:.1f},\"append_thread_cpu_us\":{},"
      "\"commands_thread_cpu_us\":{}}}\n",
      o.clients, total, rounds, commands_per_s, Percentile(commands_run.latencies_us, 50),
      Percentile(commands_run.latencies_us, 99), appends_per_s, commands_per_s / appends_per_s,
      ratios, sorted[sorted.size() / 2],
      stats.groups ? double(stats.requests) / double(stats.groups) : 0.0,
      stats.groups ? double(stats.build_micros) / double(stats.groups) : 0.0,
      stats.groups ? double(stats.write_micros) / double(stats.groups) : 0.0, CpuMeter::Cores(),
      append_cpu / total, commands_cpu / total, ThreadCpuJson(append_threads, total),
      ThreadCpuJson(commands_threads, total));
  return 0;
}

}  // namespace ledger::bench

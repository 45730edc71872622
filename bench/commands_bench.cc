#include "commands_bench.h"

#include <fmt/format.h>

#include <algorithm>

#include "append_bench.h"
#include "bench_util.h"
#include "clients.h"
#include "commands/lease_table.h"
#include "commands/service.h"
#include "projections/views.h"

namespace ledger::bench {
namespace {

constexpr int kTenants = 16;

// Defines the product and creates the tenants the commands go to.
bool SetUp(commands::CommandService& service) { return CreateBenchTenants(service, kTenants); }

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

// One ledger the commands run on, and what they measured there.
struct CommandLedger {
  std::unique_ptr<Store> store;
  std::unique_ptr<commands::CommandService> service;
  Run run;
  double cpu = 0;                         // µs of CPU, every thread
  std::map<std::string, double> threads;  // µs by thread name
  std::vector<double> round_ratios;       // appends' time ÷ these commands' time, per round
};

// Opens a commands ledger in `dir` and creates its tenants; false on a failure.
bool OpenCommandLedger(const std::string& dir, bool views, CommandLedger* l) {
  l->store = OpenStore(dir, views);
  if (!l->store) return false;
  l->service = std::make_unique<commands::CommandService>(l->store.get());
  if (!SetUp(*l->service)) {
    fmt::print(stderr, "ledger-bench: setup failed\n");
    return false;
  }
  return true;
}

// One round of `requests` on `l`; `append_seconds` is the same round's baseline.
void RunRound(CommandLedger* l, const std::vector<std::vector<std::string>>& requests, int clients,
              int per_round, int r, double append_seconds) {
  const auto threads = ThreadCpuMicrosByName();
  const double cpu = ProcessCpuMicros();
  const Run c =
      RunAsync(clients, per_round, [&](int client, long n, std::function<void(bool)> done) {
        const long index = long{r} * ShareOf(clients, per_round, client) + n;
        l->service->SubmitJson(requests[client][index],
                               [done = std::move(done)](commands::CommandResult result) {
                                 done(result.status == "accepted");
                               });
      });
  l->cpu += ProcessCpuMicros() - cpu;
  AddThreadCpu(threads, &l->threads);
  l->round_ratios.push_back(append_seconds / c.seconds);
  Accumulate(c, &l->run);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string List(const std::vector<double>& v) {
  std::string out;
  for (const double x : v) out += fmt::format("{}{:.2f}", out.empty() ? "" : ",", x);
  return out;
}

}  // namespace

std::unique_ptr<Store> OpenStore(const std::string& path, bool views) {
  std::unique_ptr<Store> store;
  StoreOptions options;
  if (views) options.projectors = {std::make_shared<projections::ViewProjector>()};
  commands::AddSideTables(&options);
  Status s = Store::Open(options, path, &store);
  if (!s.ok()) fmt::print(stderr, "ledger-bench: {}\n", s.ToString());
  return store;
}

bool CreateBenchTenants(commands::CommandService& service, int tenants) {
  bool ok = service
                .ExecuteJson(R"({"type":"define_product","actor":"system","id":"p",
        "product":"bench.pro","editions":["standard","pro"]})")
                .status == "accepted";
  for (int t = 0; t < tenants; ++t) {
    ok = ok && service
                       .ExecuteJson(fmt::format(
                           R"({{"type":"create_tenant","tenant":"t{0}","actor":"system","id":"t{0}",
                         "owner":"owner{0}","owner_email":"owner{0}@bench.test"}})",
                           t))
                       .status == "accepted";
  }
  return ok;
}

int RunCommandsBench(const CommandsBenchOptions& o) {
  // The ledger core's durable appends (the baseline) and the same clients' commands on a
  // store configured as ledgerd's (and, when compared, on one without views). Rounds
  // alternate between them so that all see the same machine: on a shared VM the speed
  // drifts by tens of percent within a minute.
  ScratchDir append_dir(o.dir, "commands-baseline");
  ScratchDir views_dir(o.dir, "commands-ledger");
  ScratchDir bare_dir(o.dir, "commands-no-views");
  auto append_store = OpenStore(append_dir.path(), /*views=*/false);
  CommandLedger product, bare;
  if (!append_store || !OpenCommandLedger(views_dir.path(), true, &product)) return 1;
  if (o.compare_without_views && !OpenCommandLedger(bare_dir.path(), false, &bare)) return 1;
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

  Run appends;
  double append_cpu = 0;
  std::map<std::string, double> append_threads;
  for (int r = 0; r < rounds; ++r) {
    const auto threads = ThreadCpuMicrosByName();
    const double cpu = ProcessCpuMicros();
    const Run a = RunLedgerAppends(*append_store, o.clients, per_round, 300, /*async=*/true,
                                   /*first_n=*/long{r} * per_round);
    append_cpu += ProcessCpuMicros() - cpu;
    AddThreadCpu(threads, &append_threads);
    Accumulate(a, &appends);
    RunRound(&product, requests, o.clients, per_round, r, a.seconds);
    if (o.compare_without_views) RunRound(&bare, requests, o.clients, per_round, r, a.seconds);
  }
  if (!appends.ok || !product.run.ok || (o.compare_without_views && !bare.run.ok)) {
    fmt::print(stderr, "ledger-bench: a command or append failed\n");
    return 1;
  }
  const StoreStats stats = product.store->Stats();
  const double commands_per_s = total / product.run.seconds;
  const double appends_per_s = total / appends.seconds;
  std::string without;
  if (o.compare_without_views) {
    const double bare_per_s = total / bare.run.seconds;
    std::vector<double> views_cost;  // with views ÷ without, per round
    for (size_t i = 0; i < bare.round_ratios.size(); ++i) {
      views_cost.push_back(product.round_ratios[i] / bare.round_ratios[i]);
    }
    without = fmt::format(
        ",\"no_views_commands_per_s\":{:.0f},\"no_views_ratio_to_append\":{:.2f},"
        "\"no_views_round_ratios\":[{}],\"median_ratio_views_to_no_views\":{:.2f},"
        "\"no_views_commands_cpu_us\":{:.1f}",
        bare_per_s, bare_per_s / appends_per_s, List(bare.round_ratios), Median(views_cost),
        bare.cpu / total);
  }
  fmt::print(
      "{{\"bench\":\"commands\",\"views\":true,\"clients\":{},\"commands\":{},\"rounds\":{},"
      "\"commands_per_s\":{:.0f},\"p50_us\":{:.0f},\"p99_us\":{:.0f},"
      "\"append_events_per_s\":{:.0f},\"ratio_to_append\":{:.2f},\"round_ratios\":[{}],"
      "\"median_round_ratio\":{:.2f},\"avg_group_size\":{:.1f},\"avg_group_build_us\":{:.0f},"
      "\"avg_group_write_us\":{:.0f},\"cores\":{},\"append_cpu_us\":{:.1f},"
      "\"commands_cpu_us\":{:.1f},\"append_thread_cpu_us\":{},"
      "\"commands_thread_cpu_us\":{}{}}}\n",
      o.clients, total, rounds, commands_per_s, Percentile(product.run.latencies_us, 50),
      Percentile(product.run.latencies_us, 99), appends_per_s, commands_per_s / appends_per_s,
      List(product.round_ratios), Median(product.round_ratios),
      stats.groups ? double(stats.requests) / double(stats.groups) : 0.0,
      stats.groups ? double(stats.build_micros) / double(stats.groups) : 0.0,
      stats.groups ? double(stats.write_micros) / double(stats.groups) : 0.0, CpuMeter::Cores(),
      append_cpu / total, product.cpu / total, ThreadCpuJson(append_threads, total),
      ThreadCpuJson(product.threads, total), without);
  return 0;
}

}  // namespace ledger::bench

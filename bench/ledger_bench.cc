// ledger-bench: performance measurements of the ledger, one JSON line per run.
//
//   ledger-bench append --clients C --events N --json [--threads] [--event-bytes B] [--dir DIR]
//   ledger-bench commands --clients C [--commands N] [--rounds R] [--compare-without-views]
//                         --json [--dir DIR]   (the store as ledgerd opens it: with views)
//   ledger-bench check [--tenants T --users U --checks N --threads K] --json [--dir DIR]
//   ledger-bench replay [--events N] --json [--dir DIR]
//   ledger-bench asof [--events N --samples S] --json [--dir DIR]
//   ledger-bench verify [--events N] --json [--dir DIR]
//   ledger-bench network [--clients C --commands N --checks M] --json [--dir DIR]
//   ledger-bench export [--events N] [--format jsonl|csv] --json [--dir DIR]
//   ledger-bench heartbeat [--clients C --heartbeats N] --json [--dir DIR]
//   ledger-bench postgres [--clients C --commands N --rounds R] --json [--dir DIR]
// check/replay/asof/verify/export also take --keep (leave the ledger) and --reuse (use the kept
// one).
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "append_bench.h"
#include "commands_bench.h"
#include "echo_peer.h"
#include "export_bench.h"
#include "heartbeat_bench.h"
#include "network_bench.h"
#include "postgres_bench.h"
#include "views_bench.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: ledger-bench append|commands [options] --json\n");
    return 2;
  }
  const std::string verb = argv[1];
  if (verb == "export") return ledger::bench::RunExportBench(argc, argv);            // own options
  if (verb == "network") return ledger::bench::RunNetworkBench(argc - 1, argv + 1);  // own options
  if (verb == "heartbeat") return ledger::bench::RunHeartbeatBench(argc - 1, argv + 1);
  if (verb == "echo-peer") return ledger::bench::RunEchoPeer(argc - 1, argv + 1);  // a baseline
  if (verb == "postgres") return ledger::bench::RunPostgresBench(argc - 1, argv + 1);
  ledger::bench::AppendBenchOptions append;
  ledger::bench::ViewsBenchOptions views;
  po::options_description desc("options");
  desc.add_options()("help", "show options")("json", "print one JSON line (the only format)")(
      "clients", po::value<int>(&append.clients), "concurrent clients")(
      "events", po::value<int>(&append.events), "events to append")(
      "commands", po::value<int>(), "commands to run (commands benchmark)")(
      "rounds", po::value<int>(), "commands: turns the baseline and the commands take")(
      "compare-without-views", "commands: also run the commands on a store without views")(
      "event-bytes", po::value<int>(&append.event_bytes), "approximate size of one event")(
      "dir", po::value<std::string>(&append.dir), "scratch directory on the disk under test")(
      "threads", "clients are threads blocked in Append (default: asynchronous clients)")(
      "skip-raw", po::bool_switch(&append.skip_raw), "profiling: skip the raw RocksDB baseline")(
      "tenants", po::value<int>(&views.tenants), "check: tenants")(
      "users", po::value<int>(&views.users), "check: members per tenant")(
      "extra-events", po::value<int>(&views.extra_events), "check: seat churn per tenant")(
      "checks", po::value<long>(&views.checks), "check: checks to time")(
      "reader-threads", po::value<int>(&views.threads), "check: reader threads")(
      "samples", po::value<int>(&views.samples), "asof: reconstructions to time")(
      "keep", po::bool_switch(&views.keep), "leave the generated ledger in --dir")(
      "reuse", po::bool_switch(&views.reuse), "use the ledger kept in --dir");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc - 1, argv + 1, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "ledger-bench: {}\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  views.dir = append.dir;
  if (vm.count("events")) views.events = vm["events"].as<int>();
  if (verb == "check") return ledger::bench::RunCheckBench(views);
  if (verb == "replay") return ledger::bench::RunReplayBench(views, "/proc/self/exe");
  if (verb == "replay-fold") return ledger::bench::RunReplayFold(views);
  if (verb == "asof") return ledger::bench::RunAsOfBench(views);
  if (verb == "verify") return ledger::bench::RunVerifyBench(views);
  if (append.clients < 1 || append.events < append.clients) {
    fmt::print(stderr, "ledger-bench: --clients must be >= 1 and --events >= --clients\n");
    return 2;
  }
  if (vm.count("threads")) append.async_clients = false;
  if (verb == "append") return ledger::bench::RunAppendBench(append);
  if (verb == "commands") {
    ledger::bench::CommandsBenchOptions commands;
    commands.clients = append.clients;
    commands.dir = append.dir;
    if (vm.count("commands")) commands.commands = vm["commands"].as<int>();
    if (vm.count("rounds")) commands.rounds = vm["rounds"].as<int>();
    commands.compare_without_views = vm.count("compare-without-views") > 0;
    return ledger::bench::RunCommandsBench(commands);
  }
  fmt::print(stderr, "ledger-bench: unknown benchmark '{}'\n", verb);
  return 2;
}

// ledger-bench: performance measurements of the ledger, one JSON line per run.
//
//   ledger-bench append --clients C --events N --json [--threads] [--event-bytes B] [--dir DIR]
//   ledger-bench commands --clients C [--commands N] --json [--dir DIR]
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "append_bench.h"
#include "commands_bench.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: ledger-bench append|commands [options] --json\n");
    return 2;
  }
  const std::string verb = argv[1];
  ledger::bench::AppendBenchOptions append;
  po::options_description desc("options");
  desc.add_options()("help", "show options")("json", "print one JSON line (the only format)")(
      "clients", po::value<int>(&append.clients), "concurrent clients")(
      "events", po::value<int>(&append.events), "events to append")(
      "commands", po::value<int>(), "commands to run (commands benchmark)")(
      "event-bytes", po::value<int>(&append.event_bytes), "approximate size of one event")(
      "dir", po::value<std::string>(&append.dir), "scratch directory on the disk under test")(
      "threads", "clients are threads blocked in Append (default: asynchronous clients)")(
      "skip-raw", po::bool_switch(&append.skip_raw), "profiling: skip the raw RocksDB baseline");
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
    return ledger::bench::RunCommandsBench(commands);
  }
  fmt::print(stderr, "ledger-bench: unknown benchmark '{}'\n", verb);
  return 2;
}

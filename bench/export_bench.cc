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

#include "bench_ledger.h"
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
    auto store = Open(dir.path(), nullptr, false);
    if (!store || !LoadLog(*store, o.events)) {
      fmt::print(stderr, "ledger-bench: loading the ledger failed\n");
      return 1;
    }
  }
  // A reader, as ledger-replay opens the ledger.
  auto store = Open(dir.path(), nullptr, true);
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

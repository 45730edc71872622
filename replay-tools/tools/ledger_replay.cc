// ledger-replay — audit tools on a ledger's data directory (DESIGN 6.2).
//
//   ledger-replay --data DIR rebuild      drop every view and rebuild it from the log
//
// The read-only verbs of DESIGN 6.2 (state, diff, history, explain, verify, digest,
// export) come with the replay-tools issue. Exit codes: 0 done, 1 the ledger failed,
// 2 bad usage.
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>

#include "ledger/store.h"
#include "projections/views.h"

namespace po = boost::program_options;

namespace {

int Usage(const std::string& message) {
  fmt::print(stderr, "ledger-replay: {}\n", message);
  fmt::print(stderr, "usage: ledger-replay --data DIR rebuild\n");
  return 2;
}

// Opens the ledger with every view dropped and rebuilt from the log (progress on stderr),
// then reports what was rebuilt.
int Rebuild(const std::string& data) {
  const auto start = std::chrono::steady_clock::now();
  auto views = std::make_shared<projections::ViewProjector>();
  ledger::StoreOptions options;
  options.projectors = {views};
  options.rebuild_projections = true;
  std::unique_ptr<ledger::Store> store;
  ledger::Status s = ledger::Store::Open(options, data, &store);
  if (!s.ok()) {
    fmt::print(stderr, "ledger-replay: cannot rebuild the views in {}: {}\n", data, s.ToString());
    return 1;
  }
  ledger::ProjectionCheckpoint checkpoint;
  s = store->GetProjectionCheckpoint(views->name(), &checkpoint);
  if (!s.ok()) {
    fmt::print(stderr, "ledger-replay: no checkpoint after the rebuild: {}\n", s.ToString());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format(
      "{{\"rebuilt\":\"{}\",\"version\":{},\"position\":{},\"events\":{},\"seconds\":{:.3f}}}\n",
      views->name(), checkpoint.version, checkpoint.position, store->LastPosition(), seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data;
  po::options_description options("options");
  options.add_options()("help,h", "show usage")("data", po::value(&data), "ledger directory")(
      "verb", po::value<std::string>(), "what to do");
  po::positional_options_description positional;
  positional.add("verb", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Usage(e.what());
  }
  if (vm.count("help")) return Usage("help");
  if (data.empty()) return Usage("--data DIR is required");
  if (!vm.count("verb")) return Usage("no verb given");
  const std::string verb = vm["verb"].as<std::string>();
  if (verb == "rebuild") return Rebuild(data);
  return Usage("unknown verb '" + verb + "' (this build has: rebuild)");
}

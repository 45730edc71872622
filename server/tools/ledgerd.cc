// ledgerd — the ledger as a network service for backend services (DESIGN 6.3).
//
//   ledgerd [--data DIR] [--http HOST:PORT] --tokens FILE [--create-dev-token]
//           [--clock manual] [--ready-file F]
//
// Defaults: data ./var/ledger, HTTP on 127.0.0.1:7701. With --create-dev-token and no
// tokens file yet, a development token (all tenants, system rights) is generated, its
// digest written to FILE and the token printed once. SIGTERM/SIGINT: stop accepting,
// answer in-flight commands, close the store (flushed), exit 0. One log line per start,
// stop and error on stderr; tokens are never logged.
#include <fmt/format.h>
#include <signal.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "commands/service.h"
#include "ledger/store.h"
#include "projections/view_reader.h"
#include "projections/views.h"
#include "server/http_server.h"
#include "server/tokens.h"

namespace po = boost::program_options;

namespace {

bool SplitHostPort(const std::string& text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = text.substr(0, colon);
  try {
    const int p = std::stoi(text.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    *port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return true;
}

int Usage(const std::string& message) {
  fmt::print(stderr, "ledgerd: {}\n", message);
  fmt::print(stderr,
             "usage: ledgerd [--data DIR] [--http HOST:PORT] --tokens FILE [--create-dev-token] "
             "[--clock manual] [--ready-file F]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "var/ledger", http = "127.0.0.1:7701", tokens_file, clock, ready_file;
  po::options_description options("options");
  options.add_options()("help,h", "usage")("data", po::value(&data), "ledger directory")(
      "http", po::value(&http), "HTTP listener HOST:PORT (port 0: any)")(
      "tokens", po::value(&tokens_file), "tokens file")(
      "create-dev-token", "create a development token if the tokens file does not exist")(
      "clock", po::value(&clock), "manual: commands carry their time (new ledgers only)")(
      "ready-file", po::value(&ready_file), "write the bound HTTP address here when serving");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Usage(e.what());
  }
  if (vm.count("help")) return Usage("help");
  if (tokens_file.empty()) return Usage("--tokens FILE is required");
  if (!clock.empty() && clock != "manual" && clock != "system") {
    return Usage("--clock must be manual or system");
  }
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(http, &host, &port)) return Usage("--http: expected HOST:PORT");

  if (vm.count("create-dev-token") && !std::filesystem::exists(tokens_file)) {
    const server::DevelopmentToken dev = server::NewDevelopmentToken("development");
    std::error_code ec;
    const auto parent = std::filesystem::path(tokens_file).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    std::ofstream(tokens_file) << dev.file_json << "\n";
    // The one time the secret is shown: stdout, not the log.
    std::cout << "development token (shown once; its digest is in " << tokens_file
              << "): " << dev.token << std::endl;
  }
  server::TokenRegistry tokens;
  ledger::Status s = server::TokenRegistry::Load(tokens_file, &tokens);
  if (!s.ok()) return Usage(s.message());

  // Signals are taken by sigwait below, on this thread only.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto views = std::make_shared<projections::ViewProjector>();
  ledger::StoreOptions store_options;
  store_options.projectors = {views};
  if (clock == "manual") store_options.clock_mode_if_new = ledger::ClockMode::kManual;
  std::unique_ptr<ledger::Store> store;
  s = ledger::Store::Open(store_options, data, &store);
  if (!s.ok()) {
    fmt::print(stderr, "ledgerd: cannot open {}: {}\n", data, s.ToString());
    return 1;
  }
  auto service = std::make_unique<commands::CommandService>(store.get());
  auto reader = std::make_unique<projections::ViewReader>(views.get(), store.get());
  server::HttpServer server({store.get(), service.get(), reader.get()}, &tokens, {});
  uint16_t bound = 0;
  s = server.Listen(host, port, &bound);
  if (!s.ok()) {
    fmt::print(stderr, "ledgerd: {}\n", s.ToString());
    return 1;
  }
  std::thread io([&] { server.Run(); });
  fmt::print(stderr, "ledgerd: serving {} on http://{}:{} ({} tokens)\n", data, host, bound,
             tokens.size());
  if (!ready_file.empty()) {
    const std::string tmp = ready_file + ".tmp";
    std::ofstream(tmp) << host << ":" << bound << "\n";
    std::filesystem::rename(tmp, ready_file);
  }
  int sig = 0;
  sigwait(&signals, &sig);
  fmt::print(stderr, "ledgerd: {} received, draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.Stop();
  io.join();
  reader.reset();
  service.reset();
  store.reset();  // waits for in-flight groups, flushes
  fmt::print(stderr, "ledgerd: stopped\n");
  return 0;
}

// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include "network_bench.h"

#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "bench_util.h"
#include "capnp_load.h"
#include "clients.h"
#include "commands_bench.h"
#include "echo_peer.h"
#include "http_load.h"
#include "ledger/sha256.h"
#include "ledgerd_child.h"
#include "server/framing.h"

extern char** environ;

namespace ledger::bench {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace po = boost::program_options;
using tcp = net::ip::tcp;
using json = nlohmann::json;

constexpr int kTenants = 16;
// ledgerd's I/O threads (its --io-threads default), given to the echo peer too.
constexpr int kIoThreads = 2;

struct Phase {
  bool ok = true;
  double seconds = 0;
  std::vector<int64_t> latencies_us;
  CpuShare cpu;  // where the CPU went while the phase ran
};

// `per_client` commands (`command(c, n)`) from each of `clients` asynchronous clients, in
// this process, on a new store under `dir` opened as ledgerd opens it; the tenants are
// created first, as for ledgerd.
template <typename CommandOf>
Phase RunInProcess(const std::string& dir, int clients, long per_client, const CommandOf& command) {
  Phase phase;
  std::unique_ptr<Store> store = OpenStore(dir, /*views=*/true);
  if (!store) return Phase{false};
  commands::CommandService service(store.get());
  if (!CreateBenchTenants(service, kTenants)) return Phase{false};
  std::vector<std::vector<std::string>> requests(static_cast<size_t>(clients));
  for (int c = 0; c < clients; ++c) {
    for (long n = 0; n < per_client; ++n) requests[c].push_back(command(c, n));
  }
  const Run run =
      RunAsync(clients, static_cast<int>(per_client * clients),
               [&](int c, long n, std::function<void(bool)> done) {
                 service.SubmitJson(requests[c][n], [done = std::move(done)](auto result) {
                   done(result.status == "accepted");
                 });
               });
  phase.ok = run.ok;
  phase.seconds = run.seconds;
  phase.latencies_us = run.latencies_us;
  return phase;
}

}  // namespace

int RunNetworkBench(int argc, char** argv) {
  int clients = 64, pipeline = 1, batch = 1;
  long commands = 50000, checks = 200000;
  std::string dir = "var/bench", protocol = "both";
  po::options_description desc("network options");
  desc.add_options()("json", "one JSON line")("clients", po::value(&clients), "clients")(
      "commands", po::value(&commands), "commands to time")(
      "checks", po::value(&checks), "checks to time")("dir", po::value(&dir), "scratch directory")(
      "protocol", po::value(&protocol), "capnp, http or both (default)")(
      "pipeline", po::value(&pipeline), "Cap'n Proto requests outstanding per client (1)")(
      "batch", po::value(&batch), "commands per Cap'n Proto submit (1)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "ledger-bench network: {}\n", e.what());
    return 2;
  }
  if (protocol != "capnp" && protocol != "http" && protocol != "both") {
    fmt::print(stderr, "ledger-bench network: --protocol must be capnp, http or both\n");
    return 2;
  }
  if (clients < 1 || pipeline < 1 || batch < 1 || batch > 1000 || commands < clients ||
      checks < clients) {
    fmt::print(stderr,
               "ledger-bench network: --clients, --pipeline >= 1, --batch 1..1000, --commands and "
               "--checks >= clients\n");
    return 2;
  }
  ScratchDir scratch(dir, "network");
  const std::string ledgerd = LedgerdNextToBench();
  Server server(scratch.path());
  if (!server.Start(ledgerd)) {
    fmt::print(stderr, "ledger-bench network: cannot start {}\n", ledgerd);
    return 1;
  }
  {
    Client setup(server.port());
    json batch = json::array();
    batch.push_back({{"type", "define_product"},
                     {"actor", "system"},
                     {"product", "bench.pro"},
                     {"editions", {"standard"}}});
    for (int t = 0; t < kTenants; ++t) {
      batch.push_back({{"type", "create_tenant"},
                       {"tenant", fmt::format("t{}", t)},
                       {"actor", "system"},
                       {"owner", fmt::format("owner{}", t)},
                       {"owner_email", fmt::format("owner{}@bench.test", t)}});
    }
    std::string out;
    if (setup.Send(http::verb::post, "/v1/commands", batch.dump(), &out) != 200) {
      fmt::print(stderr, "ledger-bench network: setup failed: {}\n", out);
      return 1;
    }
  }
  // Commands: invite_member, one event each, formatted (and framed) before the clock starts.
  const long per_client = commands / clients;
  const long checks_per_client = checks / clients;
  auto invite = [](const char* prefix, int c, long n) {
    const int t = c % kTenants;
    return fmt::format(
        R"({{"type":"invite_member","tenant":"t{}","actor":"owner{}","id":"{}c{}-{}",)"
        R"("user":"{}u{}-{}","email":"{}u{}-{}@bench.test"}})",
        t, t, prefix, c, n, prefix, c, n, prefix, c, n);
  };
  // Checks of the invited users (answers: invitation_pending) and owners (no_seat).
  auto check_user = [&](const char* prefix, int c, long n) {
    return n % 2 == 0 ? fmt::format("{}u{}-{}", prefix, c, n % per_client)
                      : fmt::format("owner{}", c % kTenants);
  };

  // Cap'n Proto: one thread drives every connection (see capnp_load.h).
  Phase capnp_cmd, capnp_chk, echo, inprocess;
  GroupTimes capnp_groups;  // ledgerd's groups while the Cap'n Proto commands ran
  if (protocol != "http") {
    std::vector<std::vector<kj::Array<capnp::word>>> frames(static_cast<size_t>(clients));
    for (int c = 0; c < clients; ++c) {
      for (long n = 0; n < per_client; n += batch) {
        capnp::MallocMessageBuilder mb(256);
        auto req = mb.initRoot<server::wire::Request>();
        req.setId(static_cast<uint64_t>(n / batch + 1));
        req.setToken(kToken);
        const long count = std::min<long>(batch, per_client - n);
        auto list = req.initSubmit(static_cast<unsigned>(count));
        for (long i = 0; i < count; ++i) list.set(static_cast<unsigned>(i), invite("k", c, n + i));
        frames[static_cast<size_t>(c)].push_back(server::ToFrame(mb));
      }
    }
    std::optional<CpuMeter> meter(server.pid());
    LoadResult r = RunCapnpLoad(server.capnp_port(), frames, pipeline, [](auto resp) {
      if (!resp.isResults()) return false;
      for (const auto result : resp.getResults()) {
        if (std::string_view(result.cStr()).find("\"accepted\"") == std::string_view::npos) {
          return false;
        }
      }
      return true;
    });
    capnp_cmd = {r.ok, r.seconds, std::move(r.latencies_us),
                 meter->Finish(static_cast<double>(per_client * clients), r.seconds)};
    capnp_groups = GroupTimesOf(server);
    // The baseline: the same commands, clients and tenants in this process, through the
    // CommandService of a store opened as ledgerd opens it (views and side tables).
    inprocess = RunInProcess(scratch.path() + "/in-process", clients, per_client,
                             [&](int c, long n) { return invite("i", c, n); });
    for (int c = 0; c < clients; ++c) {
      auto& list = frames[static_cast<size_t>(c)];
      list.clear();
      for (long n = 0; n < checks_per_client; ++n) {
        list.push_back(CheckFrame(static_cast<uint64_t>(n + 1), kToken,
                                  fmt::format("t{}", c % kTenants), check_user("k", c, n),
                                  "bench.pro"));
      }
    }
    meter.emplace(server.pid());
    const auto denied = [](auto resp) { return resp.isCheck() && !resp.getCheck().getAllowed(); };
    r = RunCapnpLoad(server.capnp_port(), frames, pipeline, denied);
    capnp_chk = {r.ok, r.seconds, std::move(r.latencies_us),
                 meter->Finish(static_cast<double>(checks_per_client * clients), r.seconds)};
    // The baseline: the same frames, clients and pipeline against the echo peer.
    EchoPeerChild peer(scratch.path());
    if (!peer.Start(kIoThreads)) {
      fmt::print(stderr, "ledger-bench network: cannot start the echo peer\n");
      return 1;
    }
    meter.emplace(peer.pid());
    r = RunCapnpLoad(peer.port(), frames, pipeline, denied);
    echo = {r.ok, r.seconds, std::move(r.latencies_us),
            meter->Finish(static_cast<double>(checks_per_client * clients), r.seconds)};
  }

  // HTTP/1.1: the same clients, keep-alive connections driven by one thread (http_load.h).
  Phase cmd, chk;
  if (protocol != "capnp") {
    std::vector<std::vector<std::string>> posts(static_cast<size_t>(clients));
    std::vector<std::vector<std::string>> gets(static_cast<size_t>(clients));
    for (int c = 0; c < clients; ++c) {
      for (long n = 0; n < per_client; ++n) {
        posts[static_cast<size_t>(c)].push_back(
            HttpRequest("POST", "/v1/commands", kToken, invite("h", c, n)));
      }
      for (long n = 0; n < checks_per_client; ++n) {
        gets[static_cast<size_t>(c)].push_back(
            HttpRequest("GET",
                        fmt::format("/v1/tenants/t{}/check?user={}&product=bench.pro", c % kTenants,
                                    check_user("h", c, n)),
                        kToken));
      }
    }
    std::optional<CpuMeter> meter(server.pid());
    LoadResult r = RunHttpLoad(server.port(), posts, [](int status, std::string_view body) {
      return status == 200 && body.find("\"accepted\"") != std::string_view::npos;
    });
    cmd = {r.ok, r.seconds, std::move(r.latencies_us),
           meter->Finish(static_cast<double>(per_client * clients), r.seconds)};
    meter.emplace(server.pid());
    r = RunHttpLoad(server.port(), gets, [](int status, std::string_view body) {
      return status == 200 && body.find("\"allowed\"") != std::string_view::npos;
    });
    chk = {r.ok, r.seconds, std::move(r.latencies_us),
           meter->Finish(static_cast<double>(checks_per_client * clients), r.seconds)};
  }
  server.Stop();
  if (!cmd.ok || !chk.ok || !capnp_cmd.ok || !capnp_chk.ok || !echo.ok || !inprocess.ok) {
    fmt::print(stderr, "ledger-bench network: a request failed\n");
    return 1;
  }
  const double commands_done = static_cast<double>(per_client * clients);
  const double checks_done = static_cast<double>(checks_per_client * clients);
  auto figures = [&](Phase& c, Phase& k) {
    return fmt::format(
               "\"commands_per_s\":{:.0f},\"commands_p50_ms\":{:.2f},\"commands_p99_ms\":{:.2f},"
               "\"checks_per_s\":{:.0f},\"checks_p50_ms\":{:.3f},\"checks_p99_ms\":{:.3f}",
               commands_done / c.seconds, Percentile(c.latencies_us, 50) / 1000,
               Percentile(c.latencies_us, 99) / 1000, checks_done / k.seconds,
               Percentile(k.latencies_us, 50) / 1000, Percentile(k.latencies_us, 99) / 1000) +
           "," + CpuShareJson("commands", c.cpu) + "," + CpuShareJson("checks", k.cpu);
  };
  std::string out = fmt::format(
      "{{\"bench\":\"network\",\"cores\":{},\"clients\":{},\"pipeline\":{},\"batch\":{},"
      "\"commands\":{:.0f},\"checks\":{:.0f}",
      CpuMeter::Cores(), clients, pipeline, batch, commands_done, checks_done);
  if (protocol != "http") {
    out += ",\"protocol\":\"capnp\"," + figures(capnp_cmd, capnp_chk);
    out += fmt::format(
        ",\"echo_per_s\":{:.0f},\"echo_p50_ms\":{:.3f},\"checks_ratio_to_echo\":{:.2f},{},"
        "\"group_size\":{:.1f},\"group_build_us\":{:.0f},\"group_write_us\":{:.0f},"
        "\"inprocess_commands_per_s\":{:.0f},\"commands_ratio_to_inprocess\":{:.2f}",
        checks_done / echo.seconds, Percentile(echo.latencies_us, 50) / 1000,
        echo.seconds / capnp_chk.seconds, CpuShareJson("echo", echo.cpu), capnp_groups.size,
        capnp_groups.build_us, capnp_groups.local_write_us, commands_done / inprocess.seconds,
        inprocess.seconds / capnp_cmd.seconds);
  }
  if (protocol != "capnp") {
    out += protocol == "http" ? ",\"protocol\":\"http\"," + figures(cmd, chk)
                              : ",\"http\":{" + figures(cmd, chk) + "}";
    if (protocol == "both") {
      out += fmt::format(
          ",\"http_commands_ratio_to_capnp\":{:.2f},\"http_checks_ratio_to_capnp\":{:.2f}",
          capnp_cmd.seconds / cmd.seconds, capnp_chk.seconds / chk.seconds);
    }
  }
  fmt::print("{}}}\n", out);
  return 0;
}

}  // namespace ledger::bench

// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include "heartbeat_bench.h"

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "bench_util.h"
#include "capnp_load.h"
#include "echo_peer.h"
#include "ledgerd_child.h"
#include "server/framing.h"

namespace ledger::bench {
namespace {

namespace http = boost::beast::http;
namespace po = boost::program_options;
using json = nlohmann::json;

constexpr int kTenants = 16;

}  // namespace

int RunHeartbeatBench(int argc, char** argv) {
  int clients = 64, pipeline = 1;
  long heartbeats = 200000;
  std::string request = "submit";
  std::string dir = "var/bench";
  po::options_description desc("heartbeat options");
  desc.add_options()("json", "one JSON line")("clients", po::value(&clients), "clients")(
      "heartbeats", po::value(&heartbeats), "heartbeats to time")(
      "pipeline", po::value(&pipeline), "requests outstanding per client (1)")(
      "request", po::value(&request),
      "submit (a heartbeat command as JSON, the default) or lease (the typed lease request)")(
      "dir", po::value(&dir), "scratch directory");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "ledger-bench heartbeat: {}\n", e.what());
    return 2;
  }
  if (request != "submit" && request != "lease") {
    fmt::print(stderr, "ledger-bench heartbeat: --request must be submit or lease\n");
    return 2;
  }
  if (clients < 1 || pipeline < 1 || heartbeats < clients) {
    fmt::print(stderr,
               "ledger-bench heartbeat: --clients, --pipeline >= 1, --heartbeats >= "
               "clients\n");
    return 2;
  }
  ScratchDir scratch(dir, "heartbeat");
  Server server(scratch.path());
  if (!server.Start(LedgerdNextToBench())) {
    fmt::print(stderr, "ledger-bench heartbeat: cannot start ledgerd\n");
    return 1;
  }
  // Tenants with a concurrent subscription each, one member per client, and a lease each.
  std::vector<std::string> leases(static_cast<size_t>(clients));
  {
    Client setup(server.port());
    json batch = json::array();
    batch.push_back({{"type", "define_product"},
                     {"actor", "system"},
                     {"product", "bench.float"},
                     {"editions", {"standard"}}});
    for (int t = 0; t < kTenants; ++t) {
      const std::string tenant = fmt::format("t{}", t);
      batch.push_back({{"type", "create_tenant"},
                       {"tenant", tenant},
                       {"actor", "system"},
                       {"owner", "owner"},
                       {"owner_email", "owner@bench.test"}});
      batch.push_back({{"type", "purchase_subscription"},
                       {"tenant", tenant},
                       {"actor", "system"},
                       {"subscription", "F"},
                       {"product", "bench.float"},
                       {"edition", "standard"},
                       {"seats", clients},
                       {"seat_model", "concurrent"},
                       {"lease_ttl_seconds", 3600},
                       {"period_start", "2026-01-01T00:00:00Z"},
                       {"period_end", "2099-01-01T00:00:00Z"}});
    }
    for (int c = 0; c < clients; ++c) {
      const std::string tenant = fmt::format("t{}", c % kTenants), user = fmt::format("u{}", c);
      batch.push_back({{"type", "invite_member"},
                       {"tenant", tenant},
                       {"actor", "system"},
                       {"user", user},
                       {"email", user + "@bench.test"}});
      batch.push_back(
          {{"type", "accept_invitation"}, {"tenant", tenant}, {"actor", user}, {"user", user}});
      batch.push_back({{"type", "assign_seat"},
                       {"tenant", tenant},
                       {"actor", "system"},
                       {"subscription", "F"},
                       {"user", user}});
      batch.push_back({{"type", "checkout"},
                       {"tenant", tenant},
                       {"actor", user},
                       {"subscription", "F"},
                       {"user", user},
                       {"device", "pc"}});
    }
    std::string out;
    if (setup.Send(http::verb::post, "/v1/commands", batch.dump(), &out) != 200) {
      fmt::print(stderr, "ledger-bench heartbeat: setup failed: {}\n", out);
      return 1;
    }
    const json results = json::parse(out);
    int c = 0;
    for (const auto& r : results) {
      if (r.contains("lease")) leases[static_cast<size_t>(c++)] = r["lease"];
    }
    if (c != clients) {
      fmt::print(stderr, "ledger-bench heartbeat: {} of {} checkouts granted\n", c, clients);
      return 1;
    }
  }
  // Heartbeat frames, built before the clock starts.
  const long per_client = heartbeats / clients;
  std::vector<std::vector<kj::Array<capnp::word>>> frames(static_cast<size_t>(clients));
  for (int c = 0; c < clients; ++c) {
    const std::string command = json{{"type", "heartbeat"},
                                     {"tenant", fmt::format("t{}", c % kTenants)},
                                     {"actor", fmt::format("u{}", c)},
                                     {"lease", leases[static_cast<size_t>(c)]}}
                                    .dump();
    for (long n = 0; n < per_client; ++n) {
      capnp::MallocMessageBuilder mb(128);
      auto req = mb.initRoot<server::wire::Request>();
      req.setId(static_cast<uint64_t>(n + 1));
      req.setToken(kToken);
      if (request == "lease") {
        auto lease = req.initLease();
        lease.setTenant(fmt::format("t{}", c % kTenants));
        lease.setActor(fmt::format("u{}", c));
        lease.setHeartbeat(leases[static_cast<size_t>(c)]);
      } else {
        req.initSubmit(1).set(0, command);
      }
      frames[static_cast<size_t>(c)].push_back(server::ToFrame(mb));
    }
  }
  const CpuMeter meter(server.pid());
  LoadResult r = RunCapnpLoad(server.capnp_port(), frames, pipeline, [](auto resp) {
    if (resp.isLease()) return std::string_view(resp.getLease().getStatus().cStr()) == "accepted";
    return resp.isResults() && resp.getResults().size() == 1 &&
           std::string_view(resp.getResults()[0].cStr()).find("\"accepted\"") !=
               std::string_view::npos;
  });
  const double done = static_cast<double>(per_client * clients);
  const CpuShare cpu = meter.Finish(done, r.seconds);
  const GroupTimes groups = GroupTimesOf(server);
  server.Stop();
  if (!r.ok) {
    fmt::print(stderr, "ledger-bench heartbeat: a heartbeat was not accepted\n");
    return 1;
  }
  // The baseline: the same frames, clients and pipeline against the echo peer (echo_peer.h).
  EchoPeerChild peer(scratch.path());
  if (!peer.Start(/*io_threads=*/2)) {
    fmt::print(stderr, "ledger-bench heartbeat: cannot start the echo peer\n");
    return 1;
  }
  const CpuMeter echo_meter(peer.pid());
  const LoadResult echo =
      RunCapnpLoad(peer.port(), frames, pipeline, [](auto resp) { return resp.isCheck(); });
  const CpuShare echo_cpu = echo_meter.Finish(done, echo.seconds);
  if (!echo.ok) {
    fmt::print(stderr, "ledger-bench heartbeat: the echo peer failed\n");
    return 1;
  }
  std::cout << fmt::format(
      "{{\"bench\":\"heartbeat\",\"request\":\"{}\",\"cores\":{},\"clients\":{},\"pipeline\":{},"
      "\"heartbeats\":{:.0f},\"heartbeats_per_s\":{:.0f},\"p50_ms\":{:.2f},\"p99_ms\":{:.2f},{},"
      "\"group_size\":{:.1f},\"group_build_us\":{:.0f},\"group_write_us\":{:.0f},"
      "\"echo_per_s\":{:.0f},\"ratio_to_echo\":{:.2f},{}}}\n",
      request, CpuMeter::Cores(), clients, pipeline, done, done / r.seconds,
      Percentile(r.latencies_us, 50) / 1000, Percentile(r.latencies_us, 99) / 1000,
      CpuShareJson("heartbeats", cpu), groups.size, groups.build_us, groups.local_write_us,
      done / echo.seconds, echo.seconds / r.seconds, CpuShareJson("echo", echo_cpu));
  return 0;
}

}  // namespace ledger::bench

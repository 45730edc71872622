// ledgerd on a disk that fills up: a real ledgerd process whose data directory is a small
// tmpfs (mounted in a private mount namespace by util-linux `unshare`, so nothing leaks
// into the machine's mounts), filled by the test until writes fail. Commands must then be
// refused with a clear `unavailable` naming the full disk, reads must go on, nothing
// acknowledged may be lost, and writes must resume without a restart once space returns.
// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/client.h"
#include "support/http_request.h"
#include "support/ledgerd_process.h"
#include "support/run_tool.h"

namespace {

using json = nlohmann::json;
using ledger::testing::kSystemToken;
using ledger::testing::Launch;
using ledger::testing::LedgerdProcess;
using server::LedgerClient;

// Starts ledgerd with its data directory on a fresh tmpfs of `size` at "<test dir>/disk".
// Unprivileged users get a user namespace in which they may mount.
Launch OnSmallDisk(const std::string& size) {
  Launch launch;
  launch.prefix = {"unshare", "--mount", "--propagation", "private"};
  if (::geteuid() != 0) {
    launch.prefix.insert(launch.prefix.begin() + 1, {"--user", "--map-root-user"});
  }
  const std::string script = "mkdir -p '{dir}/disk' && mount -t tmpfs -o size=" + size +
                             " tmpfs '{dir}/disk' && exec \"$@\"";
  launch.prefix.insert(launch.prefix.end(), {"sh", "-c", script, "sh"});
  launch.data = "disk/ledger";
  return launch;
}

// Fills the file system holding `path` with a file there until a write fails ENOSPC.
void FillDisk(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  const std::string chunk(64 << 10, 'x');
  uint64_t written = 0;
  while (true) {
    const ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n <= 0) {
      REQUIRE(errno == ENOSPC);
      break;
    }
    written += static_cast<uint64_t>(n);
  }
  ::close(fd);
  CHECK(written > 0);
}

std::string Invite(const std::string& user) {
  return json{{"type", "invite_member"}, {"id", "invite-" + user}, {"tenant", "acme"},
              {"actor", "olga"},         {"user", user},           {"email", user + "@acme.test"}}
      .dump();
}

json SubmitOne(LedgerClient& client, const std::string& command) {
  std::vector<std::string> results;
  const ledger::Status s = client.Submit({command}, &results);
  INFO(s.ToString());
  REQUIRE(s.ok());
  REQUIRE(results.size() == 1);
  return json::parse(results[0]);
}

}  // namespace

TEST_CASE(
    "ledgerd on a full disk: unavailable answers, reads go on, writes resume once space "
    "returns, nothing acknowledged lost",
    "[server][nospace]") {
  LedgerdProcess d({}, OnSmallDisk("256m"));
  // The tmpfs as this process reaches it: through ledgerd's own view of the file system.
  const std::string disk = "/proc/" + std::to_string(d.pid()) + "/root" + d.path("disk");
  REQUIRE(std::filesystem::exists(disk + "/ledger/CURRENT"));

  server::ClientOptions options;
  options.port = d.capnp_port();
  options.token = kSystemToken;
  std::unique_ptr<LedgerClient> client;
  REQUIRE(LedgerClient::Connect(options, &client).ok());
  const std::vector<std::string> setup = {
      json{{"type", "create_tenant"},
           {"tenant", "acme"},
           {"actor", "system"},
           {"owner", "olga"},
           {"owner_email", "olga@acme.test"}}
          .dump(),
  };
  REQUIRE(SubmitOne(*client, setup[0])["status"] == "accepted");

  // Acknowledged before the disk fills.
  std::vector<json> acked;
  for (int i = 0; i < 20; ++i) {
    json r = SubmitOne(*client, Invite("early" + std::to_string(i)));
    REQUIRE(r["status"] == "accepted");
    acked.push_back(r);
  }

  FillDisk(disk + "/filler");
  // Submit until the full disk shows: RocksDB writes its log into blocks it allocated
  // ahead (a few MiB), so the first commands after the fill still fit.
  std::vector<std::string> refused;
  for (int batch = 0; batch < 500 && refused.empty(); ++batch) {
    std::vector<std::string> commands, results;
    for (int i = 0; i < 500; ++i) commands.push_back(Invite(fmt::format("full{}-{}", batch, i)));
    const ledger::Status s = client->Submit(commands, &results);
    INFO(s.ToString());
    REQUIRE(s.ok());
    REQUIRE(results.size() == commands.size());
    for (size_t i = 0; i < results.size(); ++i) {
      json r = json::parse(results[i]);
      if (r["status"] == "accepted" && refused.empty()) {
        acked.push_back(r);
        continue;
      }
      // Once one command is refused, every later one is too: none is half-written.
      INFO(r.dump());
      REQUIRE(r["status"] == "rejected");
      REQUIRE(r["code"] == "unavailable");
      const std::string message = r["message"];
      CHECK((message.find("No space left") != std::string::npos ||
             message.find("disk full") != std::string::npos));
      refused.push_back(commands[i]);
    }
  }
  REQUIRE_FALSE(refused.empty());
  // While full: every command is refused, naming the full disk; reads are still served.
  for (int i = 0; i < 5; ++i) {
    const std::string command = Invite("refused" + std::to_string(i));
    json r = SubmitOne(*client, command);
    INFO(r.dump());
    CHECK(r["status"] == "rejected");
    CHECK(r["code"] == "unavailable");
    CHECK(r["message"].get<std::string>().find("disk full") != std::string::npos);
    refused.push_back(command);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const auto health = ledger::testing::HttpGet(d.http_port(), "/healthz");
  CHECK(health.status == 503);
  CHECK(json::parse(health.body)["status"] == "unavailable");
  std::string state;
  REQUIRE(client->State("acme", &state).ok());
  CHECK(json::parse(state)["members"].size() == acked.size() + 1);

  // Space returns: the next commands are accepted within a few recovery intervals,
  // without a restart.
  std::filesystem::remove(disk + "/filler");
  json resumed;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    resumed = SubmitOne(*client, refused[0]);
  } while (resumed["status"] != "accepted" && std::chrono::steady_clock::now() < deadline);
  INFO(resumed.dump());
  REQUIRE(resumed["status"] == "accepted");
  CHECK(resumed["position"] == acked.back()["position"].get<uint64_t>() + 1);
  // Every refused command was never written: each is accepted now, in order.
  for (size_t i = 1; i < refused.size(); ++i) {
    CHECK(SubmitOne(*client, refused[i])["status"] == "accepted");
  }
  // Every acknowledged command is still there, at its acknowledged position.
  for (size_t from = 0; from < acked.size(); from += 500) {
    std::vector<std::string> again, results;
    const size_t to = std::min(acked.size(), from + 500);
    for (size_t i = from; i < to; ++i) {
      again.push_back(Invite(acked[i]["id"].get<std::string>().substr(7)));
    }
    REQUIRE(client->Submit(again, &results).ok());
    REQUIRE(results.size() == again.size());
    for (size_t i = from; i < to; ++i) {
      json r = json::parse(results[i - from]);
      REQUIRE(r["status"] == "duplicate");
      REQUIRE(r["position"] == acked[i]["position"]);
    }
  }
  CHECK(ledger::testing::HttpGet(d.http_port(), "/healthz").status == 200);
  const auto metrics = ledger::testing::HttpGet(d.http_port(), "/metrics");
  CHECK(metrics.body.find("ledger_store_recoveries_total 1\n") != std::string::npos);

  // The whole history verifies, read live from ledgerd's disk.
  const auto verify = ledger::testing::Tool(LEDGER_REPLAY, "--data '" + disk + "/ledger' verify");
  INFO(verify.text());
  CHECK(verify.exit_code == 0);
  CHECK(d.Stop() == 0);
}

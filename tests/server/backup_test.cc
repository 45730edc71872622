// Online backups of a running ledgerd and restores from them (issue 17): a backup taken
// while 64 clients submit holds every command acknowledged before it began and whole
// groups only; a restored copy verifies; backups are for admin tokens; restore refuses to
// overwrite anything.
// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "server/client.h"
#include "support/http_request.h"
#include "support/ledgerd_client.h"
#include "support/ledgerd_process.h"
#include "support/run_tool.h"
#include "support/temp_dir.h"
#include "support/test_scale.h"

namespace {

namespace http = boost::beast::http;
using json = nlohmann::json;
using ledger::testing::kAcmeToken;
using ledger::testing::kSystemToken;
using ledger::testing::LedgerdProcess;
using ledger::testing::Scaled;
using ledger::testing::TempDir;
using ledger::testing::Tool;
using ledger::testing::ToolWithErrors;

std::unique_ptr<server::LedgerClient> Connect(const LedgerdProcess& d) {
  return ledger::testing::ConnectAsSystem(d);
}

// Creates tenant acme and invites `members` users; returns the last position.
uint64_t Setup(const LedgerdProcess& d, int members = 0) {
  std::vector<std::string> commands = {
      R"({"type":"create_tenant","tenant":"acme","actor":"system","owner":"olga",)"
      R"("owner_email":"olga@acme.test"})"};
  for (int i = 0; i < members; ++i) {
    const std::string user = "m" + std::to_string(i);
    commands.push_back(json{{"type", "invite_member"},
                            {"tenant", "acme"},
                            {"actor", "olga"},
                            {"user", user},
                            {"email", user + "@acme.test"}}
                           .dump());
  }
  std::vector<std::string> results;
  REQUIRE(Connect(d)->Submit(commands, &results).ok());
  uint64_t last = 0;
  for (const auto& r : results) {
    const json j = json::parse(r);
    REQUIRE(j["status"] == "accepted");
    last = j["position"];
  }
  return last;
}

ledger::testing::HttpReply PostBackup(const LedgerdProcess& d, const std::string& token,
                                      const std::string& body = "") {
  return ledger::testing::HttpRequest(d.http_port(), http::verb::post, "/v1/admin/backup", body,
                                      token);
}

// One acknowledged command: its JSON, the position it was acknowledged with, and whether
// the acknowledgement arrived before the backup was asked for.
struct Acked {
  std::string command;
  uint64_t position = 0;
  bool before_backup = false;
};

}  // namespace

TEST_CASE(
    "backup: taken under 64 clients, it holds every command acknowledged before it "
    "and whole groups only",
    "[server][backup]") {
  TempDir backups, restored;
  const std::string backup_dir = backups / "srv";
  LedgerdProcess d({"--backup-dir", backup_dir});
  Setup(d);
  // Bounded load: each client stops after `per_client` commands at most.
  const int per_client = Scaled(2000, 100);
  const size_t before_target = static_cast<size_t>(Scaled(2000, 200));
  std::atomic<bool> backup_begun{false}, stop{false};
  std::mutex mu;
  std::vector<Acked> acked;
  std::atomic<size_t> acked_count{0}, failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 64; ++c) {
    clients.emplace_back([&, c] {
      server::ClientOptions options;
      options.port = d.capnp_port();
      options.token = kSystemToken;
      std::unique_ptr<server::LedgerClient> client;
      if (!server::LedgerClient::Connect(options, &client).ok()) return void(++failures);
      for (int n = 0; n < per_client && !stop; ++n) {
        const std::string user = "c" + std::to_string(c) + "n" + std::to_string(n);
        const std::string cmd = json{{"type", "invite_member"},
                                     {"tenant", "acme"},
                                     {"actor", "olga"},
                                     {"id", user},
                                     {"user", user},
                                     {"email", user + "@acme.test"}}
                                    .dump();
        std::vector<std::string> results;
        if (!client->Submit({cmd}, &results).ok()) return void(++failures);
        const bool before = !backup_begun.load();
        const json r = json::parse(results.at(0));
        if (r["status"] != "accepted") return void(++failures);
        std::lock_guard<std::mutex> lock(mu);
        acked.push_back({cmd, r["position"].get<uint64_t>(), before});
        ++acked_count;
      }
    });
  }
  auto wait_for = [&](size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (acked_count.load() < count && failures.load() == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  wait_for(before_target);
  backup_begun = true;
  const auto first = PostBackup(d, kSystemToken);
  const size_t after_first = acked_count.load();
  // More load, then a second backup into the same directory (incremental).
  wait_for(after_first + before_target / 2);
  const auto second = PostBackup(d, kSystemToken);
  stop = true;
  for (auto& t : clients) t.join();
  INFO(d.log());
  REQUIRE(failures == 0);
  REQUIRE(first.status == 200);
  REQUIRE(second.status == 200);
  const json b1 = first.Json(), b2 = second.Json();
  INFO(b1.dump() << "\n" << b2.dump());
  CHECK(b1["backup_id"] == 1);
  CHECK(b2["backup_id"] == 2);
  CHECK(b1["backup_dir"] == backup_dir);
  const uint64_t cut = b1["last_position"];
  CHECK(b2["last_position"].get<uint64_t>() > cut);
  // The second backup shares the first one's tables: it copies less than it holds.
  CHECK(b2["new_bytes"].get<uint64_t>() < b2["size_bytes"].get<uint64_t>());
  CHECK(b1["new_bytes"] == b1["size_bytes"]);
  size_t before = 0, after = 0;
  for (const auto& a : acked) {
    before += a.before_backup;
    after += a.position > cut;
  }
  CHECK(before >= before_target);
  CHECK(after > 0);  // the load went on past the cut

  // The list names both, with their cuts.
  const auto list = Tool(LEDGERCTL, "backup --list " + backup_dir);
  REQUIRE(list.exit_code == 0);
  REQUIRE(list.lines.size() == 2);
  CHECK(json::parse(list.lines[0])["last_position"] == cut);
  CHECK(json::parse(list.lines[1])["last_position"] == b2["last_position"]);

  // Restore the first backup: it verifies and ends exactly at its cut.
  const std::string copy = restored / "ledger";
  const auto restore =
      Tool(LEDGERCTL, "restore " + backup_dir + " --data " + copy + " --backup-id 1");
  REQUIRE(restore.exit_code == 0);
  CHECK(json::parse(restore.text())["last_position"] == cut);
  auto verify = Tool(LEDGER_REPLAY, "--data " + copy + " verify");
  INFO(verify.text());
  REQUIRE(verify.exit_code == 0);
  const auto state = Tool(LEDGER_REPLAY, "--data " + copy + " state --tenant acme --json");
  REQUIRE(state.exit_code == 0);
  CHECK(json::parse(state.text())["position"] == cut);

  // Each acknowledged command is wholly in the copy (a resubmission answers duplicate at
  // its position) exactly when it is at or before the cut; every one acknowledged before
  // the backup began is. Those after the cut are wholly absent: accepted anew, and the
  // copy still verifies afterwards.
  std::string file;
  for (const auto& a : acked) file += a.command + "\n";
  ledger::testing::Write(restored / "again.jsonl", file);
  const auto again = Tool(LEDGERCTL, "--data " + copy + " submit " + (restored / "again.jsonl"));
  REQUIRE(again.exit_code == 0);
  REQUIRE(again.lines.size() == acked.size());
  size_t present = 0, absent = 0;
  for (size_t i = 0; i < acked.size(); ++i) {
    const json r = json::parse(again.lines[i]);
    INFO(acked[i].command << " at " << acked[i].position << " → " << r.dump());
    if (acked[i].before_backup) CHECK(acked[i].position <= cut);
    if (acked[i].position <= cut) {
      CHECK(r["status"] == "duplicate");
      CHECK(r["position"] == acked[i].position);
      ++present;
    } else {
      CHECK(r["status"] == "accepted");
      CHECK(r["position"].get<uint64_t>() > cut);
      ++absent;
    }
  }
  CHECK(present + 1 == cut);  // every position up to the cut but create_tenant's
  CHECK(absent == after);
  verify = Tool(LEDGER_REPLAY, "--data " + copy + " verify");
  CHECK(verify.exit_code == 0);
}

TEST_CASE(
    "backup: ledgerctl --data DIR backup asks the ledgerd on DIR, or opens DIR once it "
    "is gone",
    "[server][backup]") {
  TempDir backups, restored;
  const std::string dest = backups / "cli";
  LedgerdProcess d;
  const uint64_t last = Setup(d, 50);
  // ledgerd holds DIR: the backup goes through its admin socket.
  auto run = Tool(LEDGERCTL, "--data " + d.data() + " backup " + dest);
  INFO(d.log());
  REQUIRE(run.exit_code == 0);
  json b = json::parse(run.text());
  CHECK(b["backup_id"] == 1);
  CHECK(b["last_position"] == last);
  CHECK(b["backup_dir"] == dest);
  CHECK(d.log().find("backup 1 into " + dest) != std::string::npos);
  // Killed, ledgerd leaves its socket behind; ledgerctl then opens the ledger itself.
  d.Kill();
  REQUIRE(std::filesystem::exists(d.data() + "/ledgerd.sock"));
  run = Tool(LEDGERCTL, "--data " + d.data() + " backup " + dest);
  REQUIRE(run.exit_code == 0);
  b = json::parse(run.text());
  CHECK(b["backup_id"] == 2);
  CHECK(b["last_position"] == last);
  const std::string copy = restored / "ledger";
  REQUIRE(Tool(LEDGERCTL, "restore " + dest + " --data " + copy).exit_code == 0);
  CHECK(Tool(LEDGER_REPLAY, "--data " + copy + " verify").exit_code == 0);
  // No ledger in DIR: a usage error, and nothing is created.
  const std::string none = restored / "none";
  const auto missing = ToolWithErrors(LEDGERCTL, "--data " + none + " backup " + dest);
  CHECK(missing.exit_code == 2);
  CHECK(missing.text().find("no ledger in " + none) != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(none));
  // A backup directory inside the ledger's own directory is refused.
  const auto inside =
      ToolWithErrors(LEDGERCTL, "--data " + d.data() + " backup " + d.data() + "/b");
  CHECK(inside.exit_code == 2);
  CHECK(inside.text().find("inside the ledger's directory") != std::string::npos);
}

TEST_CASE("backup: only admin tokens may take one, into the server's --backup-dir only",
          "[server][backup]") {
  TempDir backups;
  LedgerdProcess d({"--backup-dir", backups / "srv"});
  Setup(d);
  auto r = PostBackup(d, "");
  CHECK(r.status == 401);
  r = PostBackup(d, kAcmeToken);
  CHECK(r.status == 403);
  CHECK(r.Json()["code"] == "forbidden");
  r = PostBackup(d, kSystemToken, R"({"dest":"/tmp/elsewhere"})");
  CHECK(r.status == 400);
  CHECK(r.Json()["message"].get<std::string>().rfind("dest:", 0) == 0);
  r = PostBackup(d, kSystemToken, R"({"speed":"fast"})");
  CHECK(r.status == 400);
  CHECK(r.Json()["message"] == "unknown field 'speed'");
  r = PostBackup(d, kSystemToken, "[]");
  CHECK(r.status == 400);
  CHECK(ledger::testing::HttpRequest(d.http_port(), http::verb::get, "/v1/admin/backup", "",
                                     kSystemToken)
            .status == 405);
  CHECK_FALSE(std::filesystem::exists(backups / "srv"));  // nothing refused wrote anything
  r = PostBackup(d, kSystemToken, "{}");
  CHECK(r.status == 200);
  CHECK(r.Json()["backup_id"] == 1);
  // Over Cap'n Proto with ledgerctl --server: the same rights.
  const std::string server = "--server 127.0.0.1:" + std::to_string(d.capnp_port());
  const auto refused = ToolWithErrors(LEDGERCTL, server + " --token " + kAcmeToken + " backup");
  CHECK(refused.exit_code == 1);
  CHECK(refused.text().find("forbidden") != std::string::npos);
  const auto taken = Tool(LEDGERCTL, server + " --token " + kSystemToken + " backup");
  REQUIRE(taken.exit_code == 0);
  CHECK(json::parse(taken.text())["backup_id"] == 2);
  // A ledgerd without --backup-dir refuses, naming the option.
  LedgerdProcess plain;
  r = PostBackup(plain, kSystemToken);
  CHECK(r.status == 503);
  CHECK(r.Json()["message"].get<std::string>().find("--backup-dir") != std::string::npos);
}

TEST_CASE("restore: refuses a non-empty directory and bad usage with exit 2", "[server][backup]") {
  TempDir dir;
  LedgerdProcess d;
  Setup(d, 5);
  const std::string backup_dir = dir / "b";
  REQUIRE(Tool(LEDGERCTL, "--data " + d.data() + " backup " + backup_dir).exit_code == 0);
  // A directory holding anything is never written to.
  std::filesystem::create_directories(dir / "full");
  ledger::testing::Write(dir / "full/keep.txt", "mine");
  auto r = ToolWithErrors(LEDGERCTL, "restore " + backup_dir + " --data " + (dir / "full"));
  CHECK(r.exit_code == 2);
  CHECK(r.text().find("is not empty") != std::string::npos);
  CHECK(std::filesystem::directory_iterator(dir / "full") != std::filesystem::directory_iterator());
  CHECK(std::distance(std::filesystem::directory_iterator(dir / "full"),
                      std::filesystem::directory_iterator()) == 1);
  r = ToolWithErrors(LEDGERCTL, "restore " + backup_dir);
  CHECK(r.exit_code == 2);
  CHECK(r.text().find("restore needs --data NEWDIR") != std::string::npos);
  r = ToolWithErrors(LEDGERCTL,
                     "restore " + backup_dir + " --data " + (dir / "new") + " --backup-id 9");
  CHECK(r.exit_code == 2);
  CHECK(r.text().find("no backup 9") != std::string::npos);
  r = ToolWithErrors(LEDGERCTL, "restore " + (dir / "nothing") + " --data " + (dir / "new"));
  CHECK(r.exit_code == 2);
  CHECK(r.text().find("no backups in") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "new"));
  // An empty directory is fine.
  std::filesystem::create_directories(dir / "empty");
  REQUIRE(Tool(LEDGERCTL, "restore " + backup_dir + " --data " + (dir / "empty")).exit_code == 0);
  CHECK(Tool(LEDGER_REPLAY, "--data " + (dir / "empty") + " verify").exit_code == 0);
}

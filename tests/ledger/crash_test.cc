// Crash safety: power loss simulated by a fault-injecting FileSystem (unsynced data
// dropped), failed fsyncs, and a real child process killed with SIGKILL mid-load.
#include <poll.h>
#include <rocksdb/env.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "ledger/store.h"
#include "support/fault_injection_fs.h"
#include "support/store_helpers.h"
#include "support/temp_dir.h"

extern char** environ;

using namespace ledger;
using ledger::testing::FaultInjectionFs;
using ledger::testing::InviteRequest;
using ledger::testing::ReadAll;
using ledger::testing::TempDir;

namespace {

struct Acked {
  std::string tenant, id;
  uint64_t version = 0, position = 0;
};

struct FaultyLedger {
  TempDir dir;
  std::shared_ptr<FaultInjectionFs> fs =
      std::make_shared<FaultInjectionFs>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::unique_ptr<Store> store;

  FaultyLedger() { Open(); }

  void Open() {
    StoreOptions options;
    options.env = env.get();
    Status s = Store::Open(options, dir.path(), &store);
    REQUIRE(s.ToString() == "OK");
  }

  // Power loss: nothing more reaches the disk, unsynced data is gone, then a restart.
  void CrashAndReopen() {
    fs->SetActive(false);
    store.reset();
    REQUIRE(fs->DropUnsyncedData().ok());
    fs->SetActive(true);
    Open();
  }
};

// Checks every structural invariant a reader relies on; returns events per tenant.
std::map<std::string, uint64_t> CheckLogIntegrity(const Store& store) {
  std::map<std::string, uint64_t> versions;
  std::map<std::string, std::string> hashes;
  uint64_t expected_position = 0;
  for (auto c = store.ReadLog(1); c->Valid(); c->Next()) {
    const StoredEvent& e = c->event();
    REQUIRE(e.position() == ++expected_position);
    const std::string tenant = e.event().getTenant();
    REQUIRE(e.version() == ++versions[tenant]);
    REQUIRE(e.HashMatches());
    auto prev = e.event().getPrevHash();
    const std::string prev_hex(reinterpret_cast<const char*>(prev.begin()), prev.size());
    if (e.version() == 1) {
      REQUIRE(prev_hex == std::string(32, '\0'));
    } else {
      REQUIRE(prev_hex == hashes[tenant]);
    }
    auto h = e.event().getHash();
    hashes[tenant].assign(reinterpret_cast<const char*>(h.begin()), h.size());
  }
  REQUIRE(expected_position == store.LastPosition());
  for (const auto& [tenant, version] : versions) {
    StreamHead head;
    REQUIRE(store.GetHead(tenant, &head).ok());
    REQUIRE(head.version == version);
    REQUIRE(std::string(AsBytes(head.hash)) == hashes[tenant]);
  }
  return versions;
}

}  // namespace

TEST_CASE("after power loss exactly the acknowledged appends survive", "[store][crash]") {
  FaultyLedger l;
  std::vector<std::thread> threads;
  std::vector<std::vector<AppendResult>> results(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 40; ++n) {
        AppendResult r;
        Status s =
            l.store->Append(InviteRequest("t" + std::to_string(t % 3),
                                          std::to_string(t) + "-" + std::to_string(n), 1 + n % 3),
                            &r);
        if (s.ok() && r.kind == AppendResult::Kind::kAccepted) results[t].push_back(r);
      }
    });
  }
  for (auto& th : threads) th.join();
  const uint64_t acked_position = l.store->LastPosition();
  REQUIRE(l.fs->sync_count() > 0);

  l.CrashAndReopen();

  CHECK(l.store->LastPosition() == acked_position);
  size_t acked_events = 0;
  for (const auto& per_thread : results) {
    REQUIRE(per_thread.size() == 40);
    for (const AppendResult& r : per_thread) {
      acked_events += r.events.size();
      AppendResult found;
      const std::string tenant = "t" + std::to_string(std::stoi(r.command_id) % 3);
      REQUIRE(l.store->LookupCommand(tenant, r.command_id, &found).ok());
      CHECK(found.version == r.version);
      CHECK(found.position == r.position);
    }
  }
  CHECK(ReadAll(*l.store).size() == acked_events);
  CheckLogIntegrity(*l.store);
}

TEST_CASE("a failed fsync fails the append and the store refuses writes until reopened",
          "[store][crash]") {
  FaultyLedger l;
  for (int i = 0; i < 10; ++i) {
    AppendResult r;
    REQUIRE(l.store->Append(InviteRequest("acme", "ok-" + std::to_string(i), 2), &r).ok());
  }

  l.fs->SetFailSync(true);
  AppendResult failed;
  Status s = l.store->Append(InviteRequest("acme", "lost", 3), &failed);
  CHECK(s.IsIOError());
  l.fs->SetFailSync(false);

  // Sticky: even with a healthy disk again, and past the interval at which a full disk
  // would be retried, no more writes until reopened.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  AppendResult refused;
  Status s2 = l.store->Append(InviteRequest("acme", "after"), &refused);
  CHECK(s2.IsUnavailable());
  CHECK(s2.message().find("reopen") != std::string::npos);
  CHECK_FALSE(l.store->WriteHealth().ok());

  l.CrashAndReopen();
  CHECK(l.store->WriteHealth().ok());
  CHECK(l.store->LastPosition() == 20);
  AppendResult missing;
  CHECK(l.store->LookupCommand("acme", "lost", &missing).IsNotFound());
  CHECK(l.store->LookupCommand("acme", "after", &missing).IsNotFound());
  for (int i = 0; i < 10; ++i) {
    AppendResult found;
    CHECK(l.store->LookupCommand("acme", "ok-" + std::to_string(i), &found).ok());
  }
  // The failed command can be retried after the restart and continues the chain.
  AppendResult retried;
  REQUIRE(l.store->Append(InviteRequest("acme", "lost", 3), &retried).ok());
  CHECK(retried.kind == AppendResult::Kind::kAccepted);
  CHECK(retried.version == 23);
  CheckLogIntegrity(*l.store);
}

TEST_CASE("a full disk fails the append without corrupting the log", "[store][crash]") {
  FaultyLedger l;
  AppendResult r;
  REQUIRE(l.store->Append(InviteRequest("acme", "before"), &r).ok());
  l.fs->SetNoSpace(true);
  Status s = l.store->Append(InviteRequest("acme", "nospace"), &r);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("space") != std::string::npos);
  l.fs->SetNoSpace(false);
  l.CrashAndReopen();
  CHECK(l.store->LastPosition() == 1);
  REQUIRE(l.store->Append(InviteRequest("acme", "after"), &r).ok());
  CHECK(r.version == 2);
  CheckLogIntegrity(*l.store);
}

TEST_CASE("a full disk refuses appends until space returns, then the store resumes by itself",
          "[store][crash][nospace]") {
  FaultyLedger l;
  AppendResult r;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(l.store->Append(InviteRequest("acme", "before-" + std::to_string(i)), &r).ok());
  }
  l.fs->SetNoSpace(true);
  Status failed = l.store->Append(InviteRequest("acme", "nospace"), &r);
  CHECK_FALSE(failed.ok());
  CHECK(failed.message().find("No space") != std::string::npos);
  // While the disk stays full (at least 10 appends and 1.2 s: several recovery attempts,
  // however slow a sanitizer makes each append), every append is refused saying why.
  const auto full_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1200);
  int refused = 0;
  while (refused < 10 || std::chrono::steady_clock::now() < full_until) {
    Status s = l.store->Append(InviteRequest("acme", "while-full"), &r);
    REQUIRE(s.IsUnavailable());
    CHECK(s.message().find("disk full") != std::string::npos);
    ++refused;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(l.store->Stats().recoveries == 0);  // every attempt failed while the disk was full
  CHECK(l.store->LastPosition() == 5);
  CHECK_FALSE(l.store->WriteHealth().ok());

  // Space returns: within a recovery interval appends succeed again, without a reopen,
  // and the chain continues from the last durable event.
  l.fs->SetNoSpace(false);
  Status resumed;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    resumed = l.store->Append(InviteRequest("acme", "after"), &r);
  } while (!resumed.ok() && std::chrono::steady_clock::now() < deadline);
  REQUIRE(resumed.ToString() == "OK");
  CHECK(r.kind == AppendResult::Kind::kAccepted);
  CHECK(r.version == 6);
  CHECK(r.position == 6);
  CHECK(l.store->WriteHealth().ok());
  CHECK(l.store->Stats().recoveries == 1);
  // The command refused while the disk was full was never written and can be retried.
  REQUIRE(l.store->Append(InviteRequest("acme", "nospace"), &r).ok());
  CHECK(r.kind == AppendResult::Kind::kAccepted);
  CHECK(r.version == 7);
  CheckLogIntegrity(*l.store);
  // And all of it survives a power loss.
  l.CrashAndReopen();
  CHECK(l.store->LastPosition() == 7);
  CheckLogIntegrity(*l.store);
}

TEST_CASE("a child killed with SIGKILL mid-load loses no acknowledged append",
          "[store][crash][sigkill]") {
  TempDir dir;
  std::mt19937 rng(std::random_device{}());
  std::vector<Acked> acked;
  for (int round = 0; round < 3; ++round) {
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
    posix_spawn_file_actions_addclose(&actions, pipefd[0]);
    std::string exe = LEDGER_CRASH_CHILD;
    std::string path = dir.path();
    std::string clients = "16";
    char* argv[] = {exe.data(), path.data(), clients.data(), nullptr};
    pid_t pid = 0;
    REQUIRE(posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipefd[1]);

    // Let it run for a random while (at least until it has acknowledged something).
    std::string buffer;
    const auto kill_at =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(300 + rng() % 900);
    char chunk[65536];
    while (std::chrono::steady_clock::now() < kill_at || buffer.empty()) {
      pollfd p{pipefd[0], POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) {
        const ssize_t n = ::read(pipefd[0], chunk, sizeof chunk);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<size_t>(n));
      }
    }
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    for (ssize_t n; (n = ::read(pipefd[0], chunk, sizeof chunk)) > 0;) {
      buffer.append(chunk, static_cast<size_t>(n));
    }
    ::close(pipefd[0]);

    std::istringstream lines(buffer);
    std::string word;
    const size_t before = acked.size();
    for (Acked a; lines >> word >> a.tenant >> a.id >> a.version >> a.position;) {
      if (word == "ack") acked.push_back(a);
    }
    REQUIRE(acked.size() > before);

    std::unique_ptr<Store> store;
    REQUIRE(Store::Open(StoreOptions(), dir.path(), &store).ok());
    for (const Acked& a : acked) {
      AppendResult found;
      INFO("acknowledged " << a.tenant << "/" << a.id);
      REQUIRE(store->LookupCommand(a.tenant, a.id, &found).ok());
      CHECK(found.version == a.version);
      CHECK(found.position == a.position);
    }
    CheckLogIntegrity(*store);
  }
}

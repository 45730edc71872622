// Group commit under contention: expected-version races, duplicates within a group,
// gap-free versions and positions with many writers.
#include <rocksdb/env.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "ledger/store.h"
#include "support/store_helpers.h"
#include "support/temp_dir.h"

using namespace ledger;
using ledger::testing::InviteRequest;
using ledger::testing::ReadAll;

namespace {

std::unique_ptr<Store> OpenOn(rocksdb::Env* env, const std::string& path) {
  StoreOptions options;
  options.env = env;
  std::unique_ptr<Store> store;
  Status s = Store::Open(options, path, &store);
  REQUIRE(s.ToString() == "OK");
  return store;
}

}  // namespace

TEST_CASE("64 threads racing on one tenant with expected_version: one winner per version",
          "[store][concurrency]") {
  ledger::testing::TempDir dir;  // real disk, real fsync
  auto store = OpenOn(nullptr, dir.path());
  constexpr int kThreads = 64;
  constexpr uint64_t kTarget = 400;
  std::atomic<int> conflicts{0};
  std::mutex mu;
  std::map<uint64_t, std::string> winners;  // version → command id
  std::atomic<bool> failed{false};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0;; ++n) {
        StreamHead head;
        if (!store->GetHead("acme", &head).ok()) {
          failed = true;
          return;
        }
        if (head.version >= kTarget) return;
        AppendRequest req =
            InviteRequest("acme", "t" + std::to_string(t) + "-" + std::to_string(n));
        req.expected_version = head.version;
        const std::string id = req.command_id;
        AppendResult result;
        if (!store->Append(std::move(req), &result).ok()) {
          failed = true;
          return;
        }
        if (result.kind == AppendResult::Kind::kAccepted) {
          std::lock_guard<std::mutex> lock(mu);
          if (result.version != head.version + 1 || !winners.emplace(result.version, id).second) {
            failed = true;
          }
        } else if (result.rejection.code == "conflict") {
          ++conflicts;
        } else {
          failed = true;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE_FALSE(failed);

  StreamHead head;
  REQUIRE(store->GetHead("acme", &head).ok());
  // Exactly one accepted command per version, none lost, none doubled.
  CHECK(winners.size() == head.version);
  CHECK(head.version >= kTarget);
  CHECK(conflicts > 0);  // the race really happened
  auto events = ReadAll(*store);
  REQUIRE(events.size() == head.version);
  for (size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].position() == i + 1);
    CHECK(events[i].version() == i + 1);
    CHECK(std::string(events[i].event().getCommandId()) == winners[i + 1]);
  }
}

TEST_CASE("many writers on many tenants keep every stream and the log gap-free",
          "[store][concurrency]") {
  std::unique_ptr<rocksdb::Env> env(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  auto store = OpenOn(env.get(), "/ledger");
  constexpr int kThreads = 32;
  constexpr int kPerThread = 60;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < kPerThread; ++n) {
        AppendResult r;
        if (store
                ->Append(
                    InviteRequest("tenant" + std::to_string(n % 5),
                                  "w" + std::to_string(t) + "-" + std::to_string(n), 1 + n % 3),
                    &r)
                .ok() &&
            r.kind == AppendResult::Kind::kAccepted) {
          ++accepted;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(accepted == kThreads * kPerThread);
  auto events = ReadAll(*store);
  std::map<std::string, uint64_t> versions;
  for (size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].position() == i + 1);
    const std::string tenant = events[i].event().getTenant();
    CHECK(events[i].version() == ++versions[tenant]);
    CHECK(events[i].HashMatches());
  }
  // 1 + n % 3 events per command.
  size_t expected = 0;
  for (int n = 0; n < kPerThread; ++n) expected += 1 + n % 3;
  CHECK(events.size() == expected * kThreads);
}

TEST_CASE("the same command submitted concurrently is appended once", "[store][concurrency]") {
  std::unique_ptr<rocksdb::Env> env(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  auto store = OpenOn(env.get(), "/ledger");
  constexpr int kThreads = 16;
  std::vector<AppendResult> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 50; ++n) {
        AppendResult r;
        if (!store->Append(InviteRequest("acme", "same-" + std::to_string(n), 2), &r).ok()) {
          r.kind = AppendResult::Kind::kRejected;
        }
        if (n == 49) results[t] = r;
      }
    });
  }
  for (auto& th : threads) th.join();
  int accepted = 0, duplicates = 0;
  for (const auto& r : results) {
    if (r.kind == AppendResult::Kind::kAccepted) ++accepted;
    if (r.kind == AppendResult::Kind::kDuplicate) ++duplicates;
    CHECK(r.position == results[0].position);
    CHECK(r.version == results[0].version);
  }
  CHECK(accepted == 1);
  CHECK(duplicates == kThreads - 1);
  CHECK(ReadAll(*store).size() == 100);  // 50 commands × 2 events, each once
}

TEST_CASE("asynchronous appends complete in commit order once durable", "[store][async]") {
  std::unique_ptr<rocksdb::Env> env(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  auto store = OpenOn(env.get(), "/ledger");
  constexpr int kAppends = 500;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<AppendResult> completed;
  int failures = 0;
  for (int i = 0; i < kAppends; ++i) {
    store->AppendAsync(InviteRequest("t" + std::to_string(i % 7), "a" + std::to_string(i)),
                       [&](const Status& s, AppendResult& r) {
                         std::lock_guard<std::mutex> lock(mu);
                         if (!s.ok() || r.kind != AppendResult::Kind::kAccepted) ++failures;
                         completed.push_back(r);
                         cv.notify_one();
                       });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return completed.size() == kAppends; });
  CHECK(failures == 0);
  for (size_t i = 0; i < completed.size(); ++i) {
    // One submitter: commit order is submission order, and callbacks follow it.
    CHECK(completed[i].command_id == "a" + std::to_string(i));
    CHECK(completed[i].position == i + 1);
    AppendResult found;
    CHECK(store->LookupCommand("t" + std::to_string(i % 7), completed[i].command_id, &found).ok());
  }
}

TEST_CASE("closing the store completes every queued append", "[store][async]") {
  std::unique_ptr<rocksdb::Env> env(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  auto store = OpenOn(env.get(), "/ledger");
  std::atomic<int> called{0}, accepted{0};
  for (int i = 0; i < 300; ++i) {
    store->AppendAsync(InviteRequest("acme", "q" + std::to_string(i)),
                       [&](const Status& s, AppendResult& r) {
                         ++called;
                         if (s.ok() && r.kind == AppendResult::Kind::kAccepted) ++accepted;
                       });
  }
  store.reset();
  CHECK(called == 300);
  store = OpenOn(env.get(), "/ledger");
  CHECK(store->LastPosition() == static_cast<uint64_t>(accepted.load()));
  CHECK(accepted == 300);  // queued before close: drained, not dropped
}

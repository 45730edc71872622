// The store on the PostgreSQL log when the answer to a group's commit is lost
// (OutcomeUnknown): its callers are answered from what the log holds once the writer has
// read it again — accepted when the group committed, unavailable when it did not —
// never a guess (DESIGN section 7).
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "ledger/pg_upstream.h"
#include "ledger/store.h"
#include "pg/pg_cluster.h"
#include "support/store_helpers.h"
#include "support/temp_dir.h"

namespace ledger {
namespace {

using namespace std::chrono_literals;
using testing::InviteRequest;
using testing::PgCluster;
using testing::PgSession;
using testing::WaitForGhostStandby;

struct Outcome {
  Status status;
  AppendResult result;
};

// Appends `request` asynchronously; the future gets its outcome.
std::future<Outcome> AppendLater(Store* store, AppendRequest request) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  std::future<Outcome> f = promise->get_future();
  store->AppendAsync(std::move(request), [promise](const Status& s, AppendResult& r) {
    promise->set_value(Outcome{s, r});
  });
  return f;
}

// Runs `sql` every 20 ms until `f` is ready (at most 30 s); REQUIREs that it got ready.
void RepeatUntilAnswered(PgSession& admin, const std::string& sql, std::future<Outcome>& f) {
  for (int i = 0; i < 1500 && f.wait_for(20ms) != std::future_status::ready; ++i) admin.Query(sql);
  REQUIRE(f.wait_for(0ms) == std::future_status::ready);
}

TEST_CASE("store on postgres: a commit whose answer was lost is answered from the log", "[pg]") {
  PgCluster cluster;
  testing::TempDir dir;
  StoreOptions options;
  PgUpstreamOptions upstream;
  upstream.node = "n1";
  upstream.log.partitions = 1;
  REQUIRE(OpenPgUpstream(cluster.conninfo(), upstream, &options.upstream).ok());
  std::unique_ptr<Store> store;
  REQUIRE(Store::Open(options, dir.path() + "/copy", &store).ok());
  PgSession admin(cluster.conninfo());
  AppendResult first;
  REQUIRE(store->Append(InviteRequest("acme", "c1"), &first).ok());
  REQUIRE(first.position == 1);

  SECTION("committed on the primary, the replication wait cancelled: accepted") {
    WaitForGhostStandby(admin, true);
    std::future<Outcome> f = AppendLater(store.get(), InviteRequest("acme", "c2"));
    // Every commit (the group's, the lease's renewal, the writer's reacquisition) waits for
    // a standby that never comes; cancelling the wait leaves each committed on the primary.
    RepeatUntilAnswered(
        admin,
        "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE wait_event = 'SyncRep'",
        f);
    WaitForGhostStandby(admin, false);
    const Outcome o = f.get();
    INFO(o.status.ToString());
    REQUIRE(o.status.ok());
    CHECK(o.result.kind == AppendResult::Kind::kAccepted);
    CHECK(o.result.position == 2);
    AppendResult again;
    REQUIRE(store->Append(InviteRequest("acme", "c2"), &again).ok());
    CHECK(again.kind == AppendResult::Kind::kDuplicate);
    CHECK(again.position == 2);
  }

  SECTION("the connection lost before the commit (waiting on a lock): unavailable, then retried") {
    admin.Query("BEGIN");
    admin.Query("SELECT 1 FROM ledger_partitions WHERE partition = 0 FOR UPDATE");
    std::future<Outcome> f = AppendLater(store.get(), InviteRequest("acme", "c2"));
    // The group's commit (its first statement, the fence) waits on the row lock: end
    // that session, then let the lock go.
    const std::string group_waits =
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
        "query LIKE 'SELECT ledger_advance%'";
    for (int i = 0; i < 1500 && admin.Query(group_waits) != "t"; ++i)
      std::this_thread::sleep_for(20ms);
    PgSession killer(cluster.conninfo());
    CHECK(killer.Query("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                       "wait_event_type = 'Lock' AND query LIKE 'SELECT ledger_advance%'") == "1");
    admin.Query("ROLLBACK");
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
    const Outcome o = f.get();
    INFO(o.status.ToString());
    CHECK(o.status.IsUnavailable());
    CHECK(o.status.message().find("the log does not hold the command's group") !=
          std::string::npos);
    AppendResult retried;
    Status s;
    for (int i = 0; i < 100; ++i) {  // the writer takes the log again within a few tries
      s = store->Append(InviteRequest("acme", "c2"), &retried);
      if (s.ok()) break;
      std::this_thread::sleep_for(100ms);
    }
    INFO(s.ToString());
    REQUIRE(s.ok());
    CHECK(retried.kind == AppendResult::Kind::kAccepted);
    CHECK(retried.position == 2);
  }
}

}  // namespace
}  // namespace ledger

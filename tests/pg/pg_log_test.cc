// PgLog against a real PostgreSQL 15: each test case starts its own throwaway cluster.
#include "ledger/pg_log.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "pg/pg_cluster.h"
#include "pg/pg_test_writer.h"

namespace ledger {
namespace {

using namespace std::chrono_literals;
using testing::PgCluster;
using testing::PgSession;
using testing::TenantsOf;
using testing::TestWriter;
using testing::WaitForGhostStandby;

constexpr uint32_t kPartitions = 4;
constexpr uint32_t kP = 0;  // the partition most tests write (positions from 1)

std::unique_ptr<PgLog> OpenLog(const PgCluster& c, uint32_t partitions = kPartitions) {
  std::unique_ptr<PgLog> log;
  PgLogOptions o;
  o.partitions = partitions;
  const Status s = PgLog::Open(c.conninfo(), o, &log);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return log;
}

std::vector<std::pair<uint64_t, std::string>> ReadAll(PgLog& log, uint32_t p, uint64_t from = 1) {
  std::vector<std::pair<uint64_t, std::string>> out;
  const Status s = log.ReadPartition(p, from, UINT64_MAX, [&](const PgEventView& e) {
    out.emplace_back(e.position, std::string(e.bytes));
    return true;
  });
  REQUIRE(s.ok());
  return out;
}

PgPartition Partition(PgLog& log, uint32_t p) {
  PgPartition row;
  const Status s = log.GetPartition(p, &row);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return row;
}

// Commands c<first>..c<first+n-1>, spread over `tenants`.
std::vector<std::pair<std::string, std::string>> Commands(const std::vector<std::string>& tenants,
                                                          int first, int n) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = first; i < first + n; ++i) {
    out.emplace_back(tenants[static_cast<size_t>(i) % tenants.size()], "c" + std::to_string(i));
  }
  return out;
}

// Polls until `sql` answers "t" (10 s at most).
void WaitUntil(PgSession& admin, const std::string& sql) {
  for (int i = 0; i < 1000; ++i) {
    if (admin.Query(sql) == "t") return;
    std::this_thread::sleep_for(10ms);
  }
  FAIL("timed out waiting for: " << sql);
}

std::string WaitingOn(int pid, const std::string& event) {
  return "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = " + std::to_string(pid) +
         " AND wait_event = '" + event + "'";
}

TEST_CASE("the schema is created once and a different partition count is refused", "[pg]") {
  PgCluster cluster;
  auto log = OpenLog(cluster, 8);
  CHECK(log->partitions() == 8);
  CHECK(Partition(*log, 0).last_position == 0);
  // Each partition's positions start after its base: a position names its partition.
  CHECK(Partition(*log, 7).last_position == PartitionBase(7));
  CHECK(Partition(*log, 7).last_rejection == PartitionBase(7));
  PgPartition row;
  const Status beyond = log->GetPartition(8, &row);
  CHECK(beyond.IsInvalidArgument());

  // Reopening with the same count, or none, finds the log as created.
  CHECK(OpenLog(cluster, 8)->partitions() == 8);
  CHECK(OpenLog(cluster, 0)->partitions() == 8);

  std::unique_ptr<PgLog> other;
  PgLogOptions o;
  o.partitions = 16;
  const Status s = PgLog::Open(cluster.conninfo(), o, &other);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message() ==
        "partitions: the PostgreSQL log was created with 8 partitions, not 16 (the count is "
        "fixed at creation; pass 8 or leave it out)");
  CHECK(other == nullptr);

  // A reader does not create a log where there is none.
  PgSession(cluster.conninfo()).Query("CREATE DATABASE empty");
  PgLogOptions reader;
  reader.create_if_missing = false;
  CHECK(PgLog::Open(cluster.conninfo("empty"), reader, &other).IsNotFound());
}

TEST_CASE("tenants hash to partitions by the first 8 bytes of SHA-256", "[pg]") {
  // SHA-256("acme") begins 82 2b 33 ad 87 c1 48 a0 (python3 hashlib): 9379647469329139872,
  // which is 0 mod 16 and 2 mod 7.
  CHECK(LogPartitionOf("acme", 16) == 0);
  CHECK(LogPartitionOf("acme", 7) == 2);
  CHECK(LogPartitionOf("acme", 1) == 0);
  CHECK(LogPartitionOf("acme", 1000) == 9379647469329139872u % 1000);
}

TEST_CASE("groups get gap-free positions and reads return exactly the committed bytes", "[pg]") {
  PgCluster cluster;
  auto log = OpenLog(cluster);
  PgPartition lease;
  REQUIRE(log->AcquireLease(kP, "node-a", 10s, &lease).ok());
  CHECK(lease.owner == "node-a");
  CHECK(lease.epoch == 1);

  const auto tenants = TenantsOf(kP, kPartitions, 5);
  TestWriter w(kP);
  std::vector<std::string> committed;
  int next = 0;
  for (int n : {1, 5, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64}) {  // 646 events: 2 pages
    PgGroup g = w.Group(Commands(tenants, next, n));
    next += n;
    const Status s = log->CommitGroup(kP, lease.epoch, w.last_position(), g);
    INFO(s.ToString());
    REQUIRE(s.ok());
    w.Committed(g);
    for (const PgEvent& e : g.events) committed.push_back(e.bytes);
  }
  CHECK(Partition(*log, kP).last_position == 646);
  CHECK(Partition(*log, kP).ledger_time == 1'700'000'000'000'000);

  const auto read = ReadAll(*log, kP);
  REQUIRE(read.size() == committed.size());
  for (size_t i = 0; i < read.size(); ++i) {
    CHECK(read[i].first == i + 1);
    CHECK(read[i].second == committed[i]);
  }
  StoredEvent e;
  const Status parsed = e.Parse(read[599].second);
  INFO(parsed.ToString());
  REQUIRE(parsed.ok());
  CHECK(e.position() == 600);
  CHECK(e.HashMatches());
  CHECK(ReadAll(*log, kP, 645).size() == 2);
  CHECK(ReadAll(*log, kP + 1).empty());

  // Heads and command records are those of the last group.
  StreamHead head;
  REQUIRE(log->GetHead(tenants[0], &head).ok());
  CHECK(head.version == 130);
  CHECK(head.position == 646);
  Digest hash{};
  AppendResult result;
  REQUIRE(log->LookupCommand(tenants[2], "c642", &hash, &result).ok());
  CHECK(hash == Sha256("c642"));
  CHECK(result.position == 643);
  CHECK(result.events.at(0).type == "member_invited");
  CHECK(log->LookupCommand(tenants[2], "c646", &hash, &result).IsNotFound());
  size_t heads = 0;
  REQUIRE(log->ForEachHead(kP, [&](std::string_view, const StreamHead&) { return ++heads; }).ok());
  CHECK(heads == 5);

  // A group whose positions do not follow the partition's is refused before any SQL.
  PgGroup gap = w.Group(Commands(tenants, next, 1));
  gap.events[0].position += 1;
  const Status s = log->CommitGroup(kP, lease.epoch, w.last_position(), gap);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message() ==
        "events[0].position: 648 is not 647 (positions follow the partition's "
        "last without gaps)");
  PgGroup foreign = TestWriter(kP + 1).Group({{TenantsOf(kP + 1, kPartitions, 1)[0], "x"}});
  CHECK(log->CommitGroup(kP, lease.epoch, 0, foreign).IsInvalidArgument());
}

TEST_CASE("a writer of several partitions commits them in one transaction, each fenced", "[pg]") {
  PgCluster cluster;
  auto log = OpenLog(cluster);
  PgPartition one, three;
  REQUIRE(log->AcquireLease(1, "node-a", 10s, &one).ok());
  REQUIRE(log->AcquireLease(3, "node-a", 10s, &three).ok());
  CHECK(one.last_position == PartitionBase(1));
  TestWriter w1(1), w3(3);
  const auto t1 = TenantsOf(1, kPartitions, 2);
  const auto t3 = TenantsOf(3, kPartitions, 1);
  PgGroup g1 = w1.Group(Commands(t1, 0, 3));
  PgGroup g3 = w3.Group(Commands(t3, 3, 2));
  CHECK(g1.events[0].position == PartitionBase(1) + 1);
  REQUIRE(log->CommitGroups({{1, one.epoch, w1.last_position(), &g1},
                             {3, three.epoch, w3.last_position(), &g3}})
              .ok());
  w1.Committed(g1);
  w3.Committed(g3);
  CHECK(Partition(*log, 1).last_position == PartitionBase(1) + 3);
  CHECK(Partition(*log, 3).last_position == PartitionBase(3) + 2);
  const auto read = ReadAll(*log, 3);
  REQUIRE(read.size() == 2);
  CHECK(read[1].first == PartitionBase(3) + 2);
  StoredEvent e;
  REQUIRE(e.Parse(read[1].second).ok());
  CHECK(e.position() == PartitionBase(3) + 2);

  // A stale fence on one part rolls back every part of the transaction.
  PgGroup next1 = w1.Group(Commands(t1, 5, 1));
  PgGroup next3 = w3.Group(Commands(t3, 6, 1));
  const Status s = log->CommitGroups({{1, one.epoch, w1.last_position(), &next1},
                                      {3, three.epoch + 1, w3.last_position(), &next3}});
  CHECK(s.IsFenced());
  CHECK(Partition(*log, 1).last_position == PartitionBase(1) + 3);
  CHECK(ReadAll(*log, 1).size() == 3);
  // Parts of one partition twice, or a tenant in the wrong part, are refused before SQL.
  CHECK(log->CommitGroups({{1, one.epoch, w1.last_position(), &next1},
                           {1, one.epoch, w1.last_position(), &next1}})
            .IsInvalidArgument());
  CHECK(log->CommitGroups({{3, three.epoch, w3.last_position(), &next1}}).IsInvalidArgument());
}

TEST_CASE("rejections and side rows commit with the group", "[pg]") {
  PgCluster cluster;
  auto log = OpenLog(cluster);
  PgPartition lease;
  REQUIRE(log->AcquireLease(kP, "node-a", 10s, &lease).ok());
  const std::string t = TenantsOf(kP, kPartitions, 1)[0];
  TestWriter w(kP);
  PgGroup g = w.Group({{t, "c1"}});
  for (uint64_t seq : {1, 2}) {
    RejectionRecord r;
    r.sequence = seq;
    r.tenant = t;
    r.command_id = "r" + std::to_string(seq);
    r.code = "conflict";
    r.message = "expected_version: no";
    g.rejections.push_back(r);
  }
  g.rows = {{"leases", "k1", "v1"}, {"leases", "k2", "v2"}, {"leases", "k1", "v1b"}};
  REQUIRE(log->CommitGroup(kP, lease.epoch, 0, g).ok());
  w.Committed(g);
  CHECK(Partition(*log, kP).last_rejection == 2);

  std::vector<std::string> seen;
  REQUIRE(log->ForEachRejection(t,
                                [&](const RejectionRecord& r) {
                                  seen.push_back(std::to_string(r.sequence) + r.command_id +
                                                 r.code);
                                  return true;
                                })
              .ok());
  CHECK(seen == std::vector<std::string>{"1r1conflict", "2r2conflict"});
  std::string v;
  REQUIRE(log->GetSideRow(kP, "leases", "k1", &v).ok());
  CHECK(v == "v1b");

  // The next group deletes a row; a rejection that skips a sequence number is fenced.
  PgGroup g2 = w.Group({});
  g2.rows = {{"leases", "k2", std::nullopt}};
  REQUIRE(log->CommitGroup(kP, lease.epoch, w.last_position(), g2).ok());
  CHECK(log->GetSideRow(kP, "leases", "k2", &v).IsNotFound());
  PgGroup g3 = w.Group({});
  g3.rejections = {g.rejections[0]};
  g3.rejections[0].sequence = 4;
  CHECK(log->CommitGroup(kP, lease.epoch, w.last_position(), g3).IsFenced());
}

TEST_CASE("a writer with a stale epoch or position is fenced and commits nothing", "[pg]") {
  PgCluster cluster;
  auto a = OpenLog(cluster);
  auto b = OpenLog(cluster);
  const auto tenants = TenantsOf(kP, kPartitions, 3);
  PgPartition first;
  REQUIRE(a->AcquireLease(kP, "node-a", 10s, &first).ok());
  TestWriter w(kP);
  PgGroup g1 = w.Group(Commands(tenants, 0, 3));
  REQUIRE(a->CommitGroup(kP, first.epoch, 0, g1).ok());
  w.Committed(g1);

  // Another node cannot take a live lease.
  PgPartition row;
  const Status taken = b->AcquireLease(kP, "node-b", 10s, &row);
  CHECK(taken.IsUnavailable());
  CHECK(taken.message().find("partition 0 is leased by 'node-a' until") == 0);
  CHECK(row.owner == "node-a");

  // node-a restarts: its new incarnation fences the old one.
  PgPartition second;
  REQUIRE(b->AcquireLease(kP, "node-a", 10s, &second).ok());
  CHECK(second.epoch == first.epoch + 1);
  CHECK(second.last_position == 3);
  PgGroup stale = w.Group(Commands(tenants, 3, 2));
  const Status s = a->CommitGroup(kP, first.epoch, 3, stale);
  INFO(s.ToString());
  CHECK(s.IsFenced());
  CHECK(Partition(*b, kP).last_position == 3);
  CHECK(ReadAll(*b, kP).size() == 3);
  Digest hash{};
  AppendResult result;
  CHECK(b->LookupCommand(tenants[0], "c3", &hash, &result).IsNotFound());
  StreamHead head;
  REQUIRE(b->GetHead(tenants[0], &head).ok());
  CHECK(head.version == 1);

  // The right epoch with a stale position is fenced too; the right pair commits.
  CHECK(b->CommitGroup(kP, second.epoch, 2, PgGroup()).IsFenced());
  REQUIRE(b->CommitGroup(kP, second.epoch, 3, stale).ok());
  CHECK(Partition(*b, kP).last_position == 5);
}

TEST_CASE("an expired lease goes to another node at a higher epoch, and the old owner is fenced",
          "[pg]") {
  PgCluster cluster;
  auto a = OpenLog(cluster);
  auto b = OpenLog(cluster);
  const auto tenants = TenantsOf(kP, kPartitions, 2);
  PgPartition la;
  REQUIRE(a->AcquireLease(kP, "node-a", 300ms, &la).ok());
  // Renewing an own lease keeps its epoch.
  REQUIRE(a->RenewLease(kP, "node-a", la.epoch, 300ms, &la).ok());
  CHECK(la.epoch == 1);
  PgPartition lb;
  CHECK(b->AcquireLease(kP, "node-b", 10s, &lb).IsUnavailable());

  std::this_thread::sleep_for(400ms);
  REQUIRE(b->AcquireLease(kP, "node-b", 10s, &lb).ok());
  CHECK(lb.owner == "node-b");
  CHECK(lb.epoch == la.epoch + 1);

  TestWriter w(kP);
  PgGroup g = w.Group(Commands(tenants, 0, 2));
  CHECK(a->CommitGroup(kP, la.epoch, 0, g).IsFenced());
  CHECK(a->RenewLease(kP, "node-a", la.epoch, 10s, &la).IsFenced());
  CHECK(ReadAll(*b, kP).empty());
  REQUIRE(b->CommitGroup(kP, lb.epoch, 0, g).ok());
  CHECK(Partition(*a, kP).last_position == 2);

  // A clean shutdown frees the lease at once.
  REQUIRE(b->ReleaseLease(kP, "node-b", lb.epoch).ok());
  REQUIRE(a->AcquireLease(kP, "node-a", 10s, &la).ok());
  CHECK(la.epoch == lb.epoch + 1);
  CHECK(la.last_position == 2);
}

TEST_CASE("a writer stopped inside its commit past its lease does not keep its partition", "[pg]") {
  PgCluster cluster;
  auto a = OpenLog(cluster);
  auto b = OpenLog(cluster);
  PgPartition la;
  REQUIRE(a->AcquireLease(kP, "node-a", 300ms, &la).ok());
  // node-a's commit, stopped after its fence (SIGSTOP between two pipelined statements):
  // the partition row stays locked while the session lives; no server timeout ends it.
  PgSession stopped(cluster.conninfo());
  stopped.Query("BEGIN");
  stopped.Query("SELECT ledger_advance(" + std::to_string(kP) + ", " + std::to_string(la.epoch) +
                ", 0, 0, 0, 0, 0)");
  // Each call returns (a hang would fail here, not at ctest's timeout).
  auto acquire = [&](PgPartition* row) {
    auto f =
        std::async(std::launch::async, [&] { return b->AcquireLease(kP, "node-b", 10s, row); });
    REQUIRE(f.wait_for(60s) == std::future_status::ready);
    return f.get();
  };
  PgPartition lb;
  Status s = acquire(&lb);
  INFO(s.ToString());
  CHECK(s.IsUnavailable());  // the lease still runs: the commit may yet pass the fence
  CHECK(lb.owner == "node-a");

  std::this_thread::sleep_for(400ms);
  s = acquire(&lb);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(lb.owner == "node-b");
  CHECK(lb.epoch == la.epoch + 1);
  // The stopped commit's session is gone with its transaction; node-a is fenced.
  CHECK_THROWS(stopped.Query("SELECT 1"));
  TestWriter w(kP);
  const auto tenants = TenantsOf(kP, kPartitions, 2);
  CHECK(a->CommitGroup(kP, la.epoch, 0, w.Group(Commands(tenants, 0, 2))).IsFenced());
  CHECK(Partition(*b, kP).last_position == 0);
}

TEST_CASE("a command id already in the log fails the whole group by its primary key", "[pg]") {
  PgCluster cluster;
  auto log = OpenLog(cluster);
  const auto tenants = TenantsOf(kP, kPartitions, 2);
  PgPartition lease;
  REQUIRE(log->AcquireLease(kP, "node-a", 10s, &lease).ok());
  TestWriter w(kP);
  PgGroup g1 = w.Group(Commands(tenants, 0, 2));  // c0 (tenants[0]), c1 (tenants[1])
  REQUIRE(log->CommitGroup(kP, lease.epoch, 0, g1).ok());
  w.Committed(g1);

  // A writer that believed c0 new (a bug, or a state it failed to reload).
  PgGroup dup = w.Group({{tenants[1], "c2"}, {tenants[0], "c0"}});
  const Status s = log->CommitGroup(kP, lease.epoch, 2, dup);
  INFO(s.ToString());
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("ledger_commands_pkey") != std::string::npos);

  // Nothing of it: not the partition row, not c2's event, record or head.
  CHECK(Partition(*log, kP).last_position == 2);
  CHECK(ReadAll(*log, kP).size() == 2);
  Digest hash{};
  AppendResult result;
  CHECK(log->LookupCommand(tenants[1], "c2", &hash, &result).IsNotFound());
  REQUIRE(log->LookupCommand(tenants[0], "c0", &hash, &result).ok());
  CHECK(result.position == 1);
  StreamHead head;
  REQUIRE(log->GetHead(tenants[1], &head).ok());
  CHECK(head.version == 1);
  // The connection is still good, and the same position takes the corrected group.
  REQUIRE(log->CommitGroup(kP, lease.epoch, 2, w.Group({{tenants[1], "c2"}})).ok());
  CHECK(Partition(*log, kP).last_position == 3);
}

TEST_CASE("a connection killed during COMMIT is an unknown outcome that the log then tells",
          "[pg]") {
  PgCluster cluster;
  auto log = OpenLog(cluster);
  PgSession admin(cluster.conninfo());
  const auto tenants = TenantsOf(kP, kPartitions, 2);
  PgPartition lease;
  REQUIRE(log->AcquireLease(kP, "node-a", 10s, &lease).ok());
  TestWriter w(kP);
  const int pid = log->BackendPid();
  REQUIRE(pid != 0);

  SECTION("killed while the commit waits for replication: it committed") {
    WaitForGhostStandby(admin, true);
    PgGroup g = w.Group(Commands(tenants, 0, 3));
    Status s;
    std::thread t([&] { s = log->CommitGroup(kP, lease.epoch, 0, g); });
    WaitUntil(admin, WaitingOn(pid, "SyncRep"));
    admin.Query("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
    t.join();
    INFO(s.ToString());
    CHECK(s.IsOutcomeUnknown());
    WaitForGhostStandby(admin, false);
    // Reading again (on a new connection) shows the group whole.
    CHECK(Partition(*log, kP).last_position == 3);
    const auto read = ReadAll(*log, kP);
    REQUIRE(read.size() == 3);
    CHECK(read[2].second == g.events[2].bytes);
  }

  SECTION("killed before the commit (waiting on the partition lock): nothing committed") {
    admin.Query("BEGIN");
    admin.Query("SELECT 1 FROM ledger_partitions WHERE partition = 0 FOR UPDATE");
    PgGroup g = w.Group(Commands(tenants, 0, 3));
    Status s;
    std::thread t([&] { s = log->CommitGroup(kP, lease.epoch, 0, g); });
    PgSession killer(cluster.conninfo());
    WaitUntil(killer, "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = " +
                          std::to_string(pid));
    killer.Query("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
    t.join();
    admin.Query("ROLLBACK");
    INFO(s.ToString());
    CHECK(s.IsOutcomeUnknown());
    CHECK(Partition(*log, kP).last_position == 0);
    CHECK(ReadAll(*log, kP).empty());
    // So the writer may send the same group again, at the same fence.
    REQUIRE(log->CommitGroup(kP, lease.epoch, 0, g).ok());
    CHECK(ReadAll(*log, kP).size() == 3);
  }

  SECTION("a cancelled replication wait: committed on the primary, still unknown") {
    WaitForGhostStandby(admin, true);
    PgGroup g = w.Group(Commands(tenants, 0, 2));
    Status s;
    std::thread t([&] { s = log->CommitGroup(kP, lease.epoch, 0, g); });
    WaitUntil(admin, WaitingOn(pid, "SyncRep"));
    admin.Query("SELECT pg_cancel_backend(" + std::to_string(pid) + ")");
    t.join();
    INFO(s.ToString());
    CHECK(s.IsOutcomeUnknown());
    WaitForGhostStandby(admin, false);
    CHECK(Partition(*log, kP).last_position == 2);
  }
}

}  // namespace
}  // namespace ledger

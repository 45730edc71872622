// A hidden benchmark (not run by CTest): `pg_tests "[bench]"`. CommitGroup with groups of
// 64 one-event commands against a plain single-row INSERT transaction from the same
// client on the same throwaway cluster (fsync and synchronous_commit on), in alternating
// rounds; prints the medians and their ratio.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>

#include "ledger/coding.h"
#include "ledger/pg_log.h"
#include "pg/pg_cluster.h"
#include "pg/pg_test_writer.h"

namespace ledger {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRound = std::chrono::seconds(3);

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Single-row INSERT transactions per second (autocommit, prepared, binary).
double InsertRate(PGconn* c, uint64_t* next_id) {
  const auto start = Clock::now();
  uint64_t n = 0;
  const std::string value(200, 'x');
  while (Clock::now() - start < kRound) {
    std::string id;
    coding::PutFixed64(&id, ++*next_id);
    const char* values[] = {id.data(), value.data()};
    const int lengths[] = {8, static_cast<int>(value.size())};
    const int formats[] = {1, 1};
    PGresult* r = PQexecPrepared(c, "bench_insert", 2, values, lengths, formats, 1);
    REQUIRE(PQresultStatus(r) == PGRES_COMMAND_OK);
    PQclear(r);
    ++n;
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

TEST_CASE("CommitGroup throughput beside single-row INSERT transactions", "[.][bench]") {
  testing::PgCluster cluster;
  std::unique_ptr<PgLog> log;
  REQUIRE(PgLog::Open(cluster.conninfo(), PgLogOptions{4, true}, &log).ok());
  PgPartition lease;
  REQUIRE(log->AcquireLease(0, "bench", std::chrono::minutes(10), &lease).ok());
  const auto tenants = testing::TenantsOf(0, 4, 16);

  PGconn* c = PQconnectdb(cluster.conninfo().c_str());
  REQUIRE(PQstatus(c) == CONNECTION_OK);
  PQclear(PQexec(c, "CREATE TABLE bench_rows (id bigint PRIMARY KEY, v bytea NOT NULL)"));
  PQclear(PQprepare(c, "bench_insert", "INSERT INTO bench_rows VALUES ($1::int8, $2::bytea)", 2,
                    nullptr));

  testing::TestWriter w(0);
  uint64_t next_command = 0;
  uint64_t next_id = 0;
  std::vector<double> groups, inserts;
  for (int round = 0; round < 3; ++round) {
    inserts.push_back(InsertRate(c, &next_id));
    double busy = 0;
    uint64_t n = 0;
    while (busy < std::chrono::duration<double>(kRound).count()) {
      std::vector<std::pair<std::string, std::string>> commands;
      for (int i = 0; i < 64; ++i, ++next_command) {
        commands.emplace_back(tenants[next_command % tenants.size()],
                              "c" + std::to_string(next_command));
      }
      const PgGroup g = w.Group(commands);
      const auto t0 = Clock::now();
      const Status s = log->CommitGroup(0, lease.epoch, w.last_position(), g);
      busy += std::chrono::duration<double>(Clock::now() - t0).count();
      REQUIRE(s.ok());
      w.Committed(g);
      ++n;
    }
    groups.push_back(n / busy);
  }
  PQfinish(c);
  const double g = Median(groups), ins = Median(inserts);
  std::printf(
      "pg bench (medians of 3 rounds of %llds): CommitGroup %.0f groups/s = %.0f events/s "
      "(64 one-event commands a group); single-row INSERT %.0f tx/s; groups/tx %.2f, "
      "events/tx %.1f\n",
      static_cast<long long>(kRound.count()), g, g * 64, ins, g / ins, g * 64 / ins);
  CHECK(g > 0);
}

}  // namespace
}  // namespace ledger

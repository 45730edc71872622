// A throwaway PostgreSQL 15 cluster for one test (scripts/pg_throwaway.sh), on a free
// loopback port, removed when the test ends — also when the test process crashes or is
// killed: a watchdog process removes the cluster once the test process is gone.
// Not thread-safe, except Query from threads with their own PgCluster::Admin.
#pragma once

#include <libpq-fe.h>
#include <sys/types.h>

#include <string>

namespace ledger::testing {

class PgCluster {
 public:
  // Creates and starts the cluster. Throws std::runtime_error (with the server's log)
  // if it cannot.
  PgCluster();
  // Stops the cluster and removes its files.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // libpq connection string of the cluster's `postgres` database.
  std::string conninfo(const std::string& dbname = "postgres") const;
  // The cluster's directory (data, logs, socket).
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  int port_ = 0;
  int watchdog_fd_ = -1;  // write end of the pipe the watchdog waits on
  pid_t watchdog_ = -1;
};

// A plain libpq session for a test's own SQL (admin: kill backends, change settings).
// Not thread-safe: one per thread.
class PgSession {
 public:
  // Connects; throws std::runtime_error if it cannot.
  explicit PgSession(const std::string& conninfo);
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  // Runs `sql` (one statement or several); returns the first column of the first row of
  // the last result ("" if none). Throws std::runtime_error on an error.
  std::string Query(const std::string& sql);

 private:
  PGconn* conn_;
};

// Makes every COMMIT on the cluster wait for a synchronous standby that never comes (on),
// or no longer (off): a test of what a writer does when replication does not answer.
void WaitForGhostStandby(PgSession& admin, bool on);

}  // namespace ledger::testing

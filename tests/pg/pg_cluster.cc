#include "pg/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ledger::testing {
namespace {

// A loopback port nobody listens on now (the kernel's pick for an ephemeral bind).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Forks the watchdog: it runs `script up dir port`, reports whether that worked on a
// pipe, then waits for the other pipe to close (this process ended, however it ended)
// and runs `script down dir`. So a test killed while the cluster starts still leaves
// nothing behind: `down` runs only after `up` has finished. Its own session, so a ^C to
// the test does not stop it. Returns whether `up` worked; *eof_fd is the pipe to close.
bool StartWatchdog(const std::string& script, const std::string& dir, int port, pid_t* pid,
                   int* eof_fd) {
  int eof[2];
  int status[2];
  if (::pipe2(eof, O_CLOEXEC) != 0 || ::pipe2(status, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  const std::string port_text = std::to_string(port);
  *pid = ::fork();
  if (*pid < 0) throw std::runtime_error("fork failed");
  if (*pid == 0) {
    ::close(eof[1]);
    ::close(status[0]);
    ::setsid();
    const pid_t up = ::fork();
    if (up == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::execl(script.c_str(), script.c_str(), "up", dir.c_str(), port_text.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int st = 0;
    const bool ok = up > 0 && ::waitpid(up, &st, 0) == up && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    ::signal(SIGPIPE, SIG_IGN);  // the test may be gone already: still run `down`
    const char answer = ok ? 1 : 0;
    [[maybe_unused]] const ssize_t w = ::write(status[1], &answer, 1);
    ::close(status[1]);
    char b;
    while (::read(eof[0], &b, 1) < 0 && errno == EINTR) {
    }
    ::execl(script.c_str(), script.c_str(), "down", dir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(eof[0]);
  ::close(status[1]);
  char answer = 0;
  ssize_t n;
  while ((n = ::read(status[0], &answer, 1)) < 0 && errno == EINTR) {
  }
  ::close(status[0]);
  *eof_fd = eof[1];
  return n == 1 && answer == 1;
}

}  // namespace

PgCluster::PgCluster() {
  const char* base = std::getenv("TMPDIR");
  const std::string script = LEDGER_PG_THROWAWAY;
  std::string failures;
  for (int attempt = 0; attempt < 3; ++attempt) {  // another process may take the port
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/ledger-pg-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    port_ = FreePort();
    if (StartWatchdog(script, dir_, port_, &watchdog_, &watchdog_fd_)) return;
    failures += ReadFile(dir_ + "/initdb.log") + ReadFile(dir_ + "/pg_ctl.log") +
                ReadFile(dir_ + "/server.log");
    ::close(watchdog_fd_);
    ::waitpid(watchdog_, nullptr, 0);
  }
  throw std::runtime_error("could not start a throwaway PostgreSQL:\n" + failures);
}

PgCluster::~PgCluster() {
  ::close(watchdog_fd_);
  ::waitpid(watchdog_, nullptr, 0);
}

std::string PgCluster::conninfo(const std::string& dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname +
         " connect_timeout=10";
}

PgSession::PgSession(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string m = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error("connect: " + m);
  }
}

PgSession::~PgSession() { PQfinish(conn_); }

std::string PgSession::Query(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  const ExecStatusType s = PQresultStatus(r);
  if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
    std::string m = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error(sql + ": " + m);
  }
  std::string out;
  if (s == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
  PQclear(r);
  return out;
}

void WaitForGhostStandby(PgSession& admin, bool on) {
  admin.Query(on ? "ALTER SYSTEM SET synchronous_standby_names = 'ghost'"
                 : "ALTER SYSTEM RESET synchronous_standby_names");
  admin.Query("SELECT pg_reload_conf()");
  // The backends take the reload at their next command.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

}  // namespace ledger::testing

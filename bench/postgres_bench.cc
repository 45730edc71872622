// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include "postgres_bench.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "bench_util.h"
#include "capnp_load.h"
#include "ledger/log_partitions.h"
#include "ledger/pg_log.h"
#include "ledgerd_child.h"
#include "server/framing.h"

namespace ledger::bench {
namespace {

namespace po = boost::program_options;
using json = nlohmann::json;

constexpr int kTenants = 16;

// The peer: the same invite_member as one PL/pgSQL transaction per command, the way many
// teams would write it — the tenant's head row locked, the command record kept forever
// (idempotency), the event appended, the member row written, the head advanced.
constexpr char kPeerSchema[] = R"sql(
CREATE TABLE peer_heads (tenant text PRIMARY KEY, version bigint NOT NULL);
CREATE TABLE peer_commands (tenant text, id text, result text NOT NULL,
                            PRIMARY KEY (tenant, id));
CREATE TABLE peer_events (tenant text, version bigint, type text NOT NULL, body jsonb NOT NULL,
                          recorded_at timestamptz NOT NULL DEFAULT now(),
                          PRIMARY KEY (tenant, version));
CREATE TABLE peer_members (tenant text, user_id text, email text NOT NULL, role text NOT NULL,
                           PRIMARY KEY (tenant, user_id));
CREATE FUNCTION peer_invite(t text, cmd text, u text, mail text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE v bigint; r text;
BEGIN
  SELECT version INTO v FROM peer_heads WHERE tenant = t FOR UPDATE;
  IF NOT FOUND THEN RETURN 'rejected:tenant_not_found'; END IF;
  SELECT result INTO r FROM peer_commands WHERE tenant = t AND id = cmd;
  IF FOUND THEN RETURN 'duplicate:' || r; END IF;
  IF EXISTS (SELECT 1 FROM peer_members WHERE tenant = t AND user_id = u) THEN
    RETURN 'rejected:already_member';
  END IF;
  v := v + 1;
  INSERT INTO peer_events (tenant, version, type, body)
    VALUES (t, v, 'member_invited', jsonb_build_object('user', u, 'email', mail, 'role', 'member'));
  INSERT INTO peer_members VALUES (t, u, mail, 'member');
  r := 'accepted:' || v;
  INSERT INTO peer_commands VALUES (t, cmd, r);
  UPDATE peer_heads SET version = v WHERE tenant = t;
  RETURN r;
END $$;
)sql";

// A throwaway PostgreSQL 15 (scripts/pg_throwaway.sh) in `dir`, removed on destruction.
class ThrowawayPostgres {
 public:
  ThrowawayPostgres(const std::string& dir, int port, int max_connections)
      : dir_(dir), port_(port) {
    const std::string up = fmt::format("'{}' up '{}' {} {} >/dev/null", LEDGER_PG_THROWAWAY, dir,
                                       port, max_connections);
    if (std::system(up.c_str()) != 0) throw std::runtime_error("cannot start PostgreSQL: " + up);
  }
  ~ThrowawayPostgres() {
    const std::string down = fmt::format("'{}' down '{}'", LEDGER_PG_THROWAWAY, dir_);
    [[maybe_unused]] const int rc = std::system(down.c_str());
  }
  std::string conninfo(const std::string& db) const {
    return fmt::format("host=127.0.0.1 port={} user=postgres dbname={}", port_, db);
  }

 private:
  std::string dir_;
  int port_;
};

// A Patroni cluster of two PostgreSQL 15 nodes (synchronous, strict) and its etcd, started
// by scripts/cluster.sh in `dir` (no ledgerd nodes), removed on destruction. Needs root.
class PatroniCluster {
 public:
  PatroniCluster(const std::string& dir, int port_base) : dir_(dir) {
    const std::string up = fmt::format(
        "LEDGER_CLUSTER_NODES=2 LEDGER_CLUSTER_LEDGERD=0 LEDGER_CLUSTER_PORT_BASE={} '{}' up "
        "'{}' >'{}.log' 2>&1",
        port_base, LEDGER_CLUSTER_SH, dir, dir);
    if (std::system(up.c_str()) != 0) {
      Down();
      throw std::runtime_error("cannot start the Patroni cluster: see " + dir + ".log");
    }
    std::ifstream in(dir + "/conninfo");
    std::getline(in, conninfo_);
    if (conninfo_.find("dbname=postgres") == std::string::npos) {
      Down();
      throw std::runtime_error("no conninfo in " + dir + "/conninfo");
    }
  }
  ~PatroniCluster() { Down(); }
  // The multi-host conninfo (target_session_attrs=read-write) for database `db`.
  std::string conninfo(const std::string& db) const {
    std::string c = conninfo_;
    c.replace(c.find("dbname=postgres"), std::string("dbname=postgres").size(), "dbname=" + db);
    return c;
  }

 private:
  void Down() const {
    const std::string down = fmt::format("'{}' down '{}' >/dev/null 2>&1", LEDGER_CLUSTER_SH, dir_);
    [[maybe_unused]] const int rc = std::system(down.c_str());
  }
  std::string dir_;
  std::string conninfo_;
};

// One libpq connection; throws on failure (the bench stops with the server's message).
class Session {
 public:
  explicit Session(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) Fail("connect");
  }
  ~Session() { PQfinish(conn_); }
  void Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const ExecStatusType s = PQresultStatus(r);
    PQclear(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) Fail(sql.substr(0, 60));
  }
  void Prepare(const char* name, const char* sql, int params) {
    PGresult* r = PQprepare(conn_, name, sql, params, nullptr);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) Fail(name);
  }
  // Runs prepared `name`; returns the first column of the first row.
  std::string Run(const char* name, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* r = PQexecPrepared(conn_, name, static_cast<int>(values.size()), values.data(),
                                 nullptr, nullptr, 0);
    std::string out;
    const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok) out = PQgetvalue(r, 0, 0);
    PQclear(r);
    if (!ok) Fail(name);
    return out;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) {
    throw std::runtime_error(what + ": " + PQerrorMessage(conn_));
  }
  PGconn* conn_;
};

int FreePort() {
  // Away from the system's 5432 and below Linux's ephemeral range (32768-60999): a port
  // there can be taken by any outgoing connection's source port before PostgreSQL or the
  // Patroni cluster (ports FreePort() + 100 to + 141) binds it.
  return 20000 + static_cast<int>(::getpid() % 12000);
}

std::string Invite(const std::string& prefix, int c, long n) {
  const int t = c % kTenants;
  return fmt::format(R"({{"type":"invite_member","tenant":"t{}","actor":"owner{}","id":"{}c{}-{}",)"
                     R"("user":"{}u{}-{}","email":"{}u{}-{}@bench.test"}})",
                     t, t, prefix, c, n, prefix, c, n, prefix, c, n);
}

// The peer's commands/s: `clients` connections, `per_client` commands each.
double RunPeer(const std::string& conninfo, const std::string& prefix, int clients,
               long per_client) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, ok{true};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      try {
        Session s(conninfo);
        s.Prepare("invite", "SELECT peer_invite($1, $2, $3, $4)", 4);
        ++ready;
        while (!go) std::this_thread::yield();
        const std::string tenant = fmt::format("t{}", c % kTenants);
        for (long n = 0; n < per_client; ++n) {
          const std::string user = fmt::format("{}u{}-{}", prefix, c, n);
          const std::string r = s.Run("invite", {tenant, fmt::format("{}c{}-{}", prefix, c, n),
                                                 user, user + "@bench.test"});
          if (r.rfind("accepted:", 0) != 0) {
            if (ok.exchange(false)) fmt::print(stderr, "ledger-bench postgres: peer: {}\n", r);
          }
        }
      } catch (const std::exception& e) {
        fmt::print(stderr, "ledger-bench postgres: peer client: {}\n", e.what());
        ok = false;
        ++ready;
      }
    });
  }
  while (ready < clients) std::this_thread::yield();
  const auto start = SteadyClock::now();
  go = true;
  for (auto& t : threads) t.join();
  const double seconds = SecondsSince(start);
  if (!ok) throw std::runtime_error("a peer command was not accepted");
  return static_cast<double>(per_client * clients) / seconds;
}

// Ledger commands/s over Cap'n Proto, client c sending to ports[c] (or every client to
// ports[0]): the same invite_member commands.
double RunLedgerOn(const std::vector<uint16_t>& ports, const std::string& prefix, int clients,
                   long per_client) {
  std::vector<std::vector<kj::Array<capnp::word>>> frames(static_cast<size_t>(clients));
  for (int c = 0; c < clients; ++c) {
    for (long n = 0; n < per_client; ++n) {
      capnp::MallocMessageBuilder mb(256);
      auto req = mb.initRoot<server::wire::Request>();
      req.setId(static_cast<uint64_t>(n + 1));
      req.setToken(kToken);
      req.initSubmit(1).set(0, Invite(prefix, c, n));
      frames[static_cast<size_t>(c)].push_back(server::ToFrame(mb));
    }
  }
  std::string refused;  // the first answer that is not an acceptance (one I/O thread)
  const LoadResult r = RunCapnpLoadOn(ports, frames, 1, [&refused](auto resp) {
    if (!resp.isResults()) {
      if (refused.empty()) refused = resp.isError() ? resp.getError().getMessage().cStr() : "?";
      return false;
    }
    for (const auto result : resp.getResults()) {
      if (std::string_view(result.cStr()).find("\"accepted\"") == std::string_view::npos) {
        if (refused.empty()) refused = result.cStr();
        return false;
      }
    }
    return true;
  });
  if (!r.ok) throw std::runtime_error("a ledger command was not accepted: " + refused);
  return static_cast<double>(per_client * clients) / r.seconds;
}

// A ledgerd's commands/s over Cap'n Proto.
double RunLedger(const Server& server, const std::string& prefix, int clients, long per_client) {
  return RunLedgerOn({server.capnp_port()}, prefix, clients, per_client);
}

// Two ledgerd nodes on one log with --spread-partitions (each writes its share and
// forwards the rest), and where each bench client sends its commands: to the node that
// writes its tenant's partition, as a client library that knows the placement would.
class SpreadPair {
 public:
  SpreadPair(const std::string& dir, const std::string& ledgerd, const std::string& conninfo,
             uint32_t partitions)
      : partitions_(partitions == 0 ? ledger::kDefaultPgPartitions : partitions) {
    const std::vector<std::string> names = {"s1", "s2"};
    for (size_t i = 0; i < names.size(); ++i) {
      std::filesystem::create_directories(dir + "/" + names[i]);
      nodes_.push_back(std::make_unique<Server>(dir + "/" + names[i]));
      std::vector<std::string> args = {"--postgres", conninfo, "--node", names[i],
                                       "--spread-partitions"};
      if (partitions != 0) args.insert(args.end(), {"--partitions", std::to_string(partitions)});
      if (!nodes_.back()->Start(ledgerd, args)) {
        throw std::runtime_error("cannot start " + ledgerd + " --spread-partitions");
      }
    }
    AwaitShares(names);
  }
  const Server& first() const { return *nodes_[0]; }
  // Each client's port: the writer of its tenant's partition (client c: tenant c % kTenants).
  std::vector<uint16_t> PortsFor(int clients) const {
    const std::vector<bool> first = ledger::PartitionsPlacedOn("s1", {"s1", "s2"}, partitions_);
    std::vector<uint16_t> ports;
    for (int c = 0; c < clients; ++c) {
      const uint32_t p = ledger::LogPartitionOf(fmt::format("t{}", c % kTenants), partitions_);
      ports.push_back(first[p] ? nodes_[0]->capnp_port() : nodes_[1]->capnp_port());
    }
    return ports;
  }
  // Group times summed over both writers (sizes and times averaged over their groups).
  GroupTimes Groups() const {
    const GroupTimes a = GroupTimesOf(*nodes_[0]), b = GroupTimesOf(*nodes_[1]);
    return GroupTimes{(a.size + b.size) / 2, (a.build_us + b.build_us) / 2,
                      (a.commit_us + b.commit_us) / 2, (a.local_write_us + b.local_write_us) / 2};
  }
  void Stop() {
    for (auto& n : nodes_) n->Stop();
  }

 private:
  // Waits (up to a minute) until each node holds exactly the partitions placed on it.
  void AwaitShares(const std::vector<std::string>& names) const {
    for (int i = 0; i < 600; ++i) {
      bool placed = true;
      for (size_t n = 0; n < names.size(); ++n) {
        const std::vector<bool> mine = ledger::PartitionsPlacedOn(names[n], names, partitions_);
        Client c(nodes_[n]->port());
        std::string text;
        c.Send(boost::beast::http::verb::get, "/metrics", "", &text);
        const double want = static_cast<double>(std::count(mine.begin(), mine.end(), true));
        placed = placed && MetricValue(text, "ledger_log_leases_held") == want;
      }
      if (placed) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("the spread nodes did not share the partitions out within a minute");
  }

  const uint32_t partitions_;
  std::vector<std::unique_ptr<Server>> nodes_;
};

// A ledgerd's access checks/s over Cap'n Proto: `per_client` checks per client of the
// users round `prefix` invited (answers: invitation_pending) and of the owners (no_seat).
double RunChecks(const Server& server, const std::string& prefix, int clients, long per_client) {
  std::vector<std::vector<kj::Array<capnp::word>>> frames(static_cast<size_t>(clients));
  for (int c = 0; c < clients; ++c) {
    for (long n = 0; n < per_client; ++n) {
      const std::string user =
          n % 2 == 0 ? fmt::format("{}u{}-{}", prefix, c, n) : fmt::format("owner{}", c % kTenants);
      frames[static_cast<size_t>(c)].push_back(CheckFrame(static_cast<uint64_t>(n + 1), kToken,
                                                          fmt::format("t{}", c % kTenants), user,
                                                          "bench.pro"));
    }
  }
  const LoadResult r = RunCapnpLoad(server.capnp_port(), frames, 1, [](auto resp) {
    return resp.isCheck() && !resp.getCheck().getAllowed();
  });
  if (!r.ok) throw std::runtime_error("a check failed or allowed access");
  return static_cast<double>(per_client * clients) / r.seconds;
}

// Waits (up to a minute) until `follower`'s copy reaches `leader`'s last position.
void AwaitFollower(const Server& leader, const Server& follower) {
  auto position = [](const Server& s) {
    Client c(s.port());
    std::string out;
    c.Send(boost::beast::http::verb::get, "/healthz", "", &out);
    return json::parse(out).value("position", uint64_t{0});
  };
  const uint64_t target = position(leader);
  for (int i = 0; i < 600 && position(follower) < target; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (position(follower) < target) throw std::runtime_error("the follower did not catch up");
}

// Loads the product and the tenants into a ledgerd.
void SetUpLedger(const Server& server) {
  Client setup(server.port());
  json batch = json::array();
  batch.push_back({{"type", "define_product"},
                   {"actor", "system"},
                   {"product", "bench.pro"},
                   {"editions", {"standard"}}});
  for (int t = 0; t < kTenants; ++t) {
    batch.push_back({{"type", "create_tenant"},
                     {"tenant", fmt::format("t{}", t)},
                     {"actor", "system"},
                     {"owner", fmt::format("owner{}", t)},
                     {"owner_email", fmt::format("owner{}@bench.test", t)}});
  }
  std::string out;
  if (setup.Send(boost::beast::http::verb::post, "/v1/commands", batch.dump(), &out) != 200) {
    throw std::runtime_error("ledger setup failed: " + out);
  }
  for (const json& result : json::parse(out)) {
    if (result.value("status", "") != "accepted") {
      throw std::runtime_error("ledger setup failed: " + result.dump());
    }
  }
}

void SetUpPeer(const std::string& conninfo) {
  Session s(conninfo);
  s.Exec(kPeerSchema);
  for (int t = 0; t < kTenants; ++t) {
    s.Exec(fmt::format("INSERT INTO peer_heads VALUES ('t{}', 1)", t));
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Stops a process (SIGSTOP) for its own lifetime, then lets it go on (SIGCONT).
class Paused {
 public:
  explicit Paused(pid_t pid) : pid_(pid) { ::kill(pid_, SIGSTOP); }
  ~Paused() { ::kill(pid_, SIGCONT); }
  Paused(const Paused&) = delete;
  Paused& operator=(const Paused&) = delete;

 private:
  const pid_t pid_;
};

// What one timed phase cost in CPU: the machine's (every process: PostgreSQL, ledgerd,
// this client) and one ledgerd's, per command, and the machine's busy cores.
struct PhaseCpu {
  double machine_us = 0, ledgerd_us = 0, busy_cores = 0;
  double steal_cores = 0;  // cores the hypervisor gave to other guests meanwhile
};

// Measures the CPU of a phase from construction to Finish.
class PhaseMeter {
 public:
  explicit PhaseMeter(pid_t ledgerd)
      : ledgerd_(ledgerd),
        machine_(ReadMachineCpu()),
        ledgerd_start_(ledgerd > 0 ? ProcessCpuMicros(ledgerd) : 0),
        start_(SteadyClock::now()) {}
  PhaseCpu Finish(double ops) const {
    const double seconds = SecondsSince(start_);
    const MachineCpu now = ReadMachineCpu();
    const double machine = now.busy_us - machine_.busy_us;
    PhaseCpu c;
    c.machine_us = machine / ops;
    c.ledgerd_us = ledgerd_ > 0 ? (ProcessCpuMicros(ledgerd_) - ledgerd_start_) / ops : 0;
    c.busy_cores = machine / (seconds * 1e6);
    c.steal_cores = (now.steal_us - machine_.steal_us) / (seconds * 1e6);
    return c;
  }

 private:
  pid_t ledgerd_;
  MachineCpu machine_;
  double ledgerd_start_;
  SteadyClock::time_point start_;
};

// The median of one field of `phases`.
double Median(const std::vector<PhaseCpu>& phases, double PhaseCpu::*field) {
  std::vector<double> v;
  for (const PhaseCpu& p : phases) v.push_back(p.*field);
  return Median(v);
}

// What one contest measured, round by round.
struct Figures {
  std::vector<double> peer, on_pg, local, pg_ratio, embedded_ratio;
  std::vector<PhaseCpu> peer_cpu, on_pg_cpu;  // the machine's CPU in those phases
  GroupTimes on_pg_groups;                    // the writing node's, over every round
  // Two nodes with --spread-partitions on the same PostgreSQL, each client sending to its
  // tenant's writer: commands/s, ÷ the peer, the machine's CPU, and their group times.
  std::vector<double> spread, spread_ratio;
  std::vector<PhaseCpu> spread_cpu;
  GroupTimes spread_groups;
  std::vector<double> embedded_to_peer;  // the embedded ledgerd ÷ the peer (issue 20's row)
  std::vector<double> follower_checks, embedded_checks, check_ratio;
};

// How a contest runs: clients, commands per client and contender, rounds, and the
// partitions of the log the ledger creates (0: ledgerd's default, 16).
struct Load {
  int clients = 64;
  long per_client = 0;
  int rounds = 3;
  uint32_t partitions = 0;
};

// The ledger on the PostgreSQL reached by `conninfo(db)` (a writing node and a following
// one) against the peer on the same PostgreSQL and against the embedded ledger, in
// interleaved rounds; each ledgerd keeps its files under `dir`.
Figures RunContest(const std::function<std::string(const std::string&)>& conninfo,
                   const std::string& dir, const Load& load) {
  Session(conninfo("postgres")).Exec("CREATE DATABASE peer");
  Session(conninfo("postgres")).Exec("CREATE DATABASE ledger");
  Session(conninfo("postgres")).Exec("CREATE DATABASE ledger_spread");
  SetUpPeer(conninfo("peer"));
  const std::string ledgerd = LedgerdNextToBench();
  for (const char* sub : {"/node", "/embedded", "/follower"}) {
    std::filesystem::create_directories(dir + sub);
  }
  Server node(dir + "/node"), embedded(dir + "/embedded"), follower(dir + "/follower");
  std::vector<std::string> node_args = {"--postgres", conninfo("ledger"), "--node", "bench"};
  if (load.partitions != 0) {
    node_args.insert(node_args.end(), {"--partitions", std::to_string(load.partitions)});
  }
  if (!node.Start(ledgerd, node_args) ||
      !follower.Start(ledgerd, {"--postgres", conninfo("ledger"), "--node", "follower"}) ||
      !embedded.Start(ledgerd)) {
    throw std::runtime_error("cannot start " + ledgerd);
  }
  SpreadPair spread(dir + "/spread", ledgerd, conninfo("ledger_spread"), load.partitions);
  const std::vector<uint16_t> spread_ports = spread.PortsFor(load.clients);
  SetUpLedger(node);
  SetUpLedger(embedded);
  SetUpLedger(spread.first());
  Figures f;
  for (int round = 0; round < load.rounds; ++round) {
    const std::string prefix = fmt::format("r{}", round);
    {
      // The follower is paused while commands are timed: on a cluster it runs on another
      // machine; here its pulls would take the writer's and PostgreSQL's two cores.
      const Paused paused(follower.pid());
      const double ops = static_cast<double>(load.per_client * load.clients);
      const PhaseMeter peer_meter(0);
      f.peer.push_back(RunPeer(conninfo("peer"), prefix, load.clients, load.per_client));
      f.peer_cpu.push_back(peer_meter.Finish(ops));
      const PhaseMeter ledger_meter(node.pid());
      f.on_pg.push_back(RunLedger(node, prefix, load.clients, load.per_client));
      f.on_pg_cpu.push_back(ledger_meter.Finish(ops));
      const PhaseMeter spread_meter(0);
      f.spread.push_back(RunLedgerOn(spread_ports, prefix, load.clients, load.per_client));
      f.spread_cpu.push_back(spread_meter.Finish(ops));
      f.local.push_back(RunLedger(embedded, prefix, load.clients, load.per_client));
    }
    f.spread_ratio.push_back(f.spread.back() / f.peer.back());
    f.pg_ratio.push_back(f.on_pg.back() / f.peer.back());
    f.embedded_ratio.push_back(f.on_pg.back() / f.local.back());
    f.embedded_to_peer.push_back(f.local.back() / f.peer.back());
    // Checks on a node that follows the log, against the embedded ledger, of the same
    // users (the follower first catches up with this round's commands).
    AwaitFollower(node, follower);
    f.follower_checks.push_back(RunChecks(follower, prefix, load.clients, load.per_client * 2));
    f.embedded_checks.push_back(RunChecks(embedded, prefix, load.clients, load.per_client * 2));
    f.check_ratio.push_back(f.follower_checks.back() / f.embedded_checks.back());
  }
  f.on_pg_groups = GroupTimesOf(node);
  f.spread_groups = spread.Groups();
  spread.Stop();
  node.Stop();
  follower.Stop();
  embedded.Stop();
  return f;
}

// One contest's figures as JSON members (medians, and the ratio to the peer per round).
std::string FiguresJson(const Figures& f) {
  return fmt::format(
      "\"ledger_on_postgres_per_s\":{:.0f},\"peer_plpgsql_per_s\":{:.0f},"
      "\"embedded_ledger_per_s\":{:.0f},\"median_ratio_to_peer\":{:.2f},"
      "\"median_ratio_to_embedded\":{:.2f},\"round_ratios_to_peer\":[{:.2f}],"
      "\"follower_checks_per_s\":{:.0f},\"embedded_checks_per_s\":{:.0f},"
      "\"median_checks_ratio_follower_to_embedded\":{:.2f},"
      "\"median_embedded_ratio_to_peer\":{:.2f},\"round_embedded_ratios_to_peer\":[{:.2f}],"
      "\"ledger_on_postgres_machine_cpu_us\":{:.1f},\"ledger_on_postgres_ledgerd_cpu_us\":{:.1f},"
      "\"ledger_on_postgres_busy_cores\":{:.2f},\"ledger_on_postgres_steal_cores\":{:.2f},"
      "\"peer_machine_cpu_us\":{:.1f},\"peer_busy_cores\":{:.2f},\"peer_steal_cores\":{:.2f},"
      "\"ledger_on_postgres_group_size\":{:.1f},"
      "\"ledger_on_postgres_group_commit_us\":{:.0f},"
      "\"ledger_on_postgres_group_local_write_us\":{:.0f},"
      "\"spread_2_nodes_per_s\":{:.0f},\"median_spread_ratio_to_peer\":{:.2f},"
      "\"round_spread_ratios_to_peer\":[{:.2f}],\"spread_machine_cpu_us\":{:.1f},"
      "\"spread_busy_cores\":{:.2f},\"spread_group_size\":{:.1f},"
      "\"spread_group_commit_us\":{:.0f},\"spread_group_local_write_us\":{:.0f}",
      Median(f.on_pg), Median(f.peer), Median(f.local), Median(f.pg_ratio),
      Median(f.embedded_ratio), fmt::join(f.pg_ratio, ","), Median(f.follower_checks),
      Median(f.embedded_checks), Median(f.check_ratio), Median(f.embedded_to_peer),
      fmt::join(f.embedded_to_peer, ","), Median(f.on_pg_cpu, &PhaseCpu::machine_us),
      Median(f.on_pg_cpu, &PhaseCpu::ledgerd_us), Median(f.on_pg_cpu, &PhaseCpu::busy_cores),
      Median(f.on_pg_cpu, &PhaseCpu::steal_cores), Median(f.peer_cpu, &PhaseCpu::machine_us),
      Median(f.peer_cpu, &PhaseCpu::busy_cores), Median(f.peer_cpu, &PhaseCpu::steal_cores),
      f.on_pg_groups.size, f.on_pg_groups.commit_us, f.on_pg_groups.local_write_us,
      Median(f.spread), Median(f.spread_ratio), fmt::join(f.spread_ratio, ","),
      Median(f.spread_cpu, &PhaseCpu::machine_us), Median(f.spread_cpu, &PhaseCpu::busy_cores),
      f.spread_groups.size, f.spread_groups.commit_us, f.spread_groups.local_write_us);
}

}  // namespace

int RunPostgresBench(int argc, char** argv) {
  int clients = 64, rounds = 3;
  long commands = 20000;
  uint32_t partitions = 0;
  std::string dir = "var/bench";
  po::options_description desc("postgres options");
  desc.add_options()("json", "one JSON line")("clients", po::value(&clients), "clients (64)")(
      "commands", po::value(&commands), "commands per round and contender (20000)")(
      "rounds", po::value(&rounds), "interleaved rounds (3)")("dir", po::value(&dir),
                                                              "scratch directory (on disk)")(
      "partitions", po::value(&partitions),
      "partitions of the log the ledger creates (default: ledgerd's, 16)")(
      "no-patroni", "skip the contest on a 2-node Patroni cluster (it needs root)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "ledger-bench postgres: {}\n", e.what());
    return 2;
  }
  if (clients < 1 || rounds < 1 || commands < clients) {
    fmt::print(stderr, "ledger-bench postgres: --clients, --rounds >= 1, --commands >= clients\n");
    return 2;
  }
  try {
    ScratchDir scratch(dir, "postgres");
    const Load load{clients, commands / clients, rounds, partitions};
    Figures single, patroni;
    {
      // One PostgreSQL, fsync on, no standby.
      ThrowawayPostgres pg(scratch.path() + "/pg", FreePort(), clients + 20);
      single = RunContest([&pg](const std::string& db) { return pg.conninfo(db); },
                          scratch.path() + "/single", load);
    }
    const bool with_patroni = !vm.count("no-patroni");
    if (with_patroni) {
      // Two PostgreSQL under Patroni: every commit waits for the synchronous standby.
      PatroniCluster cluster(scratch.path() + "/cluster", FreePort() + 100);
      patroni = RunContest([&cluster](const std::string& db) { return cluster.conninfo(db); },
                           scratch.path() + "/patroni", load);
    }
    fmt::print(
        "{{\"bench\":\"postgres\",\"cores\":{},\"clients\":{},\"commands_per_round\":{},"
        "\"rounds\":{},\"partitions\":{},{}{}}}\n",
        CpuMeter::Cores(), clients, load.per_client * clients, rounds,
        partitions == 0 ? ledger::kDefaultPgPartitions : partitions, FiguresJson(single),
        with_patroni ? ",\"patroni_2_nodes\":{" + FiguresJson(patroni) + "}" : "");
  } catch (const std::exception& e) {
    fmt::print(stderr, "ledger-bench postgres: {}\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace ledger::bench

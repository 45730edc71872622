// ledgerd — the ledger as a network service for backend services (DESIGN 6.3).
//
//   ledgerd [--data DIR] [--listen HOST:PORT] [--http HOST:PORT] --tokens FILE
//           [--tls-cert F --tls-key F] [--create-dev-token] [--clock manual]
//           [--ready-file F] [--max-in-flight N] [--max-connections N] [--idle-timeout S]
//           [--io-threads N] [--max-open-tables N] [--backup-dir DIR]
//   ledgerd --postgres CONNINFO --node NAME [--data DIR] [--partitions 16]
//           [--advertise HOST] [--peer-tls-ca F] [--spread-partitions] ...
//
// Defaults: data ./var/ledger, Cap'n Proto on 127.0.0.1:7700 (TLS with --tls-cert and
// --tls-key), HTTP on 127.0.0.1:7701; port 0 picks a free port, and --ready-file gets the
// bound addresses once serving (line 1: HTTP, line 2: Cap'n Proto). With --create-dev-token and no
// tokens file yet, a development token (all tenants, system rights) is generated, its
// digest written to FILE and the token printed once. SIGTERM/SIGINT: stop accepting,
// answer in-flight commands, close the store (flushed), exit 0. One log line per start,
// stop and error on stderr; tokens are never logged. Descriptors are bounded: two listeners'
// connections plus --max-open-tables table files plus a few (WAL, LOG, MANIFEST); the soft
// RLIMIT_NOFILE is raised to fit when the hard limit allows, and a warning names the shortfall.
// Backups: POST /v1/admin/backup (admin tokens) writes one into --backup-dir; the admin
// socket DIR/ledgerd.sock (admin_socket.h) lets `ledgerctl --data DIR backup DEST` ask for
// one into any directory. SIGTERM lets a running backup finish.
// With --postgres the log is on PostgreSQL (DESIGN section 7, docs/REPLICATED_LOG.md) and
// --data (default ./var/NODE) is this node's copy: at start the node takes the log's lease,
// fencing any earlier writer, and catches its copy up; every group commits to PostgreSQL
// before it is written locally or answered. Once serving, the node records its addresses
// in the log's node directory (--advertise: the host others reach it at); while another
// node writes the log, this one serves checks and reads from its copy and forwards
// commands to the writer over Cap'n Proto. With --spread-partitions, every live node
// writes its share of the partitions (rendezvous hashing over the nodes that said where
// they listen within the last 3 s) and forwards the others' commands to their writers.
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "commands/lease_sweeper.h"
#include "commands/lease_table.h"
#include "commands/service.h"
#include "ledger/pg_upstream.h"
#include "ledger/store.h"
#include "ledgerd_peers.h"
#include "projections/view_reader.h"
#include "projections/views.h"
#include "replay/checkpointer.h"
#include "server/admin_socket.h"
#include "server/backups.h"
#include "server/capnp_server.h"
#include "server/frontend.h"
#include "server/http_server.h"
#include "server/tokens.h"

namespace po = boost::program_options;

namespace {

bool SplitHostPort(const std::string& text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = text.substr(0, colon);
  try {
    const int p = std::stoi(text.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    *port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return true;
}

// True when `inner` is `outer` or a directory below it.
bool Within(const std::string& inner, const std::string& outer) {
  std::error_code ec;
  const auto a = std::filesystem::weakly_canonical(std::filesystem::absolute(inner), ec);
  const auto b = std::filesystem::weakly_canonical(std::filesystem::absolute(outer), ec);
  auto ai = a.begin();
  for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
    if (bi->empty()) continue;  // a trailing separator
    if (ai == a.end() || *ai != *bi) return false;
  }
  return true;
}

constexpr char kUsageText[] =
    "usage: ledgerd [--data DIR] [--listen HOST:PORT] [--http HOST:PORT] --tokens FILE\n"
    "               [--tls-cert F --tls-key F] [--http-tls-cert F --http-tls-key F]\n"
    "               [--create-dev-token] [--clock manual]\n"
    "               [--ready-file F] [--max-in-flight N] [--max-connections N]\n"
    "               [--idle-timeout SECONDS] [--io-threads N] [--max-open-tables N]\n"
    "               [--backup-dir DIR]\n"
    "       ledgerd --postgres CONNINFO --node NAME [--data DIR] [--partitions 16]\n"
    "               [--advertise HOST] [--peer-tls-ca F] ...\n"
    "               (the log on PostgreSQL; --data: this node's copy, var/NAME)\n";

int Usage(const std::string& message) {
  fmt::print(stderr, "ledgerd: {}\n{}", message, kUsageText);
  return 2;
}

// Raises the soft descriptor limit to `needed` (at most the hard limit); warns when even
// the hard limit is lower, since RocksDB or accept() would then fail under load.
void ReserveDescriptors(rlim_t needed) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed) return;
  rlimit raised = limit;
  raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? needed : std::min(needed, limit.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0) raised = limit;
  if (raised.rlim_cur < needed) {
    fmt::print(stderr,
               "ledgerd: warning: open-file limit {} is below the {} this configuration may "
               "use (lower --max-connections or --max-open-tables, or raise ulimit -n)\n",
               raised.rlim_cur, needed);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "var/ledger", listen = "127.0.0.1:7700", http = "127.0.0.1:7701";
  std::string tokens_file, clock, ready_file, tls_cert, tls_key, backup_dir;
  std::string postgres, node, advertise, peer_tls_ca, signing_key;
  replay::CheckpointerOptions checkpointing;
  uint64_t checkpoint_seconds = 60;
  uint32_t partitions = 0;
  server::CapnpOptions capnp_options;
  server::HttpOptions http_options;
  size_t max_connections = 1024;
  int idle_timeout = 30;
  int io_threads = 2;
  int max_open_tables = ledger::StoreOptions().max_open_tables;
  po::options_description options("options");
  options.add_options()("help,h", "usage")("data", po::value(&data), "ledger directory")(
      "listen", po::value(&listen), "Cap'n Proto listener HOST:PORT (port 0: any)")(
      "http", po::value(&http), "HTTP listener HOST:PORT (port 0: any)")(
      "tls-cert", po::value(&tls_cert), "PEM certificate chain: Cap'n Proto over TLS")(
      "tls-key", po::value(&tls_key), "PEM private key of --tls-cert")(
      "http-tls-cert", po::value(&http_options.tls_cert_file),
      "PEM certificate chain: the HTTP listener serves HTTPS only")(
      "http-tls-key", po::value(&http_options.tls_key_file), "PEM private key of --http-tls-cert")(
      "max-in-flight", po::value(&capnp_options.max_in_flight),
      "Cap'n Proto requests running per connection (default 256)")(
      "max-connections", po::value(&max_connections), "per listener (default 1024)")(
      "idle-timeout", po::value(&idle_timeout), "seconds before a silent connection closes (30)")(
      "io-threads", po::value(&io_threads), "I/O threads per listener (default 2)")(
      "max-open-tables", po::value(&max_open_tables),
      "table files kept open, least recently used closed past it (default 512; -1: all)")(
      "backup-dir", po::value(&backup_dir),
      "where POST /v1/admin/backup writes backups (incremental; default: none, refused)")(
      "tokens", po::value(&tokens_file), "tokens file")(
      "create-dev-token", "create a development token if the tokens file does not exist")(
      "clock", po::value(&clock), "manual: commands carry their time (new ledgers only)")(
      "postgres", po::value(&postgres),
      "the log on PostgreSQL (libpq conninfo; multi-host with target_session_attrs="
      "read-write follows a failover); --data then holds this node's copy")(
      "node", po::value(&node), "this node's name, with --postgres (its copy: var/NODE)")(
      "advertise", po::value(&advertise),
      "with --postgres: the host other nodes reach this one at (default: the --listen host; "
      "a wildcard: this machine's name)")(
      "peer-tls-ca", po::value(&peer_tls_ca),
      "with --postgres: PEM trust anchors for the writer's TLS listener (default: the system's)")(
      "spread-partitions",
      "with --postgres: write this node's share of the partitions, spread over the live "
      "nodes, instead of one node writing them all (give it to every node)")(
      "partitions", po::value(&partitions),
      "partitions of a new log on PostgreSQL, 1 to 32 (default 16; fixed when the log is "
      "created: another value for an existing log is an error)")(
      "signing-key", po::value(&signing_key),
      "the ledger's Ed25519 key that signs checkpoints (default DATA/signing.key; made if "
      "missing)")("checkpoint-every-events", po::value(&checkpointing.every_events),
                  "sign a tenant's head once it moved this many events (default 1000)")(
      "checkpoint-every-seconds", po::value(&checkpoint_seconds),
      "and every this many seconds when it moved at all (default 60)")(
      "ready-file", po::value(&ready_file), "write the bound addresses here when serving");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Usage(e.what());
  }
  if (vm.count("help")) {
    std::cout << kUsageText << "\n" << options << "\n";
    return 0;
  }
  if (tokens_file.empty()) return Usage("--tokens FILE is required");
  if (postgres.empty() != node.empty()) return Usage("--postgres and --node go together");
  if (vm.count("partitions") && (partitions == 0 || partitions > ledger::kMaxLogPartitions)) {
    return Usage(
        fmt::format("--partitions: {} is not 1 to {}", partitions, ledger::kMaxLogPartitions));
  }
  if (postgres.empty() && vm.count("partitions")) return Usage("--partitions needs --postgres");
  if (postgres.empty() &&
      (vm.count("advertise") || vm.count("peer-tls-ca") || vm.count("spread-partitions"))) {
    return Usage("--advertise, --peer-tls-ca and --spread-partitions need --postgres");
  }
  const bool spread = vm.count("spread-partitions") > 0;
  if (!postgres.empty() && !vm.count("data")) data = "var/" + node;
  if (checkpointing.every_events < 1) return Usage("--checkpoint-every-events must be at least 1");
  if (checkpoint_seconds < 1) return Usage("--checkpoint-every-seconds must be at least 1");
  checkpointing.every = std::chrono::seconds(checkpoint_seconds);
  if (!clock.empty() && clock != "manual" && clock != "system") {
    return Usage("--clock must be manual or system");
  }
  std::string host, capnp_host;
  uint16_t port = 0, capnp_port = 0;
  if (!SplitHostPort(http, &host, &port)) return Usage("--http: expected HOST:PORT");
  if (!SplitHostPort(listen, &capnp_host, &capnp_port)) {
    return Usage("--listen: expected HOST:PORT");
  }
  if (tls_cert.empty() != tls_key.empty()) return Usage("--tls-cert and --tls-key go together");
  if (capnp_options.max_in_flight < 1) return Usage("--max-in-flight must be at least 1");
  if (max_connections < 1) return Usage("--max-connections must be at least 1");
  if (idle_timeout < 1) return Usage("--idle-timeout must be at least 1 second");
  if (io_threads < 1 || io_threads > 64) return Usage("--io-threads must be 1 to 64");
  if (max_open_tables != -1 && max_open_tables < 32) {
    return Usage("--max-open-tables must be at least 32, or -1 for all");
  }
  if (!backup_dir.empty() && Within(backup_dir, data)) {
    return Usage(
        "--backup-dir must be outside --data (a backup must survive losing the data disk)");
  }
  if (max_open_tables != -1) ReserveDescriptors(2 * max_connections + max_open_tables + 64);

  if (vm.count("create-dev-token") && !std::filesystem::exists(tokens_file)) {
    const server::DevelopmentToken dev = server::NewDevelopmentToken("development");
    std::error_code ec;
    const auto parent = std::filesystem::path(tokens_file).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    std::ofstream(tokens_file) << dev.file_json << "\n";
    // The one time the secret is shown: stdout, not the log.
    std::cout << "development token (shown once; its digest is in " << tokens_file
              << "): " << dev.token << std::endl;
  }
  server::TokenRegistry tokens;
  ledger::Status s = server::TokenRegistry::Load(tokens_file, &tokens);
  if (!s.ok()) return Usage(s.message());

  // Signals are taken by sigwait below, on this thread only.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto views = std::make_shared<projections::ViewProjector>();
  ledger::StoreOptions store_options;
  store_options.projectors = {views};
  commands::AddSideTables(&store_options);
  store_options.max_open_tables = max_open_tables;
  if (clock == "manual") store_options.clock_mode_if_new = ledger::ClockMode::kManual;
  // On PostgreSQL: the log's node directory (where nodes listen, which are live).
  std::unique_ptr<ledgerd::PeerDirectory> peers;
  if (!postgres.empty()) {
    ledger::PgUpstreamOptions upstream;
    upstream.node = node;
    upstream.log.partitions = partitions;
    s = ledger::OpenPgUpstream(postgres, upstream, &store_options.upstream);
    // While another node writes the log, this one follows it and serves checks and reads.
    store_options.upstream_follow = true;
    if (!s.ok()) {
      fmt::print(stderr, "ledgerd: cannot open the log on PostgreSQL: {}\n", s.ToString());
      return 1;
    }
    s = ledgerd::PeerDirectory::Open(postgres, &peers);
    if (s.ok() && spread) s = peers->RefreshLiveNodes();
    if (!s.ok()) {
      fmt::print(stderr, "ledgerd: cannot open the log's node directory: {}\n", s.ToString());
      return 1;
    }
    if (spread) {
      store_options.upstream_placement = [dir = peers.get(), node,
                                          count = store_options.upstream->partitions()] {
        return ledger::PartitionsPlacedOn(node, dir->LiveNodes(), count);
      };
    }
  }
  std::unique_ptr<ledger::Store> store;
  for (std::string said;;) {
    s = ledger::Store::Open(store_options, data, &store);
    // On PostgreSQL the primary may be failing over: wait until the database answers
    // again, or SIGTERM/SIGINT ends the wait.
    if (s.ok() || postgres.empty() || !(s.IsUnavailable() || s.IsIOError())) break;
    if (s.message() != said) fmt::print(stderr, "ledgerd: waiting for the log: {}\n", s.message());
    said = s.message();
    const timespec one_second{1, 0};
    if (sigtimedwait(&signals, nullptr, &one_second) > 0) return 0;
  }
  if (!s.ok()) {
    fmt::print(stderr, "ledgerd: cannot open {}{}: {}\n", data,
               postgres.empty() ? "" : " (this node's copy of the log)", s.ToString());
    return 1;
  }
  auto service = std::make_unique<commands::CommandService>(store.get());
  auto reader = std::make_unique<projections::ViewReader>(views.get(), store.get());
  // Writes lease expiries (R19) for tenants no command reaches (system clock only).
  auto sweeper =
      std::make_unique<commands::LeaseSweeper>(service.get(), store.get(), std::chrono::seconds(1));
  if (!backup_dir.empty()) backup_dir = std::filesystem::absolute(backup_dir).lexically_normal();
  auto backups = std::make_unique<server::BackupRunner>(store.get(), backup_dir);
  std::unique_ptr<server::AdminSocket> admin_socket;
  s = server::AdminSocket::Listen(data, backups.get(), &admin_socket);
  if (!s.ok()) {
    fmt::print(stderr,
               "ledgerd: warning: {} (ledgerctl --data {} backup will not reach this server)\n",
               s.ToString(), data);
  }
  // On PostgreSQL: the forwarder of commands to the writer.
  std::unique_ptr<server::CommandForwarder> forwarder;
  if (!postgres.empty()) {
    server::ForwarderOptions forward_options;
    forward_options.tls_ca_file = peer_tls_ca;
    forwarder = std::make_unique<server::CommandForwarder>(
        store.get(),
        [dir = peers.get()](const std::string& name, server::PeerAddress* out) {
          return dir->Find(name, out);
        },
        forward_options);
  }
  // The key that signs checkpoints, and the thread that signs them (issue 21).
  std::unique_ptr<replay::Checkpoints> checkpoints;
  s = replay::Checkpoints::Open(signing_key.empty() ? data + "/signing.key" : signing_key,
                                /*create=*/true, &checkpoints);
  if (!s.ok()) {
    fmt::print(stderr, "ledgerd: the signing key: {}\n", s.ToString());
    return 1;
  }
  auto checkpointer =
      std::make_unique<replay::Checkpointer>(store.get(), checkpoints.get(), checkpointing);
  server::ServerMetrics metrics;
  server::Frontend frontend({store.get(), service.get(), reader.get(), backups.get(),
                             forwarder.get(), views.get(), checkpoints.get()},
                            &tokens, &metrics);
  server::ConnectionLimits limits;
  limits.max_connections = max_connections;
  limits.idle_timeout_seconds = idle_timeout;
  limits.threads = io_threads;
  http_options.connections = capnp_options.connections = limits;
  server::HttpServer http_server(&frontend, http_options);
  capnp_options.tls_cert_file = tls_cert;
  capnp_options.tls_key_file = tls_key;
  server::CapnpServer capnp_server(&frontend, capnp_options);
  uint16_t bound = 0, capnp_bound = 0;
  s = capnp_server.Listen(capnp_host, capnp_port, &capnp_bound);
  if (s.ok()) s = http_server.Listen(host, port, &bound);
  if (!s.ok()) {
    fmt::print(stderr, "ledgerd: {}\n", s.ToString());
    return 1;
  }
  std::thread http_io([&] { http_server.Run(); });
  int stop_signal = 0;  // a SIGTERM or SIGINT taken before the wait below
  std::thread capnp_io([&] { capnp_server.Run(); });
  fmt::print(stderr, "ledgerd: serving {} on capnp{}://{}:{} and http{}://{}:{} ({} tokens)\n",
             data, tls_cert.empty() ? "" : "+tls", capnp_host, capnp_bound,
             http_options.tls_cert_file.empty() ? "" : "s", host, bound, tokens.size());
  if (!postgres.empty()) {
    const std::string advertised =
        advertise.empty() ? ledgerd::AdvertisedHost(capnp_host) : advertise;
    ledger::PgNode self;
    self.name = node;
    self.capnp = fmt::format("{}:{}", advertised, capnp_bound);
    self.http =
        fmt::format("{}:{}", advertise.empty() ? ledgerd::AdvertisedHost(host) : advertise, bound);
    self.tls = !tls_cert.empty();
    // Until it is recorded, no other node can forward commands here: retry (a failover).
    for (std::string said; !(s = peers->Advertise(self)).ok();) {
      if (s.message() != said) {
        fmt::print(stderr, "ledgerd: cannot record this node's addresses in the log yet: {}\n",
                   s.ToString());
      }
      said = s.message();
      const timespec one_second{1, 0};
      if ((stop_signal = sigtimedwait(&signals, nullptr, &one_second)) > 0) break;
    }
    // Others count this node live (and, spread, give it its partitions) while it beats.
    peers->StartHeartbeat(self);
    const ledger::Status writing = store->WriteHealth();
    if (spread) {
      fmt::print(stderr,
                 "ledgerd: partitions spread over the live nodes; this node writes {} of {} "
                 "now and forwards the others' commands\n",
                 store->Stats().upstream_leases, store->Stats().upstream_partitions);
    } else {
      fmt::print(stderr, "ledgerd: {}\n",
                 writing.ok() ? "this node writes the log"
                              : writing.message() +
                                    " (commands are forwarded to it; this node takes over "
                                    "when it stops)");
    }
  }
  if (!ready_file.empty()) {
    const std::string tmp = ready_file + ".tmp";
    std::ofstream(tmp) << host << ":" << bound << "\n" << capnp_host << ":" << capnp_bound << "\n";
    std::filesystem::rename(tmp, ready_file);
  }
  int sig = stop_signal;
  if (sig <= 0) sigwait(&signals, &sig);
  fmt::print(stderr, "ledgerd: {} received, draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  if (peers != nullptr) peers->StopHeartbeat();
  capnp_server.StopAccepting();
  http_server.StopAccepting();
  admin_socket.reset();
  backups->Close();     // a running backup finishes and is answered
  capnp_server.Stop();  // waits for in-flight commands of both front ends
  http_server.Stop();
  capnp_io.join();
  http_io.join();
  forwarder.reset();
  checkpointer.reset();
  sweeper.reset();
  reader.reset();
  service.reset();
  store.reset();  // waits for in-flight groups, flushes
  fmt::print(stderr, "ledgerd: stopped\n");
  return 0;
}

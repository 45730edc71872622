// ledgerctl — submit commands and ask questions of a ledger (DESIGN 6.2).
//
//   ledgerctl --data DIR [--clock manual] submit FILE|-
//   ledgerctl --data DIR check --tenant T --user U --product P [--at TIME]
//   ledgerctl --data DIR import-members --tenant T --actor A FILE.csv
//             [--subscription S] [--group G] [--commit] [--at TIME] [--id ID]
//   ledgerctl --data DIR backup DEST     a backup of DIR into backup directory DEST
//             (incremental); while a ledgerd runs on DIR, that ledgerd takes it (asked on
//             its admin socket DIR/ledgerd.sock)
//   ledgerctl backup --list DEST          the backups in DEST
//   ledgerctl restore BACKUP --data NEWDIR [--backup-id N]   (default: the latest)
//   ledgerctl --postgres CONNINFO [--data COPY] VERB ...
//             the same verbs on the log on PostgreSQL (DESIGN section 7): `check` reads a
//             copy of the log; the writing verbs write it as a short-lived node, only while
//             no ledgerd holds the log (otherwise: send them to that node with --server)
//   ledgerctl --server HOST:PORT [--token T] [--tls [--tls-ca F]] VERB ...
//             the same verbs over the network (ledgerd's Cap'n Proto protocol); the token
//             may also come from the LEDGER_TOKEN environment variable; `backup` (no
//             DEST) writes into ledgerd's --backup-dir
//
// Exit codes: 0 done (even when commands were rejected: the results say so), 1 the
// ledger failed, 2 bad usage or unreadable input.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands/access.h"
#include "commands/csv_import.h"
#include "commands/lease_table.h"
#include "commands/service.h"
#include "ledger/backup.h"
#include "ledger/pg_upstream.h"
#include "ledger/store.h"
#include "ledgerctl_remote.h"
#include "projections/view_reader.h"
#include "projections/views.h"
#include "replay/pg_copy.h"
#include "server/admin_socket.h"
#include "server/backups.h"
#include "server/client.h"

namespace po = boost::program_options;

namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

constexpr char kUsageText[] =
    "usage: ledgerctl --data DIR [--clock manual] submit FILE|-\n"
    "       ledgerctl --data DIR check --tenant T --user U --product P [--at TIME]\n"
    "       ledgerctl --data DIR import-members --tenant T --actor A FILE.csv "
    "[--subscription S] [--group G] [--commit] [--at TIME]\n"
    "       ledgerctl --data DIR checkout --tenant T --subscription S --user U "
    "--device D [--actor A] [--at TIME]\n"
    "       ledgerctl --data DIR heartbeat|checkin --tenant T --actor A --lease L "
    "[--at TIME]\n"
    "       (checkout, heartbeat, checkin exit 1 when rejected)\n"
    "       ledgerctl --data DIR backup DEST\n"
    "       ledgerctl backup --list DEST\n"
    "       ledgerctl restore BACKUP --data NEWDIR [--backup-id N]\n"
    "       ledgerctl --postgres CONNINFO [--data COPY] VERB ...   (the log on PostgreSQL)\n"
    "       ledgerctl --server HOST:PORT [--token T] [--tls [--tls-ca FILE]] VERB ...\n";

// What `ledgerctl VERB --help` prints: the verb's synopsis, options and outcome.
struct VerbHelp {
  const char* verb;
  const char* text;
};
constexpr VerbHelp kVerbHelp[] = {
    {"submit",
     "usage: ledgerctl [--data DIR|--server HOST:PORT|--postgres CONNINFO] submit FILE|-\n"
     "Submits the commands of FILE (JSON lines, or one JSON array; - = stdin), in order, and\n"
     "prints one result line each: accepted (version, position, events), duplicate (the id\n"
     "was seen: its original result) or rejected (code, message). Exit 0 when all were\n"
     "read, whatever their status; 2 on bad usage."},
    {"check",
     "usage: ledgerctl [--data DIR|--server HOST:PORT] check --tenant T --user U --product P "
     "[--at TIME]\n"
     "Whether the user may use the product now (or at --at, replayed): allowed, reason\n"
     "(no_seat, not_a_member, ...) and the subscription that grants it."},
    {"import-members",
     "usage: ledgerctl --data DIR import-members --tenant T --actor A FILE.csv [--subscription S]\n"
     "         [--group G] [--commit] [--at TIME]\n"
     "Reads email,user,name,role rows; without --commit prints the report (valid rows, and\n"
     "each bad row with its line and field) and records nothing; with --commit appends the\n"
     "valid rows as one command (and assigns --subscription / adds to --group)."},
    {"checkout",
     "usage: ledgerctl ... checkout --tenant T --subscription S --user U --device D [--actor A] "
     "[--at TIME]\n"
     "Takes a floating seat of a concurrent subscription: the lease id and when it expires\n"
     "(renew with heartbeat). Exit 1 when rejected (no_free_seat, ...)."},
    {"heartbeat",
     "usage: ledgerctl ... heartbeat --tenant T --actor A --lease L [--at TIME]\n"
     "Renews a lease: its new expiry. Exit 1 when rejected (not_found once expired)."},
    {"checkin",
     "usage: ledgerctl ... checkin --tenant T --actor A --lease L [--at TIME]\n"
     "Gives a floating seat back. Exit 1 when rejected."},
    {"backup",
     "usage: ledgerctl --data DIR backup DEST | ledgerctl backup --list DEST |\n"
     "       ledgerctl --server HOST:PORT backup\n"
     "Takes an incremental, verified backup of a live ledger into DEST (over --server: into\n"
     "ledgerd's --backup-dir; admin token with every tenant); --list shows the backups kept."},
    {"restore",
     "usage: ledgerctl restore BACKUP --data NEWDIR [--backup-id N]\n"
     "Restores the latest (or the given) backup into a new, empty directory and verifies it."},
};

int Usage(const std::string& message) {
  fmt::print(stderr, "ledgerctl: {}\n{}", message, kUsageText);
  return kUsage;
}

// Makes `options` open a copy of the log at `conninfo`: read-only for `check`
// (options->read_only on entry), else as a short-lived writing node of its own name, which
// can take the log only while no ledgerd holds it.
ledger::Status OnPostgres(const std::string& conninfo, ledger::StoreOptions* options) {
  char host[256] = "host";
  ::gethostname(host, sizeof(host) - 1);
  ledger::PgUpstreamOptions upstream;
  upstream.node = fmt::format("ledgerctl@{}:{}", host, ::getpid());
  ledger::Status s = ledger::OpenPgUpstream(conninfo, upstream, &options->upstream);
  if (!s.ok()) return s;
  options->upstream_read_only = options->read_only;
  options->read_only = false;  // the copy is written locally either way
  return ledger::Status::OK();
}

bool ReadInput(const std::string& name, std::string* out) {
  if (name == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    *out = ss.str();
    return !std::cin.bad();
  }
  std::ifstream in(name, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return !in.bad();
}

// The non-blank lines of `input` (CRLF tolerated).
std::vector<std::string> CommandLines(const std::string& input) {
  std::vector<std::string> lines;
  std::istringstream in(input);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

// Submits every line in order (one store queue keeps the order) and prints each result
// as soon as it and all before it are known.
int Submit(ledger::Store* store, const std::vector<std::string>& lines) {
  commands::CommandService service(store);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<std::string>> results(lines.size());
  constexpr size_t kWindow = 2048;
  size_t printed = 0;
  for (size_t i = 0; i < lines.size() || printed < lines.size();) {
    if (i < lines.size() && i - printed < kWindow) {
      service.SubmitJson(lines[i], [&, i](commands::CommandResult r) {
        std::lock_guard<std::mutex> lock(mu);
        results[i] = r.ToJson();
        cv.notify_one();
      });
      ++i;
      continue;
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return results[printed].has_value(); });
    while (printed < lines.size() && results[printed]) {
      std::cout << *results[printed] << '\n';
      results[printed].reset();
      ++printed;
    }
  }
  std::cout.flush();
  return kOk;
}

int Check(const projections::ViewReader& reader, const std::string& tenant, const std::string& user,
          const std::string& product, const std::string& at_text) {
  std::optional<ledger::Micros> at;
  if (!at_text.empty()) {
    at = ledger::ParseRfc3339(at_text);
    if (!at) return Usage("--at: not an RFC 3339 time: " + at_text);
  }
  commands::AccessDecision decision;
  ledger::Status s = reader.Check(tenant, user, product, at, &decision);
  if (!s.ok()) {
    fmt::print(stderr, "ledgerctl: {}\n", s.ToString());
    return kFailed;
  }
  std::cout << decision.ToJson() << '\n';
  return kOk;
}

// The import_members command for a CSV file (rows keep their line numbers and the CSV
// reader's findings); false and a message if the file cannot be used.
bool ImportCommandJson(const po::variables_map& vm, const std::string& file, std::string* out,
                       std::string* error) {
  std::string text;
  if (!ReadInput(file, &text)) {
    *error = "cannot read " + file;
    return false;
  }
  std::vector<commands::ImportRow> rows;
  std::string csv_error;
  if (!commands::ParseMembersCsv(text, &rows, &csv_error)) {
    *error = file + ": " + csv_error;
    return false;
  }
  if (rows.empty()) {
    *error = file + ": no rows after the header";
    return false;
  }
  nlohmann::json j;
  j["type"] = "import_members";
  j["tenant"] = vm["tenant"].as<std::string>();
  j["actor"] = vm["actor"].as<std::string>();
  j["commit"] = vm.count("commit") > 0;
  for (const char* opt : {"subscription", "group", "at", "id"}) {
    if (vm.count(opt)) j[opt] = vm[opt].as<std::string>();
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json row = {
        {"email", r.email}, {"user", r.user}, {"name", r.name}, {"role", r.role}, {"line", r.line}};
    if (!r.problem.empty()) row["problem"] = r.problem;
    list.push_back(std::move(row));
  }
  j["rows"] = std::move(list);
  *out = j.dump();
  return true;
}

// The checkout, heartbeat or checkin command (R19) from the verb's options. The actor
// defaults to the user for checkout.
std::string LeaseCommandJson(const std::string& verb, const po::variables_map& vm) {
  nlohmann::json j;
  j["type"] = verb;
  j["tenant"] = vm["tenant"].as<std::string>();
  if (vm.count("actor")) {
    j["actor"] = vm["actor"].as<std::string>();
  } else if (vm.count("user")) {
    j["actor"] = vm["user"].as<std::string>();
  }
  const std::vector<const char*> own =
      verb == "checkout" ? std::vector<const char*>{"subscription", "user", "device"}
                         : std::vector<const char*>{"lease"};
  for (const char* opt : own) j[opt] = vm[opt].as<std::string>();
  for (const char* opt : {"at", "id"}) {
    if (vm.count(opt)) j[opt] = vm[opt].as<std::string>();
  }
  return j.dump();
}

// Prints the backups of `backup_dir`, one JSON object per line, oldest first.
int ListBackupsVerb(const std::string& backup_dir) {
  std::vector<ledger::BackupInfo> backups;
  const ledger::Status s = ledger::ListBackups(backup_dir, &backups);
  if (s.IsNotFound()) return Usage(s.message());
  if (!s.ok()) {
    fmt::print(stderr, "ledgerctl: {}\n", s.ToString());
    return kFailed;
  }
  const std::string dir = std::filesystem::absolute(backup_dir).lexically_normal();
  for (const auto& b : backups) std::cout << server::BackupJson(b, dir) << '\n';
  return kOk;
}

// A backup of the ledger in `data` into `dest`: by the ledgerd that runs on `data` if
// there is one (its admin socket), else by opening the ledger here.
int BackupVerb(const std::string& data, const std::string& dest_arg) {
  std::error_code ec;
  const std::string dest = std::filesystem::absolute(dest_arg, ec).lexically_normal();
  if (ec) return Usage("backup: bad DEST '" + dest_arg + "'");
  std::string answer;
  const std::string request = nlohmann::json{{"backup", dest}}.dump();
  ledger::Status s = server::AdminRequest(data, request, &answer);
  if (s.ok()) {
    const nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
    if (j.is_object() && j.value("status", "") == "rejected") {
      fmt::print(stderr, "ledgerctl: ledgerd refused the backup: {}\n", j.value("message", answer));
      return j.value("code", "") == "bad_request" ? kUsage : kFailed;
    }
    std::cout << answer << '\n';
    return kOk;
  }
  if (!s.IsNotFound()) {
    fmt::print(stderr, "ledgerctl: {}\n", s.ToString());
    return kFailed;
  }
  // No ledgerd: open the ledger here, without creating one.
  if (!std::filesystem::exists(std::filesystem::path(data) / "CURRENT", ec)) {
    return Usage("backup: no ledger in " + data);
  }
  ledger::StoreOptions options;
  options.projectors.push_back(std::make_shared<projections::ViewProjector>());
  std::unique_ptr<ledger::Store> store;
  s = ledger::Store::Open(options, data, &store);
  if (!s.ok()) {
    fmt::print(stderr,
               "ledgerctl: cannot open the ledger in {}: {} (another process holds it and does "
               "not answer on {})\n",
               data, s.ToString(), server::AdminSocketPath(data));
    return kFailed;
  }
  ledger::BackupInfo info;
  s = store->Backup(dest, &info);
  if (s.IsInvalidArgument()) return Usage(s.message());
  if (!s.ok()) {
    fmt::print(stderr, "ledgerctl: backup failed: {}\n", s.ToString());
    return kFailed;
  }
  std::cout << server::BackupJson(info, dest) << '\n';
  return kOk;
}

// Restores a backup of `backup_dir` (`id`, or the latest) into the new ledger `data`.
int RestoreVerb(const std::string& backup_dir, std::optional<uint32_t> id,
                const std::string& data) {
  ledger::BackupInfo restored;
  const ledger::Status s = ledger::RestoreBackup(backup_dir, id, data, &restored);
  if (s.IsInvalidArgument() || s.IsNotFound()) return Usage(s.message());
  if (!s.ok()) {
    fmt::print(stderr, "ledgerctl: restore failed: {}\n", s.ToString());
    return kFailed;
  }
  const std::string dir = std::filesystem::absolute(backup_dir).lexically_normal();
  nlohmann::json j = nlohmann::json::parse(server::BackupJson(restored, dir));
  j.erase("seconds");
  j["data"] = data;
  std::cout << j.dump() << '\n';
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  // Global options come before the verb; the verb's own options and arguments after it.
  std::vector<std::string> global_args, verb_args;
  std::string verb;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (!verb.empty()) {
      verb_args.push_back(a);
    } else if (a == "--data" || a == "--clock" || a == "--server" || a == "--token" ||
               a == "--tls-ca" || a == "--postgres") {
      global_args.push_back(a);
      if (i + 1 < argc) global_args.push_back(argv[++i]);
    } else if (a.rfind("--", 0) == 0 || a == "-h") {
      global_args.push_back(a);
    } else {
      verb = a;
    }
  }

  std::string data = "var/ledger", clock = "system";
  po::options_description global("global options");
  global.add_options()("help,h", "show usage")("data", po::value(&data),
                                               "ledger directory (default var/ledger)")(
      "clock", po::value(&clock), "clock of a new ledger: system (default) or manual")(
      "server", po::value<std::string>(), "HOST:PORT of a ledgerd (its Cap'n Proto listener)")(
      "token", po::value<std::string>(), "bearer token for --server (or LEDGER_TOKEN)")(
      "tls", "--server speaks TLS (the certificate is verified)")(
      "tls-ca", po::value<std::string>(), "PEM trust anchors for --tls (default: the system's)")(
      "postgres", po::value<std::string>(),
      "the log on PostgreSQL (libpq conninfo); --data: where to keep the local copy "
      "(default: a temporary directory)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(global_args).options(global).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Usage(e.what());
  }
  const bool verb_help =
      std::find(verb_args.begin(), verb_args.end(), "--help") != verb_args.end() ||
      std::find(verb_args.begin(), verb_args.end(), "-h") != verb_args.end();
  if ((vm.count("help") || verb_help) && !verb.empty()) {
    for (const VerbHelp& h : kVerbHelp) {
      if (verb == h.verb) {
        std::cout << h.text << "\n";
        return 0;
      }
    }
    return Usage("unknown verb '" + verb + "'");
  }
  if (vm.count("help")) {
    std::cout << kUsageText << "\n"
              << global << "\n"
              << "ledgerctl VERB --help says what a verb does.\n";
    return 0;
  }
  if (verb.empty()) return Usage("no verb given");
  const auto mode = ledger::ParseClockMode(clock);
  if (!mode) return Usage("--clock must be system or manual");

  po::options_description verb_opts;
  verb_opts.add_options()("tenant", po::value<std::string>())("user", po::value<std::string>())(
      "product", po::value<std::string>())("at", po::value<std::string>())(
      "actor", po::value<std::string>())("subscription", po::value<std::string>())(
      "group", po::value<std::string>())("id", po::value<std::string>())("commit", "")(
      "device", po::value<std::string>())("lease", po::value<std::string>())("list", "")(
      "backup-id", po::value<uint32_t>())("data", po::value<std::string>())(
      "file", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("file", -1);
  po::variables_map vv;
  try {
    po::store(po::command_line_parser(verb_args).options(verb_opts).positional(positional).run(),
              vv);
  } catch (const po::error& e) {
    return Usage(e.what());
  }
  const std::vector<std::string> args =
      vv.count("file") ? vv["file"].as<std::vector<std::string>>() : std::vector<std::string>();
  auto need = [&](std::initializer_list<const char*> names) -> std::string {
    for (const char* n : names) {
      if (!vv.count(n)) return std::string("--") + n + " is required for " + verb;
    }
    return "";
  };

  std::string missing;
  if (verb == "submit") {
    if (args.size() != 1) missing = "submit takes one FILE (or - for standard input)";
  } else if (verb == "check") {
    missing = need({"tenant", "user", "product"});
    if (missing.empty() && !args.empty()) missing = "check takes no FILE";
  } else if (verb == "import-members") {
    missing = need({"tenant", "actor"});
    if (missing.empty() && args.size() != 1) missing = "import-members takes one FILE.csv";
  } else if (verb == "checkout") {
    missing = need({"tenant", "subscription", "user", "device"});
  } else if (verb == "heartbeat" || verb == "checkin") {
    missing = need({"tenant", "actor", "lease"});
  } else if (verb == "backup") {
    if (vm.count("server")) {
      if (!args.empty() || vv.count("list")) {
        missing = "backup over --server takes no DEST: ledgerd writes into its --backup-dir";
      }
    } else if (args.size() != 1) {
      missing = "backup takes one DEST (a backup directory)";
    }
  } else if (verb == "restore") {
    if (args.size() != 1) missing = "restore takes one BACKUP (a backup directory)";
    if (missing.empty() && !vv.count("data") && !vm.count("data")) {
      missing = "restore needs --data NEWDIR (a new, empty directory)";
    }
    if (missing.empty() && vm.count("server")) {
      missing = "restore works on directories, not --server";
    }
  } else {
    return Usage("unknown verb '" + verb + "'");
  }
  if (vm.count("postgres") && (verb == "backup" || verb == "restore")) {
    missing = verb +
              " works on data directories: back the log on PostgreSQL up with "
              "PostgreSQL's own tools (pg_basebackup, or the cluster's backups under Patroni)";
  }
  if (vm.count("postgres") && vm.count("server"))
    missing = "--postgres and --server exclude each other";
  if (!missing.empty()) return Usage(missing);
  if (vv.count("data")) {
    if (verb != "restore") return Usage("--data goes before the verb");
    data = vv["data"].as<std::string>();
  }
  if (verb == "restore") {
    std::optional<uint32_t> id;
    if (vv.count("backup-id")) id = vv["backup-id"].as<uint32_t>();
    return RestoreVerb(args[0], id, data);
  }
  if (verb == "backup" && !vm.count("server")) {
    return vv.count("list") ? ListBackupsVerb(args[0]) : BackupVerb(data, args[0]);
  }

  std::vector<std::string> lines;
  std::string import_json;
  if (verb == "submit") {
    std::string input;
    if (!ReadInput(args[0], &input)) return Usage("cannot read " + args[0]);
    lines = CommandLines(input);
  } else if (verb == "import-members") {
    std::string error;
    if (!ImportCommandJson(vv, args[0], &import_json, &error)) return Usage(error);
  }
  const bool lease_verb = verb == "checkout" || verb == "heartbeat" || verb == "checkin";
  if (lease_verb) {
    if (!args.empty()) return Usage(verb + " takes no FILE");
    import_json = LeaseCommandJson(verb, vv);
  }
  const std::string at = vv.count("at") ? vv["at"].as<std::string>() : "";

  if (vm.count("server")) {
    server::ClientOptions remote;
    const std::string address = vm["server"].as<std::string>();
    const size_t colon = address.rfind(':');
    int port = -1;
    if (colon != std::string::npos && colon > 0) {
      try {
        port = std::stoi(address.substr(colon + 1));
      } catch (...) {
      }
    }
    if (port <= 0 || port > 65535) return Usage("--server: expected HOST:PORT");
    remote.host = address.substr(0, colon);
    remote.port = static_cast<uint16_t>(port);
    if (vm.count("token")) {
      remote.token = vm["token"].as<std::string>();
    } else if (const char* env = std::getenv("LEDGER_TOKEN")) {
      remote.token = env;
    }
    remote.tls = vm.count("tls") > 0 || vm.count("tls-ca") > 0;
    if (vm.count("tls-ca")) remote.tls_ca_file = vm["tls-ca"].as<std::string>();
    if (verb == "submit") return ledgerctl::RemoteSubmit(remote, lines);
    if (verb == "check") {
      if (!at.empty() && !ledger::ParseRfc3339(at)) {
        return Usage("--at: not an RFC 3339 time: " + at);
      }
      return ledgerctl::RemoteCheck(remote, vv["tenant"].as<std::string>(),
                                    vv["user"].as<std::string>(), vv["product"].as<std::string>(),
                                    at);
    }
    if (verb == "backup") return ledgerctl::RemoteBackup(remote);
    return ledgerctl::RemoteCommand(remote, import_json, /*fail_if_rejected=*/lease_verb);
  }

  ledger::StoreOptions options;
  options.clock_mode_if_new = *mode;
  options.read_only = verb == "check";
  auto views = std::make_shared<projections::ViewProjector>();
  options.projectors.push_back(views);
  commands::AddSideTables(&options);
  replay::TempCopyDir temp;
  if (vm.count("postgres")) {
    if (!vm.count("data")) data = temp.Make("ledgerctl");
    if (data.empty()) {
      fmt::print(stderr, "ledgerctl: cannot create a temporary directory for the copy\n");
      return kFailed;
    }
    ledger::Status u = OnPostgres(vm["postgres"].as<std::string>(), &options);
    if (!u.ok()) {
      fmt::print(stderr, "ledgerctl: cannot open the log on PostgreSQL: {}\n", u.ToString());
      return kFailed;
    }
  }
  std::unique_ptr<ledger::Store> store;
  ledger::Status s = ledger::Store::Open(options, data, &store);
  if (!s.ok() && vm.count("postgres") && s.IsUnavailable()) {
    fmt::print(stderr,
               "ledgerctl: a ledgerd writes the log ({}): send commands to it with "
               "--server HOST:PORT\n",
               s.message());
    return kFailed;
  }
  if (!s.ok()) {
    fmt::print(stderr, "ledgerctl: cannot open the ledger in {}: {}\n", data, s.ToString());
    return kFailed;
  }
  if (verb == "submit") return Submit(store.get(), lines);
  if (verb == "check") {
    const projections::ViewReader reader(views.get(), store.get());
    return Check(reader, vv["tenant"].as<std::string>(), vv["user"].as<std::string>(),
                 vv["product"].as<std::string>(), at);
  }
  commands::CommandService service(store.get());
  const commands::CommandResult result = service.ExecuteJson(import_json);
  std::cout << result.ToJson() << '\n';
  return lease_verb && result.status == "rejected" ? kFailed : kOk;
}

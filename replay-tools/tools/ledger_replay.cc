// ledger-replay — read-only audit tools on a ledger's data directory (DESIGN 6.2). Safe
// while ledgerd or ledgerctl writes: it opens a RocksDB secondary instance.
//
//   ledger-replay --data DIR state   --tenant T [--at TIME|--position N] [--known-at TIME]
//   ledger-replay --data DIR diff    --tenant T --from TIME|N --to TIME|N
//   ledger-replay --data DIR history --tenant T (--user U|--subscription S|--group G)
//                                    [--from TIME --to TIME]
//   ledger-replay --data DIR explain --tenant T --user U --product P [--at TIME]
//   ledger-replay --data DIR verify  [--tenant T] [--digest FILE]
//   ledger-replay --data DIR digest  [--tenant T]
//   ledger-replay --data DIR export  [--tenant T] --format jsonl|csv [--from --to]
//   ledger-replay --data DIR usage   --tenant T --subscription S --from TIME --to TIME
//   ledger-replay --data DIR rebuild                  (writes: drops and rebuilds the views)
//
// Aligned tables by default, --json for one JSON document. Exit codes: 0 done, 1 the
// ledger could not be read, 2 bad usage or bad input, 3 verify found a problem.
#include <fmt/format.h>
#include <kj/exception.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ledger/log_partitions.h"
#include "ledger/store.h"
#include "projections/views.h"
#include "replay/as_of.h"
#include "replay/audit_ledger.h"
#include "replay/checkpoints.h"
#include "replay/diff.h"
#include "replay/digest.h"
#include "replay/event_json.h"
#include "replay/explain.h"
#include "replay/export.h"
#include "replay/history.h"
#include "replay/pg_copy.h"
#include "replay/rejections.h"
#include "replay/state_json.h"
#include "replay/table.h"
#include "replay/usage.h"
#include "replay/verify.h"
#include "replay/verify_export.h"
#include "replay/what_if.h"

namespace po = boost::program_options;

namespace {

constexpr char kUsage[] =
    "usage: ledger-replay --data DIR VERB [options] [--json]\n"
    "       ledger-replay --postgres CONNINFO [--data COPY_DIR] VERB [options] [--json]\n"
    "  state   --tenant T [--at TIME|--position N] [--known-at TIME]\n"
    "  diff    --tenant T --from TIME|N --to TIME|N\n"
    "  history --tenant T (--user U|--subscription S|--group G) [--from TIME --to TIME]\n"
    "  explain --tenant T --user U --product P [--at TIME]\n"
    "  verify  [--tenant T] [--digest FILE] [--since CHECKPOINT_FILE [--key PUBKEY_FILE]]\n"
    "  verify  --export FILE --key PUBKEY_FILE [--since CHECKPOINT_FILE]   (no --data)\n"
    "  digest  [--tenant T]\n"
    "  pubkey  [--signing-key FILE]\n"
    "  checkpoint --tenant T [--latest|--version V] [--signing-key FILE]\n"
    "  export  [--tenant T] --format jsonl|csv [--from TIME|N --to TIME|N]\n"
    "  usage   --tenant T --subscription S --from TIME --to TIME\n"
    "  rejections --tenant T [--from TIME --to TIME]\n"
    "  what-if --tenant T FILE [--at TIME]   (commands decided on a copy; nothing recorded)\n"
    "  rebuild\n";

// What `ledger-replay VERB --help` prints: the verb's synopsis, what it answers, and the
// HTTP route that answers the same JSON.
struct VerbHelp {
  const char* verb;
  const char* text;
};
constexpr VerbHelp kVerbHelp[] = {
    {"state",
     "usage: ledger-replay --data DIR state --tenant T [--at TIME|--position N] [--known-at TIME] "
     "[--json]\n"
     "The tenant's members, groups and subscriptions (seats, assignments, violations, pending\n"
     "changes, leases) now, at a business time (--at), right after a position (--position),\n"
     "or as the ledger knew it at --known-at (later backdated corrections not seen).\n"
     "HTTP: GET /v1/tenants/T/state?at=&position=&known_at="},
    {"diff",
     "usage: ledger-replay --data DIR diff --tenant T --from TIME|N --to TIME|N [--json]\n"
     "What changed between two times or positions: members, groups, subscriptions, and who\n"
     "gained or lost access to which product, and why.\n"
     "HTTP: GET /v1/tenants/T/diff?from=&to="},
    {"history",
     "usage: ledger-replay --data DIR history --tenant T (--user U|--subscription S|--group G)\n"
     "         [--from TIME --to TIME] [--json]\n"
     "Everything that touched one user, subscription or group, in order: each event with its\n"
     "actor, recorded and effective time, reason and what it caused, and the rejected\n"
     "attempts (who tried what, when, and why it was refused).\n"
     "HTTP: GET /v1/tenants/T/history?user=|subscription=|group=&from=&to=&limit=&after="},
    {"explain",
     "usage: ledger-replay --data DIR explain --tenant T --user U --product P [--at TIME] "
     "[--json]\n"
     "Whether the user may use the product (now or at --at) and the causal chain of events\n"
     "that decides it.\n"
     "HTTP: GET /v1/tenants/T/explain?user=&product=&at="},
    {"verify",
     "usage: ledger-replay --data DIR verify [--tenant T] [--digest FILE]\n"
     "         [--since CHECKPOINT_FILE [--key PUBKEY_FILE]] [--json]\n"
     "Re-hashes every event and checks the chains, the stream index, the heads and the views\n"
     "(rebuilt and compared); with --digest, that the history still extends each kept head;\n"
     "with --since, that the tenant's history extends a signed checkpoint (its signature\n"
     "checked with --key, default the ledger's own key). Exit 3 when it finds a problem.\n"
     "With --export FILE (no --data): checks a tenant's jsonl export as tools/verify_export.py\n"
     "does — bytes, hashes, chain, manifest, the signed checkpoint it carries, --since.\n"
     "HTTP: GET /v1/tenants/T/verify"},
    {"pubkey",
     "usage: ledger-replay --data DIR pubkey [--signing-key FILE]\n"
     "The ledger's Ed25519 public key (PEM), made with the ledger's key at DIR/signing.key\n"
     "(or FILE) if there is none yet. Pin it outside the ledger: it checks every signed\n"
     "checkpoint (docs/VERIFYING.md)."},
    {"checkpoint",
     "usage: ledger-replay --data DIR checkpoint --tenant T [--latest|--version V] "
     "[--signing-key FILE]\n"
     "Signs the tenant's current head now and keeps the note (DIR/checkpoints), or prints the\n"
     "latest kept note (--latest) or the one at version V. The note is a signed note of\n"
     "transparency logs: origin, version, head hash, signature (docs/VERIFYING.md)."},
    {"digest",
     "usage: ledger-replay --data DIR digest [--tenant T] [--json]\n"
     "Each tenant's head (version, hash): keep it outside the ledger, and a later verify\n"
     "--digest proves nothing before it was altered.\n"
     "HTTP: GET /v1/tenants/T/digest"},
    {"export",
     "usage: ledger-replay --data DIR export [--tenant T] --format jsonl|csv [--from TIME|N "
     "--to TIME|N]\n"
     "Every event in the range, one JSON line or one RFC 4180 CSV row each, in constant memory.\n"
     "JSON lines carry each event's stored bytes (base64); a tenant's starts with a manifest\n"
     "line (count, versions, head hash, latest signed checkpoint) for tools/verify_export.py.\n"
     "HTTP: GET /v1/tenants/T/export?format=&from=&to= (streamed)"},
    {"usage",
     "usage: ledger-replay --data DIR usage --tenant T --subscription S --from TIME --to TIME "
     "[--json]\n"
     "Seats in use per day (peak, time-weighted average, seats bought, at capacity); for a\n"
     "concurrent subscription, its floating leases.\n"
     "HTTP: GET /v1/tenants/T/usage?subscription=&from=&to="},
    {"rejections",
     "usage: ledger-replay --data DIR rejections --tenant T [--from TIME --to TIME] [--json]\n"
     "Every refused command of the tenant: when, who, which command, the code and message.\n"
     "HTTP: GET /v1/tenants/T/rejections?from=&to=&limit=&after="},
    {"what-if",
     "usage: ledger-replay --data DIR what-if --tenant T FILE [--at TIME] [--json]\n"
     "Decides the commands of FILE (JSON lines or an array; - = stdin) on a copy of the tenant\n"
     "with the real rules and time effects, and prints each result and what would change.\n"
     "Nothing is recorded.\n"
     "HTTP: POST /v1/tenants/T/what-if?at="},
    {"rebuild",
     "usage: ledger-replay --data DIR rebuild\n"
     "Drops the views and rebuilds them from the log (the one verb that writes; stop ledgerd\n"
     "first)."},
};

// Bad usage: a message naming the problem, the usage, exit 2.
struct UsageError {
  std::string message;
};

int Fail(const ledger::Status& s) {
  fmt::print(stderr, "ledger-replay: {}\n", s.ToString());
  return s.code() == ledger::Status::Code::kNotFound ||
                 s.code() == ledger::Status::Code::kInvalidArgument
             ? 2
             : 1;
}

// The parsed command line.
class Args {
 public:
  explicit Args(const po::variables_map& vm) : vm_(vm) {}

  bool has(const char* name) const { return vm_.count(name) > 0; }
  std::string str(const char* name) const {
    if (!has(name)) throw UsageError{fmt::format("--{} is required", name)};
    return vm_[name].as<std::string>();
  }
  std::optional<std::string> opt(const char* name) const {
    return has(name) ? std::optional<std::string>(vm_[name].as<std::string>()) : std::nullopt;
  }
  std::optional<ledger::Micros> time(const char* name) const {
    if (!has(name)) return std::nullopt;
    auto t = ledger::ParseRfc3339(str(name));
    if (!t) {
      throw UsageError{fmt::format("--{}: '{}' is not an RFC 3339 time (2026-01-05T09:00:00Z)",
                                   name, str(name))};
    }
    return t;
  }
  replay::TimeOrPosition point(const char* name) const {
    replay::TimeOrPosition p;
    if (!replay::ParseTimeOrPosition(str(name), &p)) {
      throw UsageError{
          fmt::format("--{}: '{}' is neither an RFC 3339 time nor a position", name, str(name))};
    }
    return p;
  }
  // Rejects options the verb does not take (a typo must not pass silently).
  void Only(std::initializer_list<const char*> allowed) const {
    static const char* kCommon[] = {"data", "verb", "json", "postgres"};
    for (const auto& [name, value] : vm_) {
      bool ok = false;
      for (const char* c : kCommon) ok = ok || name == c;
      for (const char* a : allowed) ok = ok || name == a;
      if (!ok) throw UsageError{fmt::format("--{} does not apply to {}", name, str("verb"))};
    }
  }

 private:
  const po::variables_map& vm_;
};

void Print(const nlohmann::json& j) { std::cout << replay::DumpJson(j) << "\n"; }

// A verb's report: its JSON with --json, else its tables (`print_tables`); exit 0.
int Report(const Args& a, const nlohmann::json& j,
           void (*print_tables)(const nlohmann::json&, std::ostream&)) {
  if (a.has("json")) {
    Print(j);
  } else {
    print_tables(j, std::cout);
  }
  return 0;
}

int State(const replay::AuditLedger& l, const Args& a) {
  a.Only({"tenant", "at", "position", "known-at"});
  replay::AsOf as_of;
  as_of.at = a.time("at");
  as_of.known_at = a.time("known-at");
  if (a.has("position")) {
    replay::TimeOrPosition p = a.point("position");
    if (!p.position) throw UsageError{"--position must be a global position (digits)"};
    as_of.position = p.position;
  }
  if (as_of.at && as_of.position) throw UsageError{"give --at or --position, not both"};
  commands::TenantState state;
  ledger::Micros at = 0;
  ledger::Status s = replay::FoldAsOf(l.store(), l.reader(), a.str("tenant"), as_of, &state, &at);
  if (!s.ok()) return Fail(s);
  const nlohmann::json j = replay::StateJson(state, at);
  return Report(a, j, replay::PrintStateTables);
}

replay::AsOf PointAsOf(const replay::TimeOrPosition& p) {
  replay::AsOf as_of;
  if (p.time) as_of.at = p.time;
  if (p.position) as_of.position = p.position;
  return as_of;
}

int Diff(const replay::AuditLedger& l, const Args& a) {
  a.Only({"tenant", "from", "to"});
  const std::string tenant = a.str("tenant");
  commands::TenantState from, to;
  ledger::Micros from_at = 0, to_at = 0;
  ledger::Status s =
      replay::FoldAsOf(l.store(), l.reader(), tenant, PointAsOf(a.point("from")), &from, &from_at);
  if (s.ok()) {
    s = replay::FoldAsOf(l.store(), l.reader(), tenant, PointAsOf(a.point("to")), &to, &to_at);
  }
  if (!s.ok()) return Fail(s);
  const nlohmann::json j = replay::Diff(from, from_at, to, to_at);
  return Report(a, j, replay::PrintDiff);
}

int History(const replay::AuditLedger& l, const Args& a) {
  a.Only({"tenant", "user", "subscription", "group", "from", "to"});
  replay::HistoryQuery q;
  q.tenant = a.str("tenant");
  int given = 0;
  for (auto [name, kind] : {std::pair{"user", 'u'}, {"subscription", 's'}, {"group", 'g'}}) {
    if (a.has(name)) {
      q.kind = kind;
      q.id = a.str(name);
      ++given;
    }
  }
  if (given != 1) throw UsageError{"history needs exactly one of --user, --subscription, --group"};
  q.from = a.time("from");
  q.to = a.time("to");
  nlohmann::json j;
  ledger::Status s = replay::History(l.store(), l.reader(), q, &j);
  if (!s.ok()) return Fail(s);
  return Report(a, j, replay::PrintHistory);
}

int Usage(const replay::AuditLedger& l, const Args& a) {
  a.Only({"tenant", "subscription", "from", "to"});
  replay::UsageQuery q;
  q.tenant = a.str("tenant");
  q.subscription = a.str("subscription");
  a.str("from");
  a.str("to");
  q.from = *a.time("from");
  q.to = *a.time("to");
  nlohmann::json j;
  ledger::Status s = replay::Usage(l.store(), q, &j);
  if (!s.ok()) return Fail(s);
  return Report(a, j, replay::PrintUsage);
}

int Rejections(const replay::AuditLedger& l, const Args& a) {
  a.Only({"tenant", "from", "to"});
  replay::RejectionsQuery q;
  q.tenant = a.str("tenant");
  q.from = a.time("from");
  q.to = a.time("to");
  nlohmann::json j;
  ledger::Status s = replay::Rejections(l.store(), q, &j);
  if (!s.ok()) return Fail(s);
  return Report(a, j, replay::PrintRejections);
}

// The commands of a what-if file: a JSON array of objects, or one object per line.
std::vector<std::string> ReadCommands(const std::string& file) {
  std::ifstream in_file;
  if (file != "-") {
    in_file.open(file);
    if (!in_file) throw UsageError{"cannot read " + file};
  }
  std::istream& in = file == "-" ? std::cin : in_file;
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  std::vector<std::string> commands;
  const size_t first = all.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && all[first] == '[') {
    const nlohmann::json array = nlohmann::json::parse(all, nullptr, false);
    if (!array.is_array()) throw UsageError{file + ": not a JSON array"};
    for (const auto& c : array) commands.push_back(c.dump());
    return commands;
  }
  std::istringstream lines(all);
  for (std::string line; std::getline(lines, line);) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) commands.push_back(line);
  }
  return commands;
}

int WhatIf(const replay::AuditLedger& l, const Args& a) {
  a.Only({"tenant", "at", "file"});
  replay::WhatIfQuery q;
  q.tenant = a.str("tenant");
  q.at = a.time("at");
  q.commands = ReadCommands(a.str("file"));
  nlohmann::json j;
  ledger::Status s = replay::WhatIf(l.store(), l.reader(), q, &j);
  if (!s.ok()) return Fail(s);
  if (a.has("json")) {
    Print(j);
    return 0;
  }
  replay::Table table({"AT", "COMMAND", "ID", "OUTCOME", "EVENTS"});
  for (const auto& r : j["results"]) {
    std::string events;
    for (const auto& e : r.value("effects", nlohmann::json::array()))
      events += e.get<std::string>() + "(due) ";
    for (const auto& e : r.value("events", nlohmann::json::array()))
      events += e.get<std::string>() + " ";
    table.Add({r.value("at", ""), r["type"].get<std::string>(), r["id"].get<std::string>(),
               r["status"] == "accepted" ? "accepted" : r["code"].get<std::string>(), events});
  }
  table.Print(std::cout);
  std::cout << "\nwhat would change, " << j["from"]["at"].get<std::string>() << " → "
            << j["to"]["at"].get<std::string>() << ":\n";
  replay::PrintDiff(j["diff"], std::cout);
  return 0;
}

int Explain(const replay::AuditLedger& l, const Args& a) {
  a.Only({"tenant", "user", "product", "at"});
  replay::ExplainQuery q{a.str("tenant"), a.str("user"), a.str("product"), a.time("at")};
  nlohmann::json j;
  ledger::Status s = replay::Explain(l.store(), l.reader(), q, &j);
  if (!s.ok()) return Fail(s);
  return Report(a, j, replay::PrintExplain);
}

// The key file: --signing-key, else signing.key in the data directory.
std::string SigningKeyPath(const std::string& data, const Args& a) {
  return a.has("signing-key") ? a.str("signing-key") : data + "/signing.key";
}

std::string ReadWholeFile(const Args& a, const char* option) {
  std::ifstream in(a.str(option), std::ios::binary);
  if (!in) throw UsageError{fmt::format("--{}: cannot read {}", option, a.str(option))};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// --since: the signed checkpoint, its signature checked, as a head the history must hold.
ledger::Status SinceCheckpoint(const std::string& data, const Args& a, replay::DigestEntry* e) {
  replay::PublicKeyBytes key;
  ledger::Status s;
  if (a.has("key")) {
    s = replay::ParsePublicKeyPem(ReadWholeFile(a, "key"), &key);
  } else {
    std::unique_ptr<replay::SigningKey> own;
    s = replay::SigningKey::Load(SigningKeyPath(data, a), /*create=*/false, &own);
    if (s.ok()) key = own->public_key();
  }
  replay::TenantCheckpoint c;
  if (s.ok()) s = replay::OpenCheckpoint(ReadWholeFile(a, "since"), key, &c);
  if (!s.ok()) return s;
  if (a.has("tenant") && a.str("tenant") != c.tenant) {
    return ledger::Status::InvalidArgument(fmt::format(
        "--since: the checkpoint is of tenant '{}', not '{}'", c.tenant, a.str("tenant")));
  }
  *e = replay::DigestEntry{c.tenant, c.version, c.hash};
  return ledger::Status::OK();
}

// verify --export: an auditor's export checked alone, against the pinned key.
int VerifyExportFile(const Args& a) {
  a.Only({"export", "key", "since"});
  if (!a.has("key")) throw UsageError{"verify --export needs --key PUBKEY_FILE (the pinned key)"};
  replay::PublicKeyBytes key;
  ledger::Status s = replay::ParsePublicKeyPem(ReadWholeFile(a, "key"), &key);
  if (!s.ok()) throw UsageError{"--key: " + s.message()};
  std::optional<std::string> since;
  if (a.has("since")) since = ReadWholeFile(a, "since");
  std::ifstream in(a.str("export"), std::ios::binary);
  if (!in) throw UsageError{"--export: cannot read " + a.str("export")};
  replay::ExportProof proof;
  s = replay::VerifyExport(in, key, since, &proof);
  if (a.has("json")) {
    Print({{"ok", s.ok()},
           {"tenant", proof.tenant},
           {"events", proof.events},
           {"first_version", proof.first_version},
           {"last_version", proof.last_version},
           {"checkpoint_version", proof.checkpoint_version},
           {"since_version", proof.since_version},
           {"problem", s.ok() ? nlohmann::json(nullptr) : nlohmann::json(s.message())}});
  } else if (s.ok()) {
    std::cout << fmt::format(
        "ok: {} events of '{}', versions {}..{}, chain intact, checkpoint at version {} signed "
        "by the pinned key{}\n",
        proof.events, proof.tenant, proof.first_version, proof.last_version,
        proof.checkpoint_version,
        since ? fmt::format("; extends the older checkpoint (version {})", proof.since_version)
              : "");
  } else {
    std::cout << "FAILED: " << s.message() << "\n";
  }
  if (!s.ok()) {
    fmt::print(stderr, "ledger-replay: verify failed: {}\n", s.message());
    return 3;
  }
  return 0;
}

int Verify(const std::string& data, const replay::AuditLedger& l, const Args& a) {
  a.Only({"tenant", "digest", "since", "key", "signing-key"});
  replay::VerifyOptions options;
  options.tenant = a.opt("tenant");
  if (a.has("digest")) {
    std::ifstream in(a.str("digest"));
    if (!in) throw UsageError{"--digest: cannot read " + a.str("digest")};
    std::stringstream text;
    text << in.rdbuf();
    ledger::Status s = replay::ParseDigest(text.str(), &options.digest);
    if (!s.ok()) {
      fmt::print(stderr, "ledger-replay: {}: {}\n", a.str("digest"), s.message());
      return 2;
    }
  }
  if (a.has("since")) {
    replay::DigestEntry since;
    ledger::Status s = SinceCheckpoint(data, a, &since);
    if (!s.ok()) {
      fmt::print(stderr, "ledger-replay: {}: {}\n", a.str("since"), s.message());
      return s.IsInvalidArgument() && s.message().find("signature") != std::string::npos ? 3 : 2;
    }
    if (!options.tenant) options.tenant = since.tenant;
    options.digest.push_back(since);
  }
  replay::VerifyReport report;
  ledger::Status s = replay::Verify(l.store(), l.views(), options, &report);
  if (!s.ok()) return Fail(s);
  if (a.has("json")) {
    Print(report.ToJson());
  } else if (report.ok()) {
    std::cout << fmt::format("ok: {} events of {} streams verified in {:.2f} s ({})\n",
                             report.events, report.tenants, report.seconds,
                             report.views_checked
                                 ? "chains, index, heads and views"
                                 : "chains, index and heads; " + report.views_note);
  } else {
    const auto& first = report.problems.front();
    std::cout << fmt::format("FAILED: {} problem(s); first at position {}\n", report.problem_count,
                             first.position);
    replay::Table table({"POSITION", "TENANT", "PROBLEM"});
    for (const auto& p : report.problems) {
      table.Add({p.position == 0 ? "-" : std::to_string(p.position), p.tenant, p.what});
    }
    table.Print(std::cout);
  }
  if (!report.ok()) {
    const auto& first = report.problems.front();
    fmt::print(stderr, "ledger-replay: verify failed at position {}: {}\n", first.position,
               first.what);
    return 3;
  }
  return 0;
}

int Digest(const replay::AuditLedger& l, const Args& a) {
  a.Only({"tenant"});
  std::vector<replay::DigestEntry> entries;
  ledger::Status s = replay::CollectDigest(l.store(), a.opt("tenant"), &entries);
  if (!s.ok()) return Fail(s);
  if (a.has("json")) {
    Print(replay::DigestJson(entries, l.store().LastPosition()));
    return 0;
  }
  replay::Table table({"TENANT", "VERSION", "HASH"});
  for (const auto& e : entries)
    table.Add({e.tenant, std::to_string(e.version), ledger::ToHex(e.hash)});
  table.Print(std::cout);
  return 0;
}

int Pubkey(const std::string& data, const Args& a) {
  a.Only({"signing-key"});
  std::unique_ptr<replay::SigningKey> key;
  ledger::Status s = replay::SigningKey::Load(SigningKeyPath(data, a), /*create=*/true, &key);
  if (!s.ok()) return Fail(s);
  std::cout << key->PublicKeyPem();
  return 0;
}

int Checkpoint(const std::string& data, const replay::AuditLedger& l, const Args& a) {
  a.Only({"tenant", "latest", "version", "signing-key"});
  const std::string tenant = a.str("tenant");
  if (a.has("latest") && a.has("version")) throw UsageError{"--latest or --version, not both"};
  std::unique_ptr<replay::Checkpoints> checkpoints;
  ledger::Status s =
      replay::Checkpoints::Open(SigningKeyPath(data, a), /*create=*/true, &checkpoints);
  std::string note;
  uint64_t version = 0;
  if (s.ok() && (a.has("latest") || a.has("version"))) {
    if (a.has("version")) {
      const std::string v = a.str("version");
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v[0] == '0') {
        throw UsageError{"--version: '" + v + "' is not a version (1, 2, ...)"};
      }
      version = std::stoull(v);
    }
    s = checkpoints->Find(tenant, version, &note);
  } else if (s.ok()) {
    s = checkpoints->Take(l.store(), tenant, &note, &version);
  }
  if (!s.ok()) return Fail(s);
  std::cout << note;
  return 0;
}

int Export(const std::string& data, const replay::AuditLedger& l, const Args& a) {
  a.Only({"tenant", "format", "from", "to", "signing-key"});
  replay::ExportOptions options;
  options.format = a.str("format");
  if (options.format != "jsonl" && options.format != "csv") {
    throw UsageError{"--format must be jsonl or csv"};
  }
  options.tenant = a.opt("tenant");
  if (a.has("from")) {
    const replay::TimeOrPosition p = a.point("from");
    if (p.position) options.from_position = *p.position;
    options.from_time = p.time;
  }
  if (a.has("to")) {
    const replay::TimeOrPosition p = a.point("to");
    if (p.position) options.to_position = *p.position;
    options.to_time = p.time;
  }
  // JSON lines are for auditors: stored bytes, and a tenant's manifest with its latest
  // signed checkpoint (none if the ledger has no key yet).
  options.audit = options.format == "jsonl";
  std::shared_ptr<replay::Checkpoints> checkpoints;
  if (options.tenant) {
    std::unique_ptr<replay::Checkpoints> opened;
    if (replay::Checkpoints::Open(SigningKeyPath(data, a), /*create=*/false, &opened).ok()) {
      checkpoints = std::move(opened);
    }
  }
  if (checkpoints) {
    options.checkpoint_at_most = [checkpoints, tenant = *options.tenant](uint64_t version) {
      std::string note;
      const uint64_t v = checkpoints->LatestVersion(tenant, version);
      return v > 0 && checkpoints->Find(tenant, v, &note).ok() ? std::optional(note) : std::nullopt;
    };
  }
  std::ios::sync_with_stdio(false);
  uint64_t rows = 0;
  ledger::Status s = replay::Export(l.store(), options, std::cout, &rows);
  std::cout.flush();
  if (!s.ok()) return Fail(s);
  return 0;
}

// Events the ledger holds: each partition's, counted from its base (ledger/log_partitions.h).
uint64_t EventCount(const ledger::Store& store) {
  const std::vector<uint64_t> frontier = store.LogFrontier();
  uint64_t events = 0;
  for (uint32_t p = 0; p < frontier.size(); ++p) events += frontier[p] - ledger::PartitionBase(p);
  return events;
}

// Opens the ledger with every view dropped and rebuilt from the log (progress on stderr),
// then reports what was rebuilt. The one verb that writes.
int Rebuild(const std::string& data, const Args& a) {
  a.Only({});
  const auto start = std::chrono::steady_clock::now();
  auto views = std::make_shared<projections::ViewProjector>();
  ledger::StoreOptions options;
  options.projectors = {views};
  options.rebuild_projections = true;
  std::unique_ptr<ledger::Store> store;
  ledger::Status s = ledger::Store::Open(options, data, &store);
  if (!s.ok()) {
    fmt::print(stderr, "ledger-replay: cannot rebuild the views in {}: {}\n", data, s.ToString());
    return 1;
  }
  ledger::ProjectionCheckpoint checkpoint;
  s = store->GetProjectionCheckpoint(views->name(), &checkpoint);
  if (!s.ok()) {
    fmt::print(stderr, "ledger-replay: no checkpoint after the rebuild: {}\n", s.ToString());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format(
      "{{\"rebuilt\":\"{}\",\"version\":{},\"position\":{},\"events\":{},\"seconds\":{:.3f}}}\n",
      views->name(), checkpoint.version, checkpoint.position, EventCount(*store), seconds);
  return 0;
}

int Run(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show usage")("data", po::value<std::string>(),
                                                "ledger directory")(
      "postgres", po::value<std::string>(),
      "the log on PostgreSQL (libpq conninfo; a standby will do), copied into --data or a "
      "temporary directory first")("verb", po::value<std::string>(), "what to do")(
      "json", "one JSON document")("tenant", po::value<std::string>(), "tenant id")(
      "user", po::value<std::string>(), "user id")("subscription", po::value<std::string>(),
                                                   "subscription id")(
      "group", po::value<std::string>(), "group id")("product", po::value<std::string>(),
                                                     "product id")("at", po::value<std::string>(),
                                                                   "business time (RFC 3339)")(
      "position", po::value<std::string>(), "global position")(
      "known-at", po::value<std::string>(), "what the ledger knew then (RFC 3339)")(
      "from", po::value<std::string>(), "start: time or position")(
      "to", po::value<std::string>(), "end: time or position")("digest", po::value<std::string>(),
                                                               "digest file to check")(
      "format", po::value<std::string>(), "jsonl or csv")(
      "since", po::value<std::string>(), "verify: a signed checkpoint the history must extend")(
      "export", po::value<std::string>(), "verify: a tenant's jsonl export to check alone")(
      "key", po::value<std::string>(), "verify --since: the pinned public key (PEM)")(
      "signing-key", po::value<std::string>(),
      "the ledger's private key (default DIR/signing.key)")(
      "latest", "checkpoint: the latest kept note")("version", po::value<std::string>(),
                                                    "checkpoint: the kept note at this version")(
      "file", po::value<std::string>(),
      "what-if: the commands (JSON lines or an array; - = stdin)");
  po::positional_options_description positional;
  positional.add("verb", 1).add("file", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError{e.what()};
  }
  if (vm.count("help")) {
    if (vm.count("verb")) {
      const std::string verb = vm["verb"].as<std::string>();
      for (const VerbHelp& h : kVerbHelp) {
        if (verb == h.verb) {
          std::cout << h.text << "\n";
          return 0;
        }
      }
      throw UsageError{"unknown verb '" + verb + "'"};
    }
    std::cout << kUsage << "\n"
              << options << "\n"
              << "ledger-replay VERB --help says what a verb answers.\n";
    return 0;
  }
  Args a(vm);
  if (!a.has("verb")) throw UsageError{"no verb given"};
  const std::string verb = a.str("verb");
  if (verb == "verify" && a.has("export")) {
    if (a.has("data") || a.has("postgres")) {
      throw UsageError{"verify --export checks a file alone: no --data or --postgres"};
    }
    return VerifyExportFile(a);
  }
  std::string data = a.has("data") ? a.str("data") : "";
  if (verb == "pubkey") {  // the key file only: no copy of a PostgreSQL log is needed
    if (a.has("postgres") && !a.has("signing-key")) {
      throw UsageError{"pubkey on --postgres needs --signing-key FILE (the copy is temporary)"};
    }
    if (data.empty() && !a.has("signing-key")) {
      throw UsageError{"--data DIR or --signing-key FILE is required"};
    }
    return Pubkey(data, a);
  }
  replay::TempCopyDir temp;
  if (a.has("postgres")) {
    if (verb == "rebuild") throw UsageError{"rebuild applies to a data directory, not --postgres"};
    if (data.empty()) data = temp.Make("ledger-replay");
    if (data.empty()) throw UsageError{"cannot create a temporary directory"};
    ledger::Status s = replay::CopyPostgresLog(a.str("postgres"), data);
    if (!s.ok()) return Fail(s);
  } else if (data.empty()) {
    throw UsageError{"--data DIR or --postgres CONNINFO is required"};
  }
  static const char* kVerbs[] = {"state",   "diff",   "history",   "explain",    "verify",
                                 "digest",  "export", "usage",     "rejections", "what-if",
                                 "rebuild", "pubkey", "checkpoint"};
  if (std::find(std::begin(kVerbs), std::end(kVerbs), verb) == std::end(kVerbs)) {
    throw UsageError{"unknown verb '" + verb + "'"};
  }
  if (verb == "rebuild") return Rebuild(data, a);
  if (verb == "checkpoint" && a.has("postgres") && !a.has("signing-key")) {
    throw UsageError{"checkpoint on --postgres needs --signing-key FILE (the copy is temporary)"};
  }
  std::unique_ptr<replay::AuditLedger> ledger;
  ledger::Status s = replay::AuditLedger::Open(data, &ledger);
  if (!s.ok()) return Fail(s);
  if (verb == "state") return State(*ledger, a);
  if (verb == "diff") return Diff(*ledger, a);
  if (verb == "history") return History(*ledger, a);
  if (verb == "explain") return Explain(*ledger, a);
  if (verb == "verify") return Verify(data, *ledger, a);
  if (verb == "checkpoint") return Checkpoint(data, *ledger, a);
  if (verb == "digest") return Digest(*ledger, a);
  if (verb == "usage") return Usage(*ledger, a);
  if (verb == "rejections") return Rejections(*ledger, a);
  if (verb == "what-if") return WhatIf(*ledger, a);
  return Export(data, *ledger, a);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const UsageError& e) {
    fmt::print(stderr, "ledger-replay: {}\n{}", e.message, kUsage);
    return 2;
  } catch (const kj::Exception& e) {
    // A stored event whose fields Cap'n Proto cannot read: the store is damaged.
    fmt::print(stderr,
               "ledger-replay: a stored event cannot be decoded ({}); the store is damaged — "
               "`ledger-replay verify` names the position\n",
               e.getDescription().cStr());
    return 3;
  }
}

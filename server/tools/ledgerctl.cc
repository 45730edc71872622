// ledgerctl — submit commands and ask questions of a ledger (DESIGN 6.2).
//
//   ledgerctl --data DIR [--clock manual] submit FILE|-
//   ledgerctl --data DIR check --tenant T --user U --product P [--at TIME]
//   ledgerctl --data DIR import-members --tenant T --actor A FILE.csv
//             [--subscription S] [--group G] [--commit] [--at TIME] [--id ID]
//
// Exit codes: 0 done (even when commands were rejected: the results say so), 1 the
// ledger failed, 2 bad usage or unreadable input.
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands/access.h"
#include "commands/csv_import.h"
#include "commands/service.h"
#include "ledger/store.h"
#include "projections/view_reader.h"
#include "projections/views.h"

namespace po = boost::program_options;

namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

int Usage(const std::string& message) {
  fmt::print(stderr, "ledgerctl: {}\n", message);
  fmt::print(stderr,
             "usage: ledgerctl --data DIR [--clock manual] submit FILE|-\n"
             "       ledgerctl --data DIR check --tenant T --user U --product P [--at TIME]\n"
             "       ledgerctl --data DIR import-members --tenant T --actor A FILE.csv "
             "[--subscription S] [--group G] [--commit] [--at TIME]\n");
  return kUsage;
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

// Submits every line in order (one store queue keeps the order) and prints each result
// as soon as it and all before it are known.
int Submit(ledger::Store* store, const std::string& input_name) {
  std::string input;
  if (!ReadInput(input_name, &input)) return Usage("cannot read " + input_name);
  commands::CommandService service(store);
  std::vector<std::string> lines;
  std::istringstream in(input);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
  }
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

int ImportMembers(ledger::Store* store, const po::variables_map& vm, const std::string& file) {
  std::string text;
  if (!ReadInput(file, &text)) return Usage("cannot read " + file);
  std::vector<commands::ImportRow> rows;
  std::string error;
  if (!commands::ParseMembersCsv(text, &rows, &error)) return Usage(file + ": " + error);
  if (rows.empty()) return Usage(file + ": no rows after the header");

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
    list.push_back({{"email", r.email}, {"user", r.user}, {"name", r.name}, {"role", r.role}});
  }
  j["rows"] = std::move(list);

  commands::CommandService service(store);
  commands::Command cmd;
  commands::BadRequest bad;
  if (!commands::ParseCommand(j.dump(), &cmd, &bad)) {
    std::cout << service.ExecuteJson(j.dump()).ToJson() << '\n';
    return kOk;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    cmd.rows[i].line = rows[i].line;
    cmd.rows[i].problem = rows[i].problem;
  }
  std::cout << service.Execute(std::move(cmd)).ToJson() << '\n';
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
    } else if (a == "--data" || a == "--clock" || a == "--server" || a == "--token") {
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
      "server", po::value<std::string>(), "HOST:PORT of a ledgerd (not yet available)")(
      "token", po::value<std::string>(), "bearer token for --server");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(global_args).options(global).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Usage(e.what());
  }
  if (vm.count("help")) return Usage("help");
  if (verb.empty()) return Usage("no verb given");
  if (vm.count("server")) return Usage("--server: ledgerd is not available yet; use --data");
  const auto mode = ledger::ParseClockMode(clock);
  if (!mode) return Usage("--clock must be system or manual");

  po::options_description verb_opts;
  verb_opts.add_options()("tenant", po::value<std::string>())("user", po::value<std::string>())(
      "product", po::value<std::string>())("at", po::value<std::string>())(
      "actor", po::value<std::string>())("subscription", po::value<std::string>())(
      "group", po::value<std::string>())("id", po::value<std::string>())("commit", "")(
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
  } else {
    return Usage("unknown verb '" + verb + "'");
  }
  if (!missing.empty()) return Usage(missing);

  ledger::StoreOptions options;
  options.clock_mode_if_new = *mode;
  options.read_only = verb == "check";
  auto views = std::make_shared<projections::ViewProjector>();
  options.projectors.push_back(views);
  std::unique_ptr<ledger::Store> store;
  ledger::Status s = ledger::Store::Open(options, data, &store);
  if (!s.ok()) {
    fmt::print(stderr, "ledgerctl: cannot open the ledger in {}: {}\n", data, s.ToString());
    return kFailed;
  }
  if (verb == "submit") return Submit(store.get(), args[0]);
  if (verb == "check") {
    const projections::ViewReader reader(views.get(), store.get());
    return Check(reader, vv["tenant"].as<std::string>(), vv["user"].as<std::string>(),
                 vv["product"].as<std::string>(), vv.count("at") ? vv["at"].as<std::string>() : "");
  }
  return ImportMembers(store.get(), vv, args[0]);
}

// A ledgerd child process for integration tests: both listeners on 127.0.0.1 ephemeral
// ports, a tokens file of two tokens — kSystemToken (all tenants, system rights) and
// kAcmeToken (tenant acme only) — stderr in a log file. Killed on destruction.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ledger/sha256.h"
#include "support/run_tool.h"
#include "support/temp_dir.h"

extern char** environ;

namespace ledger::testing {

constexpr char kSystemToken[] = "tok-system";
constexpr char kAcmeToken[] = "tok-acme";
// One token per role (server/tokens.h), each for tenant acme only.
constexpr char kServiceToken[] = "tok-acme-service";
constexpr char kSupportToken[] = "tok-acme-support";
constexpr char kAuditorToken[] = "tok-acme-auditor";
constexpr char kAdminToken[] = "tok-acme-admin";

// How to start ledgerd, when not directly on a data directory in the test's folder.
struct Launch {
  // Runs ledgerd through this command (its arguments appended), e.g. a wrapper that mounts
  // a small file system first; it must exec ledgerd in the same process. "{dir}" in an
  // argument stands for the test's folder.
  std::vector<std::string> prefix;
  // The data directory, relative to the test's folder (default "ledger").
  std::string data = "ledger";
  // A new ledger on the manual clock (tests give every time); false: the system clock.
  bool manual_clock = true;
};

class LedgerdProcess {
 public:
  // Writes the tokens file and starts ledgerd with `extra_args` (e.g. --tls-cert ...).
  explicit LedgerdProcess(std::vector<std::string> extra_args = {}, Launch launch = {})
      : extra_args_(std::move(extra_args)), launch_(std::move(launch)) {
    using nlohmann::json;
    const auto entry = [](const char* name, const char* token, json tenants, bool sys) {
      return json{{"name", name},
                  {"token_sha256", ToHex(Sha256(token))},
                  {"tenants", std::move(tenants)},
                  {"system", sys}};
    };
    json tokens = json::array({entry("billing", kSystemToken, json::array({"*"}), true),
                               entry("acme-app", kAcmeToken, json::array({"acme"}), false)});
    for (const char* role : {"service", "support", "auditor", "admin"}) {
      const std::string name = std::string("acme-") + role;
      json e = entry(name.c_str(), ("tok-" + name).c_str(), json::array({"acme"}), false);
      e["role"] = role;
      tokens.push_back(std::move(e));
    }
    Write(dir_ / "tokens.json", tokens.dump());
    Start();
  }
  ~LedgerdProcess() { Kill(); }

  // Starts (or restarts) ledgerd on the same data directory; waits until it serves.
  void Start() {
    std::filesystem::remove(dir_ / "ready");
    const std::string ready = dir_ / "ready", log = dir_ / "log";
    std::vector<std::string> args = launch_.prefix;
    for (auto& a : args) {
      for (size_t at; (at = a.find("{dir}")) != std::string::npos;) a.replace(at, 5, dir_.path());
    }
    for (std::string a :
         {std::string(LEDGERD), std::string("--data"), data(), std::string("--http"),
          std::string("127.0.0.1:0"), std::string("--listen"), std::string("127.0.0.1:0"),
          std::string("--tokens"), path("tokens.json"), std::string("--ready-file"), ready}) {
      args.push_back(std::move(a));
    }
    if (launch_.manual_clock) args.insert(args.end(), {"--clock", "manual"});
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    REQUIRE(posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 1000 && !std::filesystem::exists(ready); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    INFO(this->log());
    REQUIRE(std::filesystem::exists(ready));
    std::ifstream in(ready);
    std::string http, capnp;
    in >> http >> capnp;
    http_port_ = static_cast<uint16_t>(std::stoi(http.substr(http.rfind(':') + 1)));
    capnp_port_ = static_cast<uint16_t>(std::stoi(capnp.substr(capnp.rfind(':') + 1)));
  }

  // Sends SIGTERM and returns the exit code.
  int Stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // SIGKILL, if running.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  uint16_t http_port() const { return http_port_; }
  uint16_t capnp_port() const { return capnp_port_; }
  std::string data() const { return dir_ / launch_.data; }
  pid_t pid() const { return pid_; }
  std::string path(const std::string& name) const { return dir_ / name; }
  // What ledgerd wrote to stderr so far.
  std::string log() const { return ReadFile(dir_ / "log"); }

 private:
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  TempDir dir_;
  std::vector<std::string> extra_args_;
  Launch launch_;
  pid_t pid_ = -1;
  uint16_t http_port_ = 0, capnp_port_ = 0;
};

}  // namespace ledger::testing

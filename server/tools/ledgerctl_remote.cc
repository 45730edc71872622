#include "ledgerctl_remote.h"

#include <fmt/format.h>

#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

namespace ledgerctl {
namespace {

constexpr size_t kBatch = 500;  // commands per submit request
constexpr size_t kWindow = 4;   // submit requests in flight

int Failed(const std::string& what, const ledger::Status& s) {
  fmt::print(stderr, "ledgerctl: {}: {}\n", what, s.message());
  return 1;
}

}  // namespace

int RemoteSubmit(const server::ClientOptions& options, const std::vector<std::string>& lines) {
  std::unique_ptr<server::LedgerClient> client;
  ledger::Status s = server::LedgerClient::Connect(options, &client);
  if (!s.ok()) return Failed("--server", s);
  // Requests on one connection are decided in the order sent; answers may come in any
  // order, so they are printed by batch number.
  std::map<uint64_t, size_t> batch_of;  // request id → batch
  std::map<size_t, std::vector<std::string>> answered;
  const size_t batches = (lines.size() + kBatch - 1) / kBatch;
  size_t sent = 0, printed = 0;
  bool unauthorized = false;
  while (printed < batches) {
    while (sent < batches && sent - printed < kWindow) {
      const size_t begin = sent * kBatch, end = std::min(lines.size(), begin + kBatch);
      uint64_t id = 0;
      s = client->Send(
          [&](server::wire::Request::Builder req) {
            auto list = req.initSubmit(end - begin);
            for (size_t i = begin; i < end; ++i) list.set(i - begin, lines[i]);
          },
          &id);
      if (!s.ok()) return Failed("submit", s);
      batch_of[id] = sent++;
    }
    std::unique_ptr<server::ResponseFrame> frame;
    s = client->Receive(&frame);
    if (!s.ok()) return Failed("submit", s);
    const auto resp = frame->get();
    if (resp.isError()) {
      fmt::print(stderr, "ledgerctl: submit: {}: {}\n", resp.getError().getCode().cStr(),
                 resp.getError().getMessage().cStr());
      return 1;
    }
    const auto it = batch_of.find(resp.getId());
    if (it == batch_of.end() || !resp.isResults()) continue;
    std::vector<std::string> results;
    for (const auto r : resp.getResults()) results.emplace_back(r.cStr());
    answered[it->second] = std::move(results);
    batch_of.erase(it);
    while (answered.count(printed)) {
      for (const auto& r : answered[printed]) {
        std::cout << r << '\n';
        if (r.find("\"unauthorized\"") != std::string::npos) unauthorized = true;
      }
      answered.erase(printed++);
    }
  }
  std::cout.flush();
  if (unauthorized) {
    fmt::print(stderr,
               "ledgerctl: the server did not accept the token (--token or LEDGER_TOKEN)\n");
    return 1;
  }
  return 0;
}

int RemoteCommand(const server::ClientOptions& options, const std::string& command_json,
                  bool fail_if_rejected) {
  std::unique_ptr<server::LedgerClient> client;
  ledger::Status s = server::LedgerClient::Connect(options, &client);
  if (!s.ok()) return Failed("--server", s);
  std::vector<std::string> results;
  s = client->Submit({command_json}, &results);
  if (!s.ok()) return Failed("submit", s);
  if (results.size() != 1) return Failed("submit", ledger::Status::Corruption("no result"));
  std::cout << results[0] << '\n';
  const bool rejected = nlohmann::json::parse(results[0], nullptr, false).value("status", "") ==
                        std::string("rejected");
  return fail_if_rejected && rejected ? 1 : 0;
}

int RemoteCheck(const server::ClientOptions& options, const std::string& tenant,
                const std::string& user, const std::string& product, const std::string& at) {
  std::unique_ptr<server::LedgerClient> client;
  ledger::Status s = server::LedgerClient::Connect(options, &client);
  if (!s.ok()) return Failed("--server", s);
  commands::AccessDecision decision;
  s = client->Check(tenant, user, product, at, &decision);
  if (!s.ok()) return Failed("check", s);
  std::cout << decision.ToJson() << '\n';
  return 0;
}

int RemoteBackup(const server::ClientOptions& options) {
  std::unique_ptr<server::LedgerClient> client;
  ledger::Status s = server::LedgerClient::Connect(options, &client);
  if (!s.ok()) return Failed("--server", s);
  std::string json;
  s = client->Backup(&json);
  if (!s.ok()) return Failed("backup", s);
  std::cout << json << std::endl;
  return 0;
}

}  // namespace ledgerctl

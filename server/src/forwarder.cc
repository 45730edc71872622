#include "server/forwarder.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "ledger/time.h"
#include "server/client.h"

namespace server {
namespace {

std::string RejectedJson(const std::string& id, const std::string& code,
                         const std::string& message) {
  nlohmann::ordered_json j;
  j["status"] = "rejected";
  j["id"] = id;
  j["code"] = code;
  j["message"] = message;
  return j.dump();
}

std::string Describe(const PeerAddress& a) {
  return fmt::format("'{}' at {}:{}", a.node, a.host, a.port);
}

}  // namespace

int HttpStatusOfResult(std::string_view status, std::string_view code) {
  if (status != "rejected") return 200;
  if (code == "bad_request") return 400;
  if (code == "unauthorized") return 401;
  if (code == "forbidden") return 403;
  if (code == "unavailable") return 503;
  return 200;
}

commands::CommandResult ParseCommandResult(std::string_view json) {
  commands::CommandResult r;
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object() || !j.contains("status") || !j["status"].is_string()) {
    r.status = "rejected";
    r.code = "unavailable";
    r.message = "the writer's answer is not a result object";
    return r;
  }
  r.status = j["status"];
  r.id = j.value("id", "");
  r.code = j.value("code", "");
  r.message = j.value("message", "");
  r.version = j.value("version", uint64_t{0});
  r.position = j.value("position", uint64_t{0});
  if (j.contains("events") && j["events"].is_array()) {
    for (const auto& e : j["events"]) {
      ledger::AppendedEvent appended;
      appended.type = e.value("type", "");
      appended.position = e.value("position", uint64_t{0});
      appended.version = e.value("version", uint64_t{0});
      r.events.push_back(std::move(appended));
    }
  }
  if (j.contains("lease") && j["lease"].is_string()) {
    commands::LeaseOutcome lease;
    lease.lease = j["lease"];
    lease.subscription = j.value("subscription", "");
    if (j.contains("expires_at") && j["expires_at"].is_string()) {
      lease.expires_at = ledger::ParseRfc3339(j["expires_at"].get<std::string>()).value_or(0);
    }
    r.lease = std::move(lease);
  }
  return r;
}

// One forwarder thread's connection to the writer.
struct CommandForwarder::Connection {
  PeerAddress peer;
  std::unique_ptr<LedgerClient> client;
};

CommandForwarder::CommandForwarder(ledger::Store* store, PeerDirectory directory,
                                   ForwarderOptions options)
    : store_(store), directory_(std::move(directory)), options_(std::move(options)) {
  for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { Run(); });
}

CommandForwarder::~CommandForwarder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  for (Job& job : queue_) {
    job.done(RejectedJson(job.id, "unavailable", "server: shutting down"), 503);
  }
}

void CommandForwarder::Forward(std::optional<std::string_view> token, std::string_view command_json,
                               std::string id, Done done) {
  Job job{token ? std::optional<std::string>(*token) : std::nullopt, std::string(command_json),
          std::move(id), std::move(done)};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  job.done(RejectedJson(job.id, "unavailable", "server: shutting down"), 503);
}

void CommandForwarder::Run() {
  Connection connection;
  while (true) {
    std::vector<Job> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // the destructor answers what is left
      batch = TakeBatch();
    }
    Send(batch, &connection);
  }
}

std::vector<CommandForwarder::Job> CommandForwarder::TakeBatch() {
  std::vector<Job> batch;
  batch.push_back(std::move(queue_.front()));
  queue_.pop_front();
  for (auto it = queue_.begin(); it != queue_.end() && batch.size() < options_.max_batch;) {
    if (it->token == batch.front().token) {
      batch.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  return batch;
}

ledger::Status CommandForwarder::LocateWriter(PeerAddress* out) {
  const std::string writer = store_->UpstreamWriter();
  if (writer.empty()) {
    return ledger::Status::Unavailable("no node writes the log at the moment; retry shortly");
  }
  std::lock_guard<std::mutex> lock(directory_mu_);
  auto it = known_.find(writer);
  if (it != known_.end()) {
    *out = it->second;
    return ledger::Status::OK();
  }
  ledger::Status s = directory_(writer, out);
  if (s.ok()) known_[writer] = *out;
  return s;
}

void CommandForwarder::Forget(const std::string& node) {
  std::lock_guard<std::mutex> lock(directory_mu_);
  known_.erase(node);
}

void CommandForwarder::Send(std::vector<Job>& batch, Connection* connection) {
  auto fail_all = [&batch](const std::string& code, const std::string& message) {
    const int status = HttpStatusOfResult("rejected", code);
    for (Job& job : batch) job.done(RejectedJson(job.id, code, message), status);
  };
  PeerAddress writer;
  ledger::Status s = LocateWriter(&writer);
  if (!s.ok()) {
    return fail_all("unavailable",
                    "this node follows the log and cannot forward commands to the "
                    "node that writes it: " +
                        s.message());
  }
  if (connection->client == nullptr || !(connection->peer == writer)) {
    connection->client.reset();
    ClientOptions options;
    options.host = writer.host;
    options.port = writer.port;
    options.tls = writer.tls;
    options.tls_ca_file = options_.tls_ca_file;
    options.io_timeout = options_.answer_within;
    s = LedgerClient::Connect(options, &connection->client);
    if (!s.ok()) {
      Forget(writer.node);
      return fail_all("unavailable", fmt::format("this node follows the log; the node that "
                                                 "writes it, {}, cannot be reached: {}",
                                                 Describe(writer), s.message()));
    }
    connection->peer = writer;
  }
  uint64_t request_id = 0;
  s = connection->client->Send(
      [&](wire::Request::Builder req) {
        if (batch.front().token) req.setToken(*batch.front().token);
        req.setForwarded(true);
        auto list = req.initSubmit(batch.size());
        for (size_t i = 0; i < batch.size(); ++i) list.set(i, batch[i].command);
      },
      &request_id);
  std::unique_ptr<ResponseFrame> frame;
  while (s.ok()) {
    s = connection->client->Receive(&frame);
    if (s.ok() && frame->get().getId() == request_id) break;
  }
  if (!s.ok()) {
    connection->client.reset();
    Forget(writer.node);
    return fail_all("unavailable",
                    fmt::format("forwarded to {}, which did not answer ({}): the outcome is "
                                "unknown; retry with the same id",
                                Describe(writer), s.message()));
  }
  const auto response = frame->get();
  if (response.isError()) {
    const auto e = response.getError();
    return fail_all(e.getCode().cStr(),
                    fmt::format("{} (forwarded to {})", e.getMessage().cStr(), Describe(writer)));
  }
  if (!response.isResults() || response.getResults().size() != batch.size()) {
    return fail_all("unavailable", "the writer " + Describe(writer) + " answered out of protocol");
  }
  std::vector<commands::CommandResult> results;
  uint64_t visible = 0;
  for (const auto text : response.getResults()) {
    results.push_back(ParseCommandResult(text.cStr()));
    if (results.back().status != "rejected") visible = std::max(visible, results.back().position);
  }
  // Acknowledged by the writer: durable. Visible here before the caller hears of it.
  store_->AwaitPosition(visible, options_.visible_within).PermitUncheckedError();
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& r = results[i];
    batch[i].done(response.getResults()[i].cStr(), HttpStatusOfResult(r.status, r.code));
  }
}

}  // namespace server

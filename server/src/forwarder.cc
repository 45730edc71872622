#include "server/forwarder.h"

#include <fmt/format.h>
#include <kj/exception.h>

#include <algorithm>
#include <iterator>
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
  if (code == "unavailable") return 503;
  // Domain rejections — "forbidden" included (R-rules on the actor) — are answers (200); a
  // token's refusal is a 403 before any result exists (Frontend::Count).
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
  thread_ = std::thread([this] { Run(); });
}

CommandForwarder::~CommandForwarder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (Job& job : queue_) {
    job.done(RejectedJson(job.id, "unavailable", "server: shutting down"), 503);
  }
}

void CommandForwarder::Forward(std::optional<std::string_view> token, std::string_view command_json,
                               std::string id, std::string_view stream, Done done) {
  Job job{token ? std::optional<std::string>(*token) : std::nullopt,
          std::string(command_json),
          std::move(id),
          std::string(stream),
          store_->UpstreamWriterOf(stream),
          0,
          std::move(done)};
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
  std::map<std::string, Connection> connections;  // by writer
  while (true) {
    std::vector<std::vector<Job>> runs;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // the destructor answers what is left
      runs = TakeRuns();
    }
    // Each writer's runs in their order, writers in the order they first appear.
    std::vector<std::vector<std::vector<Job>>> by_writer;
    for (auto& run : runs) {
      auto it = std::find_if(by_writer.begin(), by_writer.end(), [&](const auto& w) {
        return w.front().front().writer == run.front().writer;
      });
      if (it == by_writer.end()) {
        by_writer.emplace_back();
        it = std::prev(by_writer.end());
      }
      it->push_back(std::move(run));
    }
    std::vector<Job> again;  // refused by a node that no longer writes their partition
    for (auto& writer_runs : by_writer) {
      if (writer_runs.front().front().writer.empty()) {
        // The partition is changing hands: wait for its new writer.
        for (auto& run : writer_runs) {
          for (Job& job : run) again.push_back(std::move(job));
        }
        continue;
      }
      Send(writer_runs, &connections[writer_runs.front().front().writer], &again);
    }
    if (!again.empty()) Retry(std::move(again));
  }
}

std::vector<std::vector<CommandForwarder::Job>> CommandForwarder::TakeRuns() {
  std::vector<std::vector<Job>> runs;
  while (!queue_.empty() && runs.size() < options_.max_requests) {
    if (runs.empty() || runs.back().size() >= options_.max_batch ||
        queue_.front().token != runs.back().front().token ||
        queue_.front().writer != runs.back().front().writer) {
      runs.emplace_back();
    }
    runs.back().push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  // The last run may have been opened past the limit of requests: put it back whole.
  if (runs.size() > options_.max_requests) {
    for (auto it = runs.back().rbegin(); it != runs.back().rend(); ++it) {
      queue_.push_front(std::move(*it));
    }
    runs.pop_back();
  }
  return runs;
}

ledger::Status CommandForwarder::LocateWriter(const std::string& writer, PeerAddress* out) {
  if (writer.empty()) {
    return ledger::Status::Unavailable("no node writes the log at the moment; retry shortly");
  }
  auto it = known_.find(writer);
  if (it != known_.end()) {
    *out = it->second;
    return ledger::Status::OK();
  }
  ledger::Status s = directory_(writer, out);
  if (s.ok()) known_[writer] = *out;
  return s;
}

void CommandForwarder::Forget(const std::string& node) { known_.erase(node); }

void CommandForwarder::Retry(std::vector<Job> jobs) {
  // The store's next placement step (every 200 ms) tells who writes the partition now.
  std::this_thread::sleep_for(kRetryPause);
  std::vector<Job> kept;
  for (Job& job : jobs) {
    if (++job.tries > kMaxTries) {
      job.done(RejectedJson(job.id, "unavailable",
                            fmt::format("the log partition of '{}' found no writer that "
                                        "answers within {} ms; retry with the same id",
                                        job.stream, kMaxTries * kRetryPause.count())),
               503);
      continue;
    }
    job.writer = store_->UpstreamWriterOf(job.stream);
    kept.push_back(std::move(job));
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = kept.rbegin(); it != kept.rend(); ++it) queue_.push_front(std::move(*it));
}

void CommandForwarder::Send(std::vector<std::vector<Job>>& runs, Connection* connection,
                            std::vector<Job>* again) {
  auto fail_all = [this, &runs](const std::string& code, const std::string& message) {
    for (auto& run : runs) FailRun(run, code, message);
  };
  auto try_again = [&runs, again] {
    for (auto& run : runs) {
      for (Job& job : run) again->push_back(std::move(job));
    }
  };
  const std::string& name = runs.front().front().writer;
  if (connection->client != nullptr && connection->client->PeerClosed()) {
    // The writer closed this connection (it restarted, or it was idle too long) before
    // anything was sent on it: where it listens may have changed too.
    connection->client.reset();
    Forget(name);
  }
  PeerAddress writer;
  ledger::Status s = LocateWriter(name, &writer);
  if (!s.ok()) {
    return fail_all("unavailable",
                    "this node follows the log and cannot forward commands to the node that "
                    "writes it: " +
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
      // Nothing was sent: try again shortly, at the address the directory then gives (a
      // restarted node), or at the partition's next writer (a dead one).
      Forget(writer.node);
      return try_again();
    }
    connection->peer = writer;
  }
  // Every run as one submit, in order, before any answer is read (the writer takes a
  // connection's requests in the order they come).
  std::map<uint64_t, size_t> run_of;  // request id -> run
  for (size_t r = 0; r < runs.size() && s.ok(); ++r) {
    uint64_t request_id = 0;
    s = connection->client->Send(
        [&](wire::Request::Builder req) {
          if (runs[r].front().token) req.setToken(*runs[r].front().token);
          req.setForwarded(true);
          auto list = req.initSubmit(runs[r].size());
          for (size_t i = 0; i < runs[r].size(); ++i) list.set(i, runs[r][i].command);
        },
        &request_id);
    if (s.ok()) run_of[request_id] = r;
  }
  std::vector<std::unique_ptr<ResponseFrame>> answers(runs.size());
  for (size_t pending = run_of.size(); s.ok() && pending > 0;) {
    std::unique_ptr<ResponseFrame> frame;
    s = connection->client->Receive(&frame);
    if (!s.ok()) break;
    auto it = run_of.find(frame->get().getId());
    if (it == run_of.end() || answers[it->second] != nullptr) continue;
    answers[it->second] = std::move(frame);
    --pending;
  }
  if (!s.ok()) {
    connection->client.reset();
    Forget(writer.node);
  }
  // Acknowledged by the writer: durable. Visible here before the callers hear of it.
  uint64_t visible = 0;
  std::vector<std::vector<commands::CommandResult>> results(runs.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    if (answers[r] == nullptr) continue;
    try {
      if (!answers[r]->get().isResults()) continue;
      for (const auto text : answers[r]->get().getResults()) {
        results[r].push_back(ParseCommandResult(text.cStr()));
        if (results[r].back().status != "rejected") {
          visible = std::max(visible, results[r].back().position);
        }
      }
    } catch (const kj::Exception& e) {
      // A response that cannot be read is not an answer: its commands' outcome is unknown.
      answers[r].reset();
      results[r].clear();
      s = ledger::Status::Corruption(std::string("unreadable answer: ") +
                                     e.getDescription().cStr());
    }
  }
  store_->AwaitPosition(visible, options_.visible_within).PermitUncheckedError();
  const std::string lost = fmt::format(
      "forwarded to {}, which did not answer ({}): the outcome is unknown; retry with the same id",
      Describe(writer), s.message());
  for (size_t r = 0; r < runs.size(); ++r) {
    if (answers[r] == nullptr) {
      FailRun(runs[r], "unavailable", lost);
    } else {
      Answer(runs[r], *answers[r], results[r], writer, again);
    }
  }
}

void CommandForwarder::FailRun(std::vector<Job>& run, const std::string& code,
                               const std::string& message) {
  const int status = HttpStatusOfResult("rejected", code);
  for (Job& job : run) job.done(RejectedJson(job.id, code, message), status);
}

void CommandForwarder::Answer(std::vector<Job>& run, ResponseFrame& frame,
                              const std::vector<commands::CommandResult>& results,
                              const PeerAddress& writer, std::vector<Job>* again) {
  const auto response = frame.get();
  if (response.isError()) {
    const auto e = response.getError();
    return FailRun(run, e.getCode().cStr(),
                   fmt::format("{} (forwarded to {})", e.getMessage().cStr(), Describe(writer)));
  }
  if (!response.isResults()) {
    return FailRun(run, "unavailable",
                   "the writer " + Describe(writer) + " answered out of protocol");
  }
  // Read once: each getResults() counts the whole list against the traversal limit.
  const auto answers = response.getResults();
  if (answers.size() != run.size()) {
    return FailRun(run, "unavailable",
                   "the writer " + Describe(writer) + " answered out of protocol");
  }
  for (size_t i = 0; i < run.size(); ++i) {
    // Refused before anything was decided, by a node that let the partition go: send it
    // again once the new writer is known (the same command, so at most once in the log).
    if (results[i].code == "unavailable" &&
        results[i].message.find(ledger::kNotThisNodesPartition) != std::string::npos) {
      again->push_back(std::move(run[i]));
      continue;
    }
    run[i].done(answers[i].cStr(), HttpStatusOfResult(results[i].status, results[i].code));
  }
}

}  // namespace server

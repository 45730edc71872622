// CommandForwarder — how a node that follows the log (DESIGN section 7) takes commands:
// it sends them over Cap'n Proto to the node that writes the log, answers with that
// node's results, and first waits until its own copy holds them, so that a caller's
// acknowledged command is visible to its next check on this node.
//
// Order is kept: one thread sends what is queued, in queue order, on one connection
// (consecutive commands of one token as one submit, several submits pipelined), and the
// writer queues a connection's commands in the order they arrive — so the commands of
// one request (an HTTP batch, a Cap'n Proto submit) are decided in their order, as on
// the writer itself.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "commands/service.h"
#include "ledger/status.h"
#include "ledger/store.h"
#include "server/client.h"

namespace server {

// Where a ledgerd node listens for Cap'n Proto, as the log's node directory says.
struct PeerAddress {
  std::string node;
  std::string host;
  uint16_t port = 0;
  bool tls = false;

  bool operator==(const PeerAddress&) const = default;
};

// Finds where the node `name` listens (ledgerd asks PostgreSQL's ledger_nodes).
// Called from the forwarder's thread.
using PeerDirectory = std::function<ledger::Status(const std::string& name, PeerAddress* out)>;

// Options for CommandForwarder.
struct ForwarderOptions {
  size_t max_batch = 256;    // consecutive queued commands of one token sent in one submit
  size_t max_requests = 64;  // submits sent before their answers are read
  std::string tls_ca_file;   // trust anchors for a writer that speaks TLS; empty: the system's
  // How long to wait for this node's copy to hold a forwarded command's events.
  std::chrono::milliseconds visible_within{5000};
  // How long the writer may take to answer (a stopped writer must not hold every thread):
  // past it, the commands' outcome is unknown and the caller is told to retry.
  std::chrono::milliseconds answer_within{5000};
};

// Sends commands to the nodes that write their partitions of the log. Thread-safe.
class CommandForwarder {
 public:
  // A forwarded command's answer: its result object (DESIGN 6.1) and its HTTP status.
  using Done = std::function<void(std::string result_json, int http_status)>;

  // REQUIRES: `store` outlives the forwarder.
  CommandForwarder(ledger::Store* store, PeerDirectory directory, ForwarderOptions options);
  // Answers what is still queued `unavailable`, then joins the thread.
  ~CommandForwarder();
  CommandForwarder(const CommandForwarder&) = delete;
  CommandForwarder& operator=(const CommandForwarder&) = delete;

  // Queues `command_json` (whose id is `id`, empty if it has none) to be sent with `token`
  // to the node that writes the partition of `stream` (the command's tenant, or the
  // catalog). `done` runs once, on a forwarder thread.
  void Forward(std::optional<std::string_view> token, std::string_view command_json, std::string id,
               std::string_view stream, Done done);

 private:
  struct Job {
    std::optional<std::string> token;
    std::string command;
    std::string id;
    std::string stream;  // the tenant (or catalog) whose partition's writer takes it
    std::string writer;  // the node it goes to ("" = none known when it was queued)
    int tries = 0;       // times it was sent again (Retry)
    Done done;
  };
  // A partition changing hands: how long to wait before sending again, and how often.
  static constexpr std::chrono::milliseconds kRetryPause{200};
  static constexpr int kMaxTries = 15;
  struct Connection;

  void Run();
  // Takes what is queued, in order, as runs of consecutive jobs of one token going to one
  // writer (mu_ held).
  std::vector<std::vector<Job>> TakeRuns();
  // Sends the runs (all to one writer) as pipelined submits, then answers every job but
  // those the writer refused because it no longer writes their partition: those go to
  // *again.
  void Send(std::vector<std::vector<Job>>& runs, Connection* connection, std::vector<Job>* again);
  // After a pause, puts `jobs` back at the head of the queue, in order, each to the writer
  // of its partition as the store now sees it; a job tried kMaxTries times is answered
  // `unavailable` instead.
  void Retry(std::vector<Job> jobs);
  // Answers a run from the writer's response (or fails it).
  void Answer(std::vector<Job>& run, ResponseFrame& frame,
              const std::vector<commands::CommandResult>& results, const PeerAddress& writer,
              std::vector<Job>* again);
  // Answers every job of `run` with a rejection.
  static void FailRun(std::vector<Job>& run, const std::string& code, const std::string& message);
  // Where node `writer` listens (cached by node name until a connection to it fails).
  ledger::Status LocateWriter(const std::string& writer, PeerAddress* out);
  void Forget(const std::string& node);

  ledger::Store* store_;
  const PeerDirectory directory_;
  const ForwarderOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;                     // guarded by mu_
  bool stopping_ = false;                     // guarded by mu_
  std::map<std::string, PeerAddress> known_;  // the forwarder's thread only
  std::thread thread_;
};

// The HTTP status of a result object, as ledgerd answers it: 400 bad_request, 401
// unauthorized, 503 unavailable, else 200 (domain rejections, "forbidden" included).
int HttpStatusOfResult(std::string_view status, std::string_view code);

// A result object (CommandResult::ToJson) read back: every field but an import's report.
// Unreadable JSON gives a rejected `unavailable` result naming the problem.
commands::CommandResult ParseCommandResult(std::string_view json);

}  // namespace server

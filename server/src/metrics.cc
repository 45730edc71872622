#include "server/metrics.h"

#include <fmt/format.h>

namespace server {

void LatencyHistogram::Observe(uint64_t micros) {
  size_t i = 0;
  while (i < kBoundsSeconds.size() && static_cast<double>(micros) > kBoundsSeconds[i] * 1e6) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(micros, std::memory_order_relaxed);
}

void LatencyHistogram::AppendText(const std::string& name, const std::string& help,
                                  std::string* out) const {
  *out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    if (i < kBoundsSeconds.size()) {
      *out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBoundsSeconds[i], cumulative);
    } else {
      *out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
    }
  }
  *out +=
      fmt::format("{}_sum {:.6f}\n{}_count {}\n", name, sum_micros_.load() / 1e6, name, cumulative);
}

namespace {

// A node on the log in PostgreSQL (DESIGN section 7): whether it writes, and its lag.
void AppendUpstreamMetrics(const ledger::StoreStats& s, std::string* out) {
  auto metric = [out](const char* name, const char* type, const char* help, auto value) {
    *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  metric("ledger_log_leases_held", "gauge",
         "Partitions of the log this node holds the right to write.", s.upstream_leases);
  metric("ledger_log_lag_events", "gauge",
         "Events the log held past this node's copy at its last look.", s.upstream_lag_events);
  metric("ledger_log_lag_seconds", "gauge", "Seconds since this node's copy last matched the log.",
         fmt::format("{:.3f}", s.upstream_lag_seconds));
  metric("ledger_log_commit_seconds_total", "counter",
         "Time spent committing groups to the log (each then written to the local copy).",
         fmt::format("{:.6f}", s.upstream_commit_micros / 1e6));
  metric("ledger_log_takeovers_total", "counter",
         "Times this node took the right to write the log after it started.", s.upstream_takeovers);
}

}  // namespace

std::string MetricsText(const ServerMetrics& m, const ledger::StoreStats& s) {
  std::string out;
  auto counter = [&out](const char* name, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
  };
  auto gauge = [&out](const char* name, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
  };
  counter("ledger_commands_total", "Commands answered, by outcome.");
  out +=
      fmt::format("ledger_commands_total{{status=\"accepted\"}} {}\n", m.commands_accepted.load());
  out += fmt::format("ledger_commands_total{{status=\"duplicate\"}} {}\n",
                     m.commands_duplicate.load());
  out +=
      fmt::format("ledger_commands_total{{status=\"rejected\"}} {}\n", m.commands_rejected.load());
  counter("ledger_commands_forwarded_total",
          "Commands sent to the node that writes the log (this node follows it).");
  out += fmt::format("ledger_commands_forwarded_total {}\n", m.commands_forwarded.load());
  m.append_latency.AppendText("ledger_append_latency_seconds",
                              "From a command's arrival to its durable answer.", &out);
  counter("ledger_checks_total", "Access checks answered.");
  out += fmt::format("ledger_checks_total {}\n", m.checks.load());
  counter("ledger_requests_total", "Requests read, by protocol.");
  out += fmt::format("ledger_requests_total{{protocol=\"http\"}} {}\n", m.http_requests.load());
  out += fmt::format("ledger_requests_total{{protocol=\"capnp\"}} {}\n", m.capnp_requests.load());
  counter("ledger_bad_frames_total", "Cap'n Proto frames refused as malformed or too large.");
  out += fmt::format("ledger_bad_frames_total {}\n", m.bad_frames.load());
  counter("ledger_overloaded_total", "Requests refused over a connection's in-flight limit.");
  out += fmt::format("ledger_overloaded_total {}\n", m.overloaded.load());
  counter("ledger_auth_failures_total", "Requests refused by token checks.");
  out += fmt::format("ledger_auth_failures_total{{code=\"401\"}} {}\n", m.unauthorized.load());
  out += fmt::format("ledger_auth_failures_total{{code=\"403\"}} {}\n", m.forbidden.load());
  gauge("ledger_in_flight_commands", "Commands submitted and not yet answered.");
  out += fmt::format("ledger_in_flight_commands {}\n", m.in_flight_commands.load());
  gauge("ledger_connections", "Open client connections, by protocol.");
  out += fmt::format("ledger_connections{{protocol=\"http\"}} {}\n", m.http_connections.load());
  out += fmt::format("ledger_connections{{protocol=\"capnp\"}} {}\n", m.capnp_connections.load());

  counter("ledger_group_commits_total", "Synced RocksDB write batches (group commits).");
  out += fmt::format("ledger_group_commits_total {}\n", s.groups);
  counter("ledger_group_commit_requests_total", "Appends and rejections in those groups.");
  out += fmt::format("ledger_group_commit_requests_total {}\n", s.requests);
  counter("ledger_store_recoveries_total", "Times writes resumed after the disk had been full.");
  out += fmt::format("ledger_store_recoveries_total {}\n", s.recoveries);
  counter("ledger_group_write_seconds_total", "Time spent in synced group writes.");
  out += fmt::format("ledger_group_write_seconds_total {:.6f}\n", s.write_micros / 1e6);
  counter("ledger_group_build_seconds_total", "Time spent deciding and encoding groups.");
  out += fmt::format("ledger_group_build_seconds_total {:.6f}\n", s.build_micros / 1e6);
  out += "# HELP ledger_group_commit_size Requests per group commit.\n";
  out += "# TYPE ledger_group_commit_size histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < s.group_sizes.size(); ++i) {
    cumulative += s.group_sizes[i];
    if (i + 1 < s.group_sizes.size()) {
      out += fmt::format("ledger_group_commit_size_bucket{{le=\"{}\"}} {}\n", 1u << i, cumulative);
    }
  }
  out += fmt::format("ledger_group_commit_size_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  out += fmt::format("ledger_group_commit_size_sum {}\nledger_group_commit_size_count {}\n",
                     s.requests, cumulative);
  counter("ledger_events_total", "Events appended since the store was opened.");
  out += fmt::format("ledger_events_total {}\n", s.events);
  if (s.upstream) AppendUpstreamMetrics(s, &out);
  return out;
}

}  // namespace server

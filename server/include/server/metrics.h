// What ledgerd counts, for GET /metrics (Prometheus text format 0.0.4).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "ledger/store.h"

namespace server {

// A cumulative histogram of durations (Prometheus "le" buckets, in seconds). Thread-safe
// (atomic counters).
class LatencyHistogram {
 public:
  static constexpr std::array<double, 12> kBoundsSeconds = {
      0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  // Records one duration.
  void Observe(uint64_t micros);
  // Appends the histogram `name` in Prometheus text ("_bucket", "_sum", "_count").
  void AppendText(const std::string& name, const std::string& help, std::string* out) const;

 private:
  std::array<std::atomic<uint64_t>, kBoundsSeconds.size() + 1> counts_{};  // last: +Inf
  std::atomic<uint64_t> sum_micros_{0};
};

// Counters shared by both front ends (HTTP and Cap'n Proto).
struct ServerMetrics {
  std::atomic<uint64_t> commands_accepted{0}, commands_duplicate{0}, commands_rejected{0};
  std::atomic<uint64_t> checks{0}, unauthorized{0}, forbidden{0};
  std::atomic<uint64_t> http_requests{0}, capnp_requests{0}, bad_frames{0}, overloaded{0};
  std::atomic<uint64_t> in_flight_commands{0}, http_connections{0}, capnp_connections{0};
  // Commands this node sent to the node that writes the log (it follows the log).
  std::atomic<uint64_t> commands_forwarded{0};
  // From a command's arrival to its durable answer (authorization, decision, group commit).
  LatencyHistogram append_latency;
};

// The /metrics page: `metrics` plus the store's group-commit counters.
std::string MetricsText(const ServerMetrics& metrics, const ledger::StoreStats& store);

}  // namespace server

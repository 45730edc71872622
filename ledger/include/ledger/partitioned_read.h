// Reading the log on several threads and folding it on several others. Tenants are
// independent, so each tenant's events go, in position order, to the one worker its id
// hashes to; readers take turns over fixed-size chunks of positions, and each worker
// consumes the chunks in order, so per-tenant order holds while reading and decoding
// run in parallel. Memory is bounded by the queues, not by the log.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "ledger/event.h"
#include "ledger/status.h"

namespace ledger {

class Store;

// Options for ReadLogPartitioned.
struct PartitionedReadOptions {
  int partitions = 2;             // worker threads (>= 1)
  int readers = 2;                // reader threads (>= 1)
  uint64_t from = 1;              // first position to read
  uint64_t to = UINT64_MAX;       // last position (capped at the log's end when called)
  uint64_t chunk_events = 32768;  // positions per reader turn
  size_t queue_chunks = 4;        // chunks a reader may run ahead of a worker
};

// Called on worker `partition` for each event of the tenants hashed to it, in position
// order, with the canonical bytes it reads from. A non-OK status stops the whole read and
// is returned.
using PartitionVisitor =
    std::function<Status(int partition, schema::Event::Reader event, std::string_view bytes)>;

// Which of `partitions` workers folds `tenant` (stable across runs and builds).
int PartitionOf(std::string_view tenant, int partitions);

// Reads positions [from, min(to, last position at the call)] and hands each event to
// worker PartitionOf(tenant). Returns the first error of a reader or a visitor; when the
// log itself is bad (a missing position, undecodable bytes, an event whose position field
// disagrees with its key) the error is Corruption and *bad_position (if not null) names it.
Status ReadLogPartitioned(const Store& store, const PartitionedReadOptions& options,
                          const PartitionVisitor& visit, uint64_t* bad_position = nullptr);

}  // namespace ledger

// Projector: the hook through which projections (materialized views) are maintained in
// the same synced batch as the events they are folded from.
//
// The store calls Project() for every event it appends, in position order, on its writer
// thread, and writes the projector's checkpoint (name, version, last position) into the
// same batch: a view is exactly-once by construction. At open the store compares each
// projector's stored checkpoint with its code version and, when they differ, drops the
// projector's tables and rebuilds them from the log. Projectors see only ledger-owned
// types (ledger/rows.h), never the storage engine's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/event.capnp.h"
#include "ledger/log_partitions.h"
#include "ledger/rows.h"
#include "ledger/status.h"

namespace ledger {

class EventCursor;

// Reads versions [from, to] of a tenant's durable stream (how a projector reaches history,
// e.g. to fold a tenant it no longer holds in memory).
using StreamReader = std::function<std::unique_ptr<EventCursor>(std::string_view tenant,
                                                                uint64_t from, uint64_t to)>;

// What a projector is told while it projects one event.
struct ProjectContext {
  RowBatch* batch;  // the group's batch: put view rows here
  // Each partition's last durable position (ledger/log_partitions.h): an event at or
  // below its partition's entry is on disk.
  const std::vector<uint64_t>* durable;

  // Is the event at `position` on disk?
  bool IsDurable(uint64_t position) const {
    const uint32_t p = PartitionOfPosition(position);
    return p < durable->size() && position <= (*durable)[p];
  }
};

// Implementations are called on the store's writer thread only (Attach and Reset at open
// or recovery, Project per event); their readers must synchronize on their own.
class Projector {
 public:
  virtual ~Projector() = default;

  // Unique name, used as the checkpoint key.
  virtual std::string name() const = 0;
  // Version of the projection code; a change rebuilds the views at the next open.
  virtual uint32_t version() const = 0;
  // The tables holding this projector's rows (created at open, dropped on rebuild).
  virtual std::vector<std::string> families() const = 0;
  // Gives the projector read access to the store's tables and the ids of its own, in the
  // order of families() (empty when a read-only open found them missing). `current` is
  // false when the stored rows do not match version() and cannot be rebuilt (a read-only
  // open): readers must then not trust them. `rows` outlives the projector's use of it.
  virtual void Attach(const RowReader* rows, const std::vector<TableId>& tables, bool current,
                      StreamReader read_stream) = 0;
  // Projects one appended event (writer thread, position order). Not OK fails the group.
  virtual Status Project(schema::Event::Reader event, const ProjectContext& context) = 0;
  // Forgets every cached thing (after a failed write, or before a rebuild).
  virtual void Reset() = 0;
};

// A stored checkpoint: the projection version and the last position folded into it.
struct ProjectionCheckpoint {
  uint32_t version = 0;
  uint64_t position = 0;            // the highest of `positions`
  std::vector<uint64_t> positions;  // per partition, in partition order
};

}  // namespace ledger

// ledger::UpstreamLog — a durable log outside the store that the store materializes
// (DESIGN section 7). With StoreOptions::upstream set, the store's RocksDB is this node's
// copy of the log, not the log itself:
//   - Store::Open takes the right to write (Acquire) and applies what the log holds past
//     the local files (Read*), then catches the projections up;
//   - every group is committed upstream (Commit) before it is written locally, so nothing
//     is acknowledged or visible that is not durable in the log;
//   - a failed, fenced or unknown commit fails the group's callers with Unavailable; the
//     writer then takes the right to write again and applies the log before the next group.
// The log may have several partitions: the store commits each group's parts to the
// partitions they belong to in one call, and copies every partition.
// Implemented by ledger::pg (ledger/pg_upstream.h). Calls come from one thread at a time
// (the open, then the writer): implementations need not be thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/clock.h"
#include "ledger/log_group.h"
#include "ledger/status.h"

namespace ledger {

// How far one partition of the log goes, as the right to write it was taken.
struct UpstreamState {
  uint32_t partition = 0;
  uint64_t last_position = 0;  // PartitionBase(partition) when it has no event
  uint64_t last_rejection = 0;
  Micros ledger_time = 0;
  std::string writer;  // the node holding (or last holding) the right to write; "" = none
};

// A stored event as the log reports it; views are valid only during the callback.
struct UpstreamEvent {
  uint64_t position = 0;
  std::string_view bytes;
};

// One partition's part of a group (UpstreamLog::Commit).
struct UpstreamPart {
  uint32_t partition = 0;
  uint64_t after_position = 0;  // the partition's last position before the group
  const LogGroup* group = nullptr;
};

// The log is split into partitions() partitions (ledger/log_partitions.h); each has its
// own positions, right to write and state, and each tenant lives in one of them.
class UpstreamLog {
 public:
  virtual ~UpstreamLog() = default;

  // What the log is, for messages ("the PostgreSQL log (node n1)").
  virtual std::string Describe() const = 0;
  // How many partitions the log has (fixed when it was created).
  virtual uint32_t partitions() const = 0;
  // Takes (or takes again) the right to write `partition`, fencing any earlier writer;
  // *state says how far it goes. Unavailable if another writer holds it.
  virtual Status Acquire(uint32_t partition, UpstreamState* state) = 0;
  // Gives up the right to write `partition` if this node holds it (no-op otherwise): a
  // node that could not take every partition it needs lets another take them all.
  virtual void Release(uint32_t partition) = 0;
  // The log's clock mode: the one it has, or, with `if_new` and none recorded yet,
  // `*if_new` from now on. NotFound without `if_new` when the log has none recorded.
  virtual Status ClockModeOf(std::optional<ClockMode> if_new, ClockMode* mode) = 0;
  // How far `partition` goes, without taking the right to write (readers copying it).
  virtual Status ReadState(uint32_t partition, UpstreamState* state) = 0;
  // Commits the parts of one group, all or none (one per partition, each following its
  // partition's `after_position`). OK: durable. Fenced: another writer took a partition
  // over; OutcomeUnknown: the answer was lost and the group may be in the log; anything
  // else: nothing was written.
  virtual Status Commit(const std::vector<UpstreamPart>& parts) = 0;

  // Calls `fn` with the events of `partition` at positions [from, to] in order, until it
  // returns false.
  virtual Status ReadEvents(uint32_t partition, uint64_t from, uint64_t to,
                            const std::function<bool(const UpstreamEvent&)>& fn) = 0;
  // Calls `fn` with the record of every command of `partition`'s groups committed after
  // position `after_position` (at least those; possibly a few before), until it returns
  // false.
  virtual Status ReadCommands(uint32_t partition, uint64_t after_position,
                              const std::function<bool(const LogCommand&)>& fn) = 0;
  // Calls `fn` with `partition`'s rejections after sequence `after`, in order, until it
  // returns false.
  virtual Status ReadRejections(uint32_t partition, uint64_t after,
                                const std::function<bool(const RejectionRecord&)>& fn) = 0;
  // Calls `fn(table, key, value)` for every side-table row of `partition`, until it
  // returns false.
  virtual Status ReadSideRows(
      uint32_t partition,
      const std::function<bool(std::string_view, std::string_view, std::string_view)>& fn) = 0;
};

}  // namespace ledger

// ledger::UpstreamLog — a durable log outside the store that the store materializes
// (DESIGN section 7). With StoreOptions::upstream set, the store's RocksDB is this node's
// copy of the log, not the log itself:
//   - Store::Open takes the right to write (Acquire) and applies what the log holds past
//     the local files (Read*), then catches the projections up;
//   - every group is committed upstream (Commit) before it is written locally, so nothing
//     is acknowledged or visible that is not durable in the log;
//   - a failed, fenced or unknown commit fails the group's callers with Unavailable; the
//     writer then takes the right to write again and applies the log before the next group.
// Implemented by ledger::pg (ledger/pg_upstream.h). Calls come from one thread at a time
// (the open, then the writer): implementations need not be thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/clock.h"
#include "ledger/log_group.h"
#include "ledger/status.h"

namespace ledger {

// How far the log goes, as the right to write it was taken.
struct UpstreamState {
  uint64_t last_position = 0;
  uint64_t last_rejection = 0;
  Micros ledger_time = 0;
  std::string writer;  // the node holding (or last holding) the right to write; "" = none
};

// A stored event as the log reports it; views are valid only during the callback.
struct UpstreamEvent {
  uint64_t position = 0;
  std::string_view bytes;
};

class UpstreamLog {
 public:
  virtual ~UpstreamLog() = default;

  // What the log is, for messages ("postgres partition 0 as node n1").
  virtual std::string Describe() const = 0;
  // Takes (or takes again) the right to write, fencing any earlier writer; *state says how
  // far the log goes. Unavailable if another writer holds it.
  virtual Status Acquire(UpstreamState* state) = 0;
  // The log's clock mode: the one it has, or, with `if_new` and none recorded yet,
  // `*if_new` from now on. NotFound without `if_new` when the log has none recorded.
  virtual Status ClockModeOf(std::optional<ClockMode> if_new, ClockMode* mode) = 0;
  // How far the log goes, without taking the right to write (readers copying the log).
  virtual Status ReadState(UpstreamState* state) = 0;
  // Commits `group`, whose events follow position `after_position`. OK: durable.
  // Fenced: another writer took over; OutcomeUnknown: the answer was lost and the group
  // may be in the log; anything else: nothing was written.
  virtual Status Commit(uint64_t after_position, const LogGroup& group) = 0;

  // Calls `fn` with the events at positions [from, to] in order, until it returns false.
  virtual Status ReadEvents(uint64_t from, uint64_t to,
                            const std::function<bool(const UpstreamEvent&)>& fn) = 0;
  // Calls `fn` with the record of every command of the groups committed after position
  // `after_position` (at least those; possibly a few before), until it returns false.
  virtual Status ReadCommands(uint64_t after_position,
                              const std::function<bool(const LogCommand&)>& fn) = 0;
  // Calls `fn` with the rejections after sequence `after`, in order, until it returns false.
  virtual Status ReadRejections(uint64_t after,
                                const std::function<bool(const RejectionRecord&)>& fn) = 0;
  // Calls `fn(table, key, value)` for every side-table row the log holds, until it
  // returns false.
  virtual Status ReadSideRows(
      const std::function<bool(std::string_view, std::string_view, std::string_view)>& fn) = 0;
};

}  // namespace ledger

// GroupBuilder: validates queued writes in order and encodes them into one group's
// WriteBatch (internal). Used by the builder thread only.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store_impl.h"

namespace ledger {

class GroupBuilder {
 public:
  // Starts a group on top of the store's builder state.
  GroupBuilder(Store::Impl* impl, PreparedGroup* out);

  // Validates and encodes `writes`, in order, after those added before. Not OK only for
  // a read failure of the store itself (the group then fails whole).
  Status Add(const std::vector<QueuedWrite*>& writes);
  // Completes the batch (heads, meta) and advances the store's builder state past this
  // group, so the next group can be built before this one is durable.
  void Finish();

 private:
  struct Pending {
    Digest hash;
    const AppendResult* result;
  };

  Status AddRequest(AppendRequest& req, AppendResult& result);
  // Rejects `req` with `code`: fills `result` and logs the rejection. Always OK.
  Status Reject(const AppendRequest& req, AppendResult& result, std::string code,
                std::string message);
  // Looks `req`'s id up (this group, groups not yet durable, the disk). *found: answered
  // as duplicate or idempotency_key_reused. Not OK only if the disk read failed.
  Status FindEarlier(const AppendRequest& req, const std::string& command_key, AppendResult& result,
                     bool* found);
  // The command's time into *now, or what is wrong with its `at`.
  std::optional<std::string> CommandTime(const AppendRequest& req, Micros* now);
  // The tenant's head including this group's appends so far.
  Status HeadFor(const std::string& tenant, StreamHead** head);
  // Appends the decision's prelude (effects due before the command) as its own command.
  Status AddPrelude(AppendRequest& req, Decision& decision, Micros now, StreamHead& head);
  // Appends `drafts` to `head` as command `command_id`, projects them, and fills `result`.
  // Not OK only if a projector failed (the group then fails whole).
  Status Encode(const std::string& tenant, const std::string& command_id, const std::string& actor,
                Micros now, std::vector<EventDraft>& drafts, StreamHead& head, AppendResult* result,
                const std::function<void(schema::Event::Reader)>& on_encoded);
  void LogRejection(RejectionRecord record);
  // Writes a side-table row of `tenant` with the group (and, with an upstream log, into
  // its partition's part).
  void ApplyRow(const std::string& tenant, const RowWrite& w);
  // The partition `tenant` lives in.
  uint32_t PartitionFor(std::string_view tenant) const;
  // With an upstream log: the part of the group committed to `partition` (created the
  // first time it is asked for).
  LogGroup& LogFor(uint32_t partition);
  // With an upstream log: the command's idempotency record goes into its group too.
  void RecordUpstream(const std::string& tenant, const std::string& command_id, const Digest& hash,
                      const AppendResult& result);
  // True when every row names a table of the store.
  bool KnownTables(const std::vector<RowWrite>& rows) const;

  Store::Impl& impl_;
  PreparedGroup& out_;
  const bool upstream_;  // the store commits groups to an upstream log
  RocksRowBatch rows_;   // out_.batch as projectors and side-table rows see it
  std::unordered_map<std::string, StreamHead> pending_heads_;
  std::unordered_map<std::string, Pending> pending_commands_;
  std::vector<std::unique_ptr<AppendResult>> prelude_results_;  // owned results of preludes
  // Per partition: the last position and rejection sequence given out, and where they
  // were when the group started.
  std::array<uint64_t, kMaxLogPartitions> positions_;
  const std::array<uint64_t, kMaxLogPartitions> first_positions_;
  std::array<uint64_t, kMaxLogPartitions> rejection_seqs_;
  const std::array<uint64_t, kMaxLogPartitions> first_rejection_seqs_;
  std::array<int, kMaxLogPartitions> part_index_;  // index into out_.parts; -1 = none
  std::vector<uint64_t> durable_;  // each partition's durable last position, for projectors
  Micros time_;
  const Micros time_before_;
};

}  // namespace ledger

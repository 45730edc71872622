// Store::Impl: the RocksDB handles and the single-writer state (internal).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ledger/clock.h"
#include "ledger/store.h"

namespace ledger {

// RocksDB status → ledger status.
Status FromRocks(const rocksdb::Status& s);

// A group validated and encoded by its builder, waiting for its turn to be written.
struct PreparedGroup {
  rocksdb::WriteBatch batch;
  std::vector<std::string> inflight_keys;  // command keys to forget once durable
  uint64_t last_position = 0;              // after this group
  uint64_t events = 0;
  uint64_t requests = 0;
  Micros time = 0;
  uint64_t build_micros = 0;
  bool empty = true;  // nothing to write (duplicates only)
};

// A command accepted by a group that is not yet durable, for idempotency checks of the
// groups built behind it.
struct InflightCommand {
  Digest hash;
  AppendResult result;
};

// A queued append or rejection, living on its caller's stack until `done`.
struct QueuedWrite {
  AppendRequest* request = nullptr;      // exactly one of request / rejection is set
  RejectionRecord* rejection = nullptr;
  AppendResult* result = nullptr;
  Status status;
  bool done = false;
  std::condition_variable cv;
};

class Store::Impl {
 public:
  ~Impl();

  Status Open(const StoreOptions& options, const std::string& path);

  // Not OK once a group failed to write.
  Status WriteHealth();

  // Queues `w`, and either waits for a leader to complete it or leads a group.
  Status Write(QueuedWrite* w);

  // Column families.
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* events = nullptr;
  rocksdb::ColumnFamilyHandle* streams = nullptr;
  rocksdb::ColumnFamilyHandle* commands = nullptr;
  rocksdb::ColumnFamilyHandle* heads = nullptr;
  rocksdb::ColumnFamilyHandle* rejections = nullptr;

  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  StoreOptions options;
  ClockMode mode = ClockMode::kSystem;
  SystemClock system_clock;
  ManualClock manual_clock;

  // Published after each durable group; read without the mutex.
  std::atomic<uint64_t> last_position{0};
  std::atomic<Micros> ledger_time{0};
  std::atomic<uint64_t> stat_groups{0}, stat_requests{0}, stat_events{0};
  std::atomic<uint64_t> stat_build_micros{0}, stat_write_micros{0};

 private:
  friend class GroupBuilder;
  // Writes a prepared group with one synced write and publishes it (in ticket order).
  Status WriteGroup(PreparedGroup* prepared);
  // The tenant's head including every group built so far (builder only).
  Status LoadHead(const std::string& tenant, StreamHead* head);
  // Idempotency record of a command of an earlier, not yet durable group.
  bool FindInflight(const std::string& key, InflightCommand* out);
  Status LoadMeta();

  // Takes queued writers into `group` within the group limits (mu_ held).
  std::vector<QueuedWrite*> TakeFromQueue(size_t already, size_t* bytes);

  // Writers pass through two stages. The front of queue_ is the *builder*: it reserves a
  // ticket, validates and encodes a group, and keeps absorbing writers that arrive until
  // its ticket's turn to write comes. So group N+1 is built while group N syncs.
  std::mutex mu_;
  std::deque<QueuedWrite*> queue_;     // guarded by mu_
  Status write_error_;                 // guarded by mu_; sticky
  bool closing_ = false;               // guarded by mu_
  uint64_t next_ticket_ = 0;           // guarded by mu_
  uint64_t write_turn_ = 0;            // guarded by mu_: the ticket allowed to write
  std::condition_variable turn_cv_;    // write_turn_ moved, or a writer arrived
  bool building_ = false;              // guarded by mu_: a builder holds the role
  bool absorbing_ = false;             // guarded by mu_: a builder waits on turn_cv_
  std::condition_variable idle_;       // nothing queued or writing

  // Builder-only state: exactly one builder runs at a time, and the role is handed over
  // under mu_. It runs ahead of the durable state by the groups still being written.
  std::unordered_map<std::string, StreamHead> head_cache_;
  uint64_t build_position_ = 0;
  Micros build_time_ = 0;
  uint64_t rejection_seq_ = 0;

  std::mutex inflight_mu_;
  std::unordered_map<std::string, InflightCommand> inflight_;  // guarded by inflight_mu_
};

}  // namespace ledger

// Store::Impl: the RocksDB handles and the single-writer state (internal).
#pragma once

#include <rocksdb/db.h>

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

 private:
  // Validates and writes one group; runs on the leader without the mutex held.
  Status CommitGroup(const std::vector<QueuedWrite*>& group);
  // The tenant's head as of the last durable group (leader only).
  Status LoadHead(const std::string& tenant, StreamHead* head);
  Status LoadMeta();

  std::mutex mu_;
  std::deque<QueuedWrite*> queue_;  // guarded by mu_
  Status write_error_;              // guarded by mu_; sticky
  bool closing_ = false;            // guarded by mu_
  std::condition_variable idle_;    // signalled when the queue empties

  // Leader-only state (exactly one leader runs at a time).
  std::unordered_map<std::string, StreamHead> head_cache_;
  uint64_t rejection_seq_ = 0;
};

}  // namespace ledger

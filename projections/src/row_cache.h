// A bounded in-memory cache of decoded entitlement rows for readers of a ledger that does
// not change under them (read-only and secondary opens): the hot path of checks becomes
// one hash lookup instead of a RocksDB read and a decode (internal).
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "projections/entitlements.h"

namespace projections::internal {

// A lock for critical sections of a few hundred nanoseconds: spins, then yields (a sleeping
// mutex costs a context switch on every collision, which showed as p99 latency).
class SpinLock {
 public:
  void lock() {
    for (int spins = 0; locked_.exchange(true, std::memory_order_acquire); ++spins) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 64) std::this_thread::yield();
      }
    }
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

class RowCache {
 public:
  // Holds at most about `capacity` rows (each shard its share; a full shard drops an
  // arbitrary row to make room).
  explicit RowCache(size_t capacity) : per_shard_(std::max<size_t>(1, capacity / kShards)) {}

  // Applies `fn` to the cached row of `key` under the shard's lock; false if not cached.
  bool With(const std::string& key, const std::function<void(const UserEntitlements&)>& fn) {
    Shard& s = shards_[Index(key)];
    std::lock_guard<SpinLock> lock(s.mu);
    auto it = s.rows.find(key);
    if (it == s.rows.end()) return false;
    fn(it->second);
    return true;
  }

  // Caches `row` for `key`.
  void Put(const std::string& key, UserEntitlements row) {
    Shard& s = shards_[Index(key)];
    std::lock_guard<SpinLock> lock(s.mu);
    if (s.rows.size() >= per_shard_ && s.rows.count(key) == 0) s.rows.erase(s.rows.begin());
    s.rows.insert_or_assign(key, std::move(row));
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    SpinLock mu;
    std::unordered_map<std::string, UserEntitlements> rows;
  };
  static size_t Index(const std::string& key) { return std::hash<std::string>()(key) % kShards; }

  const size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace projections::internal

// Rows: the ledger-owned view of the tables that layers above the log keep beside it —
// projections' views and checkpoints, and side tables such as the live-lease table (R19).
// Callers see tables, batches and iterators; only ledger/ knows they are RocksDB column
// families, write batches and iterators.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace ledger {

// Names one table of rows of an open store. Valid as long as the store is open.
// Value type: thread-compatible.
struct TableId {
  uint32_t index = UINT32_MAX;
  bool valid() const { return index != UINT32_MAX; }
  bool operator==(const TableId&) const = default;
};

// One row to write into a side table (StoreOptions::side_tables) with a command's group:
// a put, or a delete when `value` is unset.
struct RowWrite {
  TableId table;
  std::string key;
  std::optional<std::string> value;
};

// Writes that commit atomically with a group of events (or a catch-up batch and its
// checkpoint). Not thread-safe: one writer thread fills it.
class RowBatch {
 public:
  virtual ~RowBatch() = default;
  // Sets `key` to `value` in `table`.
  virtual void Put(TableId table, std::string_view key, std::string_view value) = 0;
  // Removes `key` from `table` (a no-op if absent).
  virtual void Delete(TableId table, std::string_view key) = 0;
  // Bytes buffered so far.
  virtual size_t ByteSize() const = 0;

  // Applies one RowWrite.
  void Apply(const RowWrite& w) {
    if (w.value) {
      Put(w.table, w.key, *w.value);
    } else {
      Delete(w.table, w.key);
    }
  }
};

// How a read goes. Defaults suit point reads on the hot path.
struct RowReadOptions {
  // Keep what is read in the block cache (false for scans that read everything once).
  bool fill_cache = true;
  // Check block checksums (false on the hot path of checks: each block was checked when
  // it entered the cache).
  bool verify_checksums = true;
  // Read ahead this many bytes on sequential scans (0 = the store's default).
  size_t readahead_bytes = 0;
};

// Walks one table in key order. Not thread-safe; the store must outlive it.
class RowIterator {
 public:
  virtual ~RowIterator() = default;
  // True while positioned on a row.
  virtual bool Valid() const = 0;
  // Positions on the first row at or after `key`.
  virtual void Seek(std::string_view key) = 0;
  // Positions on the last row at or before `key`.
  virtual void SeekForPrev(std::string_view key) = 0;
  // Moves forward / backward. REQUIRES: Valid().
  virtual void Next() = 0;
  virtual void Prev() = 0;
  // The current row; valid until the iterator moves. REQUIRES: Valid().
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // Not OK if reading failed (the iterator is then not Valid()).
  virtual Status status() const = 0;
};

// Reads the tables of an open store: every read sees whole groups. Thread-safe.
class RowReader {
 public:
  virtual ~RowReader() = default;
  // Reads `key` of `table` into *value. NotFound (with an empty message) if absent.
  virtual Status Get(TableId table, std::string_view key, std::string* value,
                     const RowReadOptions& options = RowReadOptions()) const = 0;
  // An iterator over `table`, not yet positioned (Seek first).
  virtual std::unique_ptr<RowIterator> NewIterator(
      TableId table, const RowReadOptions& options = RowReadOptions()) const = 0;
};

}  // namespace ledger

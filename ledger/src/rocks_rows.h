// ledger/rows.h on RocksDB: a table is a column family, a row batch writes into the
// group's WriteBatch, a reader reads the open database (internal).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <vector>

#include "ledger/rows.h"

namespace ledger {

// The store's column families, indexed by TableId. Replaced in place when a projection's
// family is dropped and recreated (only while the store opens, before any reader).
using TableHandles = std::vector<rocksdb::ColumnFamilyHandle*>;

// A RowBatch writing into a RocksDB WriteBatch it does not own. Not thread-safe.
class RocksRowBatch final : public RowBatch {
 public:
  RocksRowBatch(rocksdb::WriteBatch* batch, const TableHandles* tables)
      : batch_(batch), tables_(tables) {}
  void Put(TableId table, std::string_view key, std::string_view value) override;
  void Delete(TableId table, std::string_view key) override;
  size_t ByteSize() const override { return batch_->GetDataSize(); }

 private:
  rocksdb::WriteBatch* const batch_;
  const TableHandles* const tables_;
};

// A RowReader over an open database. Thread-safe (RocksDB reads are).
class RocksRowReader final : public RowReader {
 public:
  RocksRowReader(rocksdb::DB* db, const TableHandles* tables) : db_(db), tables_(tables) {}
  Status Get(TableId table, std::string_view key, std::string* value,
             const RowReadOptions& options) const override;
  std::unique_ptr<RowIterator> NewIterator(TableId table,
                                           const RowReadOptions& options) const override;

 private:
  rocksdb::DB* const db_;
  const TableHandles* const tables_;
};

}  // namespace ledger

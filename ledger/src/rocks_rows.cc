#include "rocks_rows.h"

#include "rocks_status.h"

namespace ledger {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

rocksdb::ReadOptions ToRocks(const RowReadOptions& options) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = options.fill_cache;
  ro.verify_checksums = options.verify_checksums;
  ro.readahead_size = options.readahead_bytes;
  return ro;
}

class RocksRowIterator final : public RowIterator {
 public:
  explicit RocksRowIterator(rocksdb::Iterator* it) : it_(it) {}
  bool Valid() const override { return it_->Valid(); }
  void Seek(std::string_view key) override { it_->Seek(ToSlice(key)); }
  void SeekForPrev(std::string_view key) override { it_->SeekForPrev(ToSlice(key)); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override { return ToView(it_->key()); }
  std::string_view value() const override { return ToView(it_->value()); }
  Status status() const override { return FromRocks(it_->status()); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

// An iterator over a table the store does not have: empty.
class EmptyRowIterator final : public RowIterator {
 public:
  bool Valid() const override { return false; }
  void Seek(std::string_view) override {}
  void SeekForPrev(std::string_view) override {}
  void Next() override {}
  void Prev() override {}
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
  Status status() const override { return Status::OK(); }
};

}  // namespace

void RocksRowBatch::Put(TableId table, std::string_view key, std::string_view value) {
  batch_->Put((*tables_)[table.index], ToSlice(key), ToSlice(value)).PermitUncheckedError();
}

void RocksRowBatch::Delete(TableId table, std::string_view key) {
  batch_->Delete((*tables_)[table.index], ToSlice(key)).PermitUncheckedError();
}

Status RocksRowReader::Get(TableId table, std::string_view key, std::string* value,
                           const RowReadOptions& options) const {
  if (!table.valid() || table.index >= tables_->size()) return Status::NotFound("");
  rocksdb::PinnableSlice pinned;
  const rocksdb::Status s =
      db_->Get(ToRocks(options), (*tables_)[table.index], ToSlice(key), &pinned);
  if (s.IsNotFound()) return Status::NotFound("");
  if (!s.ok()) return FromRocks(s);
  value->assign(pinned.data(), pinned.size());
  return Status::OK();
}

std::unique_ptr<RowIterator> RocksRowReader::NewIterator(TableId table,
                                                         const RowReadOptions& options) const {
  if (!table.valid() || table.index >= tables_->size()) {
    return std::make_unique<EmptyRowIterator>();
  }
  return std::make_unique<RocksRowIterator>(
      db_->NewIterator(ToRocks(options), (*tables_)[table.index]));
}

}  // namespace ledger

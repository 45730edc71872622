#include "rocks_status.h"

namespace ledger {

Status FromRocks(const rocksdb::Status& s) {
  switch (s.code()) {
    case rocksdb::Status::kOk:
      return Status::OK();
    case rocksdb::Status::kNotFound:
      return Status::NotFound(s.ToString());
    case rocksdb::Status::kCorruption:
      return Status::Corruption(s.ToString());
    case rocksdb::Status::kNotSupported:
    case rocksdb::Status::kInvalidArgument:
      return Status::InvalidArgument(s.ToString());
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kShutdownInProgress:
      return Status::Unavailable(s.ToString());
    case rocksdb::Status::kIOError:
    case rocksdb::Status::kMergeInProgress:
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kAborted:
    case rocksdb::Status::kExpired:
    case rocksdb::Status::kCompactionTooLarge:
    case rocksdb::Status::kColumnFamilyDropped:
    case rocksdb::Status::kMaxCode:
      return Status::IOError(s.ToString());
  }
  return Status::IOError(s.ToString());  // a code newer than this mapping
}

}  // namespace ledger

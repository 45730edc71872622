// The read path: cursors over the global log and tenant streams, idempotency records,
// heads and the rejection log. Readers never take the writer's mutex.
#include <fmt/format.h>
#include <rocksdb/iterator.h>

#include <algorithm>

#include "keys.h"
#include "records.h"
#include "store_impl.h"

namespace ledger {
namespace {

constexpr size_t kStreamBatch = 256;

// Global log order: a RocksDB iterator over the events family.
class LogCursor final : public EventCursor {
 public:
  LogCursor(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, uint64_t from, uint64_t to)
      : to_(to) {
    rocksdb::ReadOptions ro;
    ro.readahead_size = 2 << 20;
    ro.fill_cache = false;
    it_.reset(db->NewIterator(ro, cf));
    it_->Seek(keys::EventKey(from));
    Load();
  }

  bool Valid() const override { return valid_; }
  const StoredEvent& event() const override { return event_; }
  void Next() override {
    it_->Next();
    Load();
  }
  Status status() const override { return status_; }

 private:
  void Load() {
    valid_ = false;
    if (!it_->Valid()) {
      if (!it_->status().ok()) status_ = FromRocks(it_->status());
      return;
    }
    if (it_->key().size() != 8) {
      status_ = Status::Corruption("bad event key");
      return;
    }
    const uint64_t position = keys::GetBE64(it_->key().data());
    if (position > to_) return;
    Status s = event_.Parse(std::string_view(it_->value().data(), it_->value().size()));
    if (!s.ok()) {
      status_ = Status::Corruption("position " + std::to_string(position) + ": " + s.message());
      return;
    }
    valid_ = true;
  }

  const uint64_t to_;
  std::unique_ptr<rocksdb::Iterator> it_;
  StoredEvent event_;
  Status status_;
  bool valid_ = false;
};

// One tenant's stream: walks the streams index and fetches events in MultiGet batches.
class StreamCursor final : public EventCursor {
 public:
  StreamCursor(const Store::Impl& impl, std::string_view tenant, uint64_t from, uint64_t to)
      : impl_(impl), prefix_(keys::StreamPrefix(tenant)), to_(to) {
    index_.reset(impl_.db->NewIterator(rocksdb::ReadOptions(), impl_.streams));
    index_->Seek(keys::StreamKey(tenant, from));
    Fill();
  }

  bool Valid() const override { return next_ <= batch_.size() && next_ > 0; }
  const StoredEvent& event() const override { return batch_[next_ - 1]; }
  void Next() override {
    if (next_ < batch_.size()) {
      ++next_;
    } else {
      Fill();
    }
  }
  Status status() const override { return status_; }

 private:
  void Fill() {
    batch_.resize(0);
    next_ = 0;
    std::vector<std::string> keys;
    while (keys.size() < kStreamBatch && index_->Valid()) {
      const rocksdb::Slice k = index_->key();
      if (!k.starts_with(prefix_) || k.size() != prefix_.size() + 8) break;
      const uint64_t version = keys::GetBE64(k.data() + prefix_.size());
      if (version > to_) break;
      if (index_->value().size() != 8) {
        status_ = Status::Corruption("bad stream index entry");
        return;
      }
      keys.push_back(keys::EventKey(keys::GetBE64(index_->value().data())));
      index_->Next();
    }
    if (!index_->status().ok()) {
      status_ = FromRocks(index_->status());
      return;
    }
    if (keys.empty()) return;
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<std::string> values;
    std::vector<rocksdb::ColumnFamilyHandle*> cfs(keys.size(), impl_.events);
    std::vector<rocksdb::Status> statuses =
        impl_.db->MultiGet(rocksdb::ReadOptions(), cfs, slices, &values);
    if (batch_.size() < keys.size()) batch_.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      const uint64_t position = keys::GetBE64(keys[i].data());
      if (!statuses[i].ok() && !statuses[i].IsNotFound()) {
        status_ = FromRocks(statuses[i]);
        batch_.resize(0);
        return;
      }
      if (!statuses[i].ok()) {
        status_ = Status::Corruption("stream index names position " + std::to_string(position) +
                                     " which cannot be read: " + statuses[i].ToString());
        batch_.resize(0);
        return;
      }
      Status s = batch_[i].Parse(values[i]);
      if (!s.ok()) {
        status_ = Status::Corruption("position " + std::to_string(position) + ": " + s.message());
        batch_.resize(0);
        return;
      }
    }
    batch_.resize(keys.size());
    next_ = 1;
  }

  const Store::Impl& impl_;
  const std::string prefix_;
  const uint64_t to_;
  std::unique_ptr<rocksdb::Iterator> index_;
  std::vector<StoredEvent> batch_;
  size_t next_ = 0;  // 1-based index into batch_ of the current event; 0 = none
  Status status_;
};

}  // namespace

std::unique_ptr<EventCursor> Store::ReadLog(uint64_t from, uint64_t to) const {
  return std::make_unique<LogCursor>(impl_->db.get(), impl_->events, from, to);
}

Status Store::ScanLog(uint64_t from, uint64_t to,
                      const std::function<bool(uint64_t, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  ro.fill_cache = false;
  const std::string upper = keys::EventKey(to == UINT64_MAX ? to : to + 1);
  const rocksdb::Slice upper_slice(upper);
  if (to != UINT64_MAX) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->events));
  for (it->Seek(keys::EventKey(from)); it->Valid(); it->Next()) {
    if (it->key().size() != 8) return Status::Corruption("bad event key");
    const uint64_t position = keys::GetBE64(it->key().data());
    if (position > to) break;
    if (!fn(position, std::string_view(it->value().data(), it->value().size()))) {
      return Status::OK();
    }
  }
  return FromRocks(it->status());
}

std::unique_ptr<EventCursor> Store::Impl::NewStreamCursor(std::string_view tenant, uint64_t from,
                                                          uint64_t to) const {
  return std::make_unique<StreamCursor>(*this, tenant, from, to);
}

std::unique_ptr<EventCursor> Store::ReadStream(std::string_view tenant, uint64_t from,
                                               uint64_t to) const {
  return impl_->NewStreamCursor(tenant, from, to);
}

Status Store::GetProjectionCheckpoint(const std::string& name, ProjectionCheckpoint* out) const {
  if (impl_->checkpoints == nullptr) return Status::NotFound("no projection checkpoints");
  out->positions.clear();
  out->position = 0;
  bool any = false;
  for (uint32_t p = 0; p < impl_->partitions; ++p) {
    std::string value;
    rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->checkpoints,
                                       keys::CheckpointKey(name, p), &value);
    if (s.IsNotFound()) {
      out->positions.push_back(PartitionBase(p));  // nothing of the partition folded yet
      continue;
    }
    if (!s.ok()) return FromRocks(s);
    any = true;
    uint64_t position = 0;
    if (!keys::DecodeCheckpoint(value, &out->version, &position)) {
      return Status::Corruption("bad checkpoint of projection '" + name + "'");
    }
    out->positions.push_back(position);
    if (position > PartitionBase(p)) out->position = std::max(out->position, position);
  }
  return any ? Status::OK() : Status::NotFound("projection '" + name + "' has no checkpoint");
}

Status Store::GetHead(std::string_view tenant, StreamHead* head) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->heads,
                                     rocksdb::Slice(tenant.data(), tenant.size()), &value);
  if (s.IsNotFound()) {
    *head = StreamHead();
    return Status::OK();
  }
  if (!s.ok()) return FromRocks(s);
  return records::DecodeHead(value, head);
}

Status Store::ForEachHead(
    const std::function<bool(std::string_view, const StreamHead&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->heads));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    StreamHead head;
    Status s = records::DecodeHead(std::string_view(it->value().data(), it->value().size()), &head);
    if (!s.ok()) return Status::Corruption("head of " + it->key().ToString() + ": " + s.message());
    if (!fn(std::string_view(it->key().data(), it->key().size()), head)) return Status::OK();
  }
  return FromRocks(it->status());
}

Status Store::ScanStreamIndex(
    const std::function<bool(std::string_view, uint64_t, uint64_t)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->streams));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    if (k.size() < 10 || k[k.size() - 9] != '\0' || it->value().size() != 8) {
      return Status::Corruption("bad stream index entry " + k.ToString(true));
    }
    const std::string_view tenant(k.data(), k.size() - 9);
    if (!fn(tenant, keys::GetBE64(k.data() + k.size() - 8), keys::GetBE64(it->value().data()))) {
      return Status::OK();
    }
  }
  return FromRocks(it->status());
}

Status Store::LookupCommand(std::string_view tenant, std::string_view command_id,
                            AppendResult* result) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->commands,
                                     keys::CommandKey(tenant, command_id), &value);
  if (s.IsNotFound()) return Status::NotFound("unknown command id");
  if (!s.ok()) return FromRocks(s);
  Digest hash{};
  Status d = records::DecodeCommand(value, &hash, result);
  result->kind = AppendResult::Kind::kAccepted;
  result->command_id = std::string(command_id);
  return d;
}

Status Store::ForEachRejection(std::string_view tenant,
                               const std::function<bool(const RejectionRecord&)>& fn) const {
  const std::string prefix = keys::StreamPrefix(tenant);
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->rejections));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    RejectionRecord record;
    Status s =
        records::DecodeRejection(std::string_view(it->value().data(), it->value().size()), &record);
    if (!s.ok()) return s;
    record.sequence = keys::GetBE64(it->key().data() + prefix.size());
    if (!fn(record)) break;
  }
  return FromRocks(it->status());
}

Status Store::FindTable(std::string_view name, TableId* table) const {
  for (size_t i = 0; i < impl_->handles.size(); ++i) {
    if (impl_->handles[i]->GetName() == name) {
      *table = TableId{static_cast<uint32_t>(i)};
      return Status::OK();
    }
  }
  return Status::NotFound(fmt::format("no table '{}'", name));
}

const RowReader& Store::rows() const { return *impl_->rows; }

Status Store::WriteHealth() const { return impl_->WriteHealth(); }

uint64_t Store::WriterGeneration() const { return impl_->writer_generation.load(); }

bool Store::FollowsUpstream() const { return impl_->follows.load(); }

std::string Store::UpstreamWriter() const {
  std::lock_guard<std::mutex> lock(impl_->writer_name_mu);
  return impl_->upstream_writer;
}

Status Store::CatchUpPartitionOf(std::string_view tenant) {
  return impl_->PullPartitionNow(LogPartitionOf(tenant, impl_->partitions));
}

bool Store::SpreadsPartitions() const { return impl_->Placed(); }

bool Store::WritesTenant(std::string_view tenant) const {
  return impl_->WritesPartition(LogPartitionOf(tenant, impl_->partitions));
}

std::string Store::UpstreamWriterOf(std::string_view tenant) const {
  std::lock_guard<std::mutex> lock(impl_->writer_name_mu);
  if (!impl_->Placed()) return impl_->upstream_writer;
  return impl_->partition_writers[LogPartitionOf(tenant, impl_->partitions)];
}

Status Store::AwaitPosition(uint64_t position, std::chrono::milliseconds timeout) {
  return impl_->AwaitPosition(position, timeout);
}

}  // namespace ledger

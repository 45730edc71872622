// Projections at open: attach each projector, catch its rows up with the log, or drop
// and rebuild them when the code's version differs from the stored one.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "keys.h"
#include "store_impl.h"

namespace ledger {
namespace {

constexpr size_t kCatchUpBatchEvents = 8192;
constexpr size_t kCatchUpBatchBytes = 16u << 20;

}  // namespace

StreamReader Store::Impl::StreamReaderFor() const {
  return [this](std::string_view tenant, uint64_t from, uint64_t to) {
    return NewStreamCursor(tenant, from, to);
  };
}

Status Store::Impl::ReadCheckpoint(size_t i, uint32_t* version, std::vector<uint64_t>* positions) {
  const Projector& p = *options.projectors[i];
  if (checkpoints == nullptr) return Status::NotFound("no checkpoints");
  positions->assign(partitions, 0);
  bool any = false;
  for (uint32_t q = 0; q < partitions; ++q) {
    std::string value;
    rocksdb::Status s =
        db->Get(rocksdb::ReadOptions(), checkpoints, keys::CheckpointKey(p.name(), q), &value);
    (*positions)[q] = PartitionBase(q);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return FromRocks(s);
    uint32_t v = 0;
    if (!keys::DecodeCheckpoint(value, &v, &(*positions)[q]) ||
        PartitionOfPosition((*positions)[q]) != q || (any && v != *version)) {
      return Status::Corruption(
          fmt::format("bad checkpoint of projection '{}' for partition {}", p.name(), q));
    }
    *version = v;
    any = true;
  }
  return any ? Status::OK() : Status::NotFound("projection '" + p.name() + "' has no checkpoint");
}

Status Store::Impl::OpenProjections() {
  const std::vector<uint64_t> frontier = Frontier();
  for (size_t i = 0; i < options.projectors.size(); ++i) {
    Projector& p = *options.projectors[i];
    uint32_t version = 0;
    std::vector<uint64_t> folded;
    Status rs = ReadCheckpoint(i, &version, &folded);
    const bool have = rs.ok();
    if (!have && !rs.IsNotFound()) return rs;
    if (options.read_only) {
      const bool current =
          !projector_tables[i].empty() && have && version == p.version() && folded == frontier;
      p.Attach(rows.get(), projector_tables[i], current, StreamReaderFor());
      continue;
    }
    const bool rebuild = options.rebuild_projections || (have && version != p.version());
    if (rebuild) {
      Status s = DropProjection(i);
      if (!s.ok()) return s;
      folded.clear();
    }
    p.Reset();
    p.Attach(rows.get(), projector_tables[i], true, StreamReaderFor());
    bool behind = rebuild;
    for (uint32_t q = 0; q < partitions; ++q) {
      behind = behind || (q < folded.size() ? folded[q] : PartitionBase(q)) < frontier[q];
    }
    if (behind) {
      Status s = CatchUp(i, folded);
      if (!s.ok()) return s;
    }
  }
  return Status::OK();
}

Status Store::Impl::DropProjection(size_t i) {
  for (const TableId table : projector_tables[i]) {
    rocksdb::ColumnFamilyHandle*& family = handles[table.index];
    const std::string name = family->GetName();
    rocksdb::ColumnFamilyOptions cf_options;
    rocksdb::ColumnFamilyDescriptor descriptor;
    rocksdb::Status s = family->GetDescriptor(&descriptor);
    if (s.ok()) cf_options = descriptor.options;
    s = db->DropColumnFamily(family);
    if (!s.ok()) return FromRocks(s);
    db->DestroyColumnFamilyHandle(family);
    family = nullptr;
    rocksdb::ColumnFamilyHandle* created = nullptr;
    s = db->CreateColumnFamily(cf_options, name, &created);
    if (!s.ok()) return FromRocks(s);
    family = created;  // the same TableId names the new family
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::WriteBatch batch;
  for (uint32_t q = 0; q < partitions; ++q) {
    batch.Delete(checkpoints, keys::CheckpointKey(options.projectors[i]->name(), q));
  }
  return FromRocks(db->Write(wo, &batch));
}

Status Store::Impl::CatchUp(size_t i, std::vector<uint64_t> from) {
  Projector& p = *options.projectors[i];
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  // Where each partition's folding starts: the checkpoint, else the partition's start.
  from.resize(partitions, 0);
  std::vector<uint64_t> folded(partitions);
  uint64_t total = 0;
  for (uint32_t q = 0; q < partitions; ++q) {
    folded[q] = std::max(from[q], PartitionBase(q));
    total += durable_last[q].load() - std::min(durable_last[q].load(), folded[q]);
  }
  auto report = [&](const std::string& line) {
    if (options.progress) {
      options.progress(line);
    } else {
      fmt::print(stderr, "{}\n", line);
    }
  };

  rocksdb::WriteBatch batch;
  RocksRowBatch rows_batch(&batch, &handles);
  std::vector<uint64_t> durable = folded;  // what is on disk of the projection's rows
  auto flush = [&](bool sync) {
    for (uint32_t q = 0; q < partitions; ++q) {
      if (folded[q] != durable[q]) {
        batch.Put(checkpoints, keys::CheckpointKey(p.name(), q),
                  keys::EncodeCheckpoint(p.version(), folded[q]));
      }
    }
    if (sync) {
      // The last flush: every partition has its checkpoint, events or not (a rebuild
      // starts with none).
      for (uint32_t q = 0; q < partitions; ++q) {
        batch.Put(checkpoints, keys::CheckpointKey(p.name(), q),
                  keys::EncodeCheckpoint(p.version(), folded[q]));
      }
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    rocksdb::Status s = db->Write(wo, &batch);
    batch.Clear();
    durable = folded;
    return FromRocks(s);
  };

  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, events));
  StoredEvent event;
  size_t in_batch = 0;
  uint64_t done = 0;
  bool reported = false;
  for (uint32_t q = 0; q < partitions; ++q) {
    uint64_t& position = folded[q];
    for (it->Seek(keys::EventKey(position + 1)); it->Valid(); it->Next()) {
      Status s = event.Parse(std::string_view(it->value().data(), it->value().size()));
      if (!s.ok()) return s;
      if (PartitionOfPosition(event.position()) != q) break;  // the next partition's
      if (event.position() != position + 1) {
        return Status::Corruption(
            fmt::format("event log gap: position {} follows {}", event.position(), position));
      }
      position = event.position();
      ++done;
      s = p.Project(event.event(), ProjectContext{&rows_batch, &durable});
      if (!s.ok()) return s;
      if (++in_batch >= kCatchUpBatchEvents || batch.GetDataSize() >= kCatchUpBatchBytes) {
        s = flush(false);
        if (!s.ok()) return s;
        in_batch = 0;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_report >= std::chrono::seconds(2)) {
          last_report = now;
          reported = true;
          report(fmt::format("ledger: projection '{}': {}/{} events", p.name(), done, total));
        }
      }
    }
    if (!it->status().ok()) return FromRocks(it->status());
  }
  Status s = flush(true);
  if (!s.ok()) return s;
  if (reported) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report(fmt::format("ledger: projection '{}': {} events in {:.1f} s", p.name(), done, seconds));
  }
  return Status::OK();
}

}  // namespace ledger

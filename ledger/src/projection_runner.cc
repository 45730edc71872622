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

Status Store::Impl::OpenProjections() {
  for (size_t i = 0; i < options.projectors.size(); ++i) {
    Projector& p = *options.projectors[i];
    ProjectionCheckpoint stored;
    bool have = false;
    if (checkpoints != nullptr) {
      std::string value;
      rocksdb::Status s = db->Get(rocksdb::ReadOptions(), checkpoints, p.name(), &value);
      if (s.ok()) {
        if (!keys::DecodeCheckpoint(value, &stored.version, &stored.position)) {
          return Status::Corruption("bad checkpoint of projection '" + p.name() + "'");
        }
        have = true;
      } else if (!s.IsNotFound()) {
        return FromRocks(s);
      }
    }
    if (options.read_only) {
      const bool current = !projector_tables[i].empty() && have && stored.version == p.version() &&
                           stored.position == last_position;
      p.Attach(rows.get(), projector_tables[i], current, StreamReaderFor());
      continue;
    }
    const bool rebuild = options.rebuild_projections || (have && stored.version != p.version());
    uint64_t from = have ? stored.position : 0;
    if (rebuild) {
      Status s = DropProjection(i);
      if (!s.ok()) return s;
      from = 0;
    }
    p.Reset();
    p.Attach(rows.get(), projector_tables[i], true, StreamReaderFor());
    if (from < last_position || rebuild) {
      Status s = CatchUp(i, from);
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
  return FromRocks(db->Delete(wo, checkpoints, options.projectors[i]->name()));
}

Status Store::Impl::CatchUp(size_t i, uint64_t from) {
  Projector& p = *options.projectors[i];
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  const uint64_t total = last_position - from;
  auto report = [&](const std::string& line) {
    if (options.progress) {
      options.progress(line);
    } else {
      fmt::print(stderr, "{}\n", line);
    }
  };

  rocksdb::WriteBatch batch;
  RocksRowBatch rows_batch(&batch, &handles);
  uint64_t flushed = from;
  uint64_t position = from;
  auto flush = [&](bool sync) {
    batch.Put(checkpoints, p.name(), keys::EncodeCheckpoint(p.version(), position));
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    rocksdb::Status s = db->Write(wo, &batch);
    batch.Clear();
    flushed = position;
    return FromRocks(s);
  };

  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, events));
  StoredEvent event;
  size_t in_batch = 0;
  bool reported = false;
  for (it->Seek(keys::EventKey(from + 1)); it->Valid(); it->Next()) {
    Status s = event.Parse(std::string_view(it->value().data(), it->value().size()));
    if (!s.ok()) return s;
    if (event.position() != position + 1) {
      return Status::Corruption(
          fmt::format("event log gap: position {} follows {}", event.position(), position));
    }
    position = event.position();
    s = p.Project(event.event(), ProjectContext{&rows_batch, flushed});
    if (!s.ok()) return s;
    if (++in_batch >= kCatchUpBatchEvents || batch.GetDataSize() >= kCatchUpBatchBytes) {
      s = flush(false);
      if (!s.ok()) return s;
      in_batch = 0;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report >= std::chrono::seconds(2)) {
        last_report = now;
        reported = true;
        report(
            fmt::format("ledger: projection '{}': {}/{} events", p.name(), position - from, total));
      }
    }
  }
  if (!it->status().ok()) return FromRocks(it->status());
  Status s = flush(true);
  if (!s.ok()) return s;
  if (reported) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report(fmt::format("ledger: projection '{}': {} events in {:.1f} s", p.name(), total, seconds));
  }
  return Status::OK();
}

}  // namespace ledger

#include "replay/verify.h"

#include <fmt/format.h>
#include <kj/exception.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "commands/evolve.h"
#include "ledger/partitioned_read.h"
#include "projections/state_codec.h"
#include "projections/view_keys.h"
#include "projections/views_check.h"

namespace replay {
namespace {

using ledger::Status;
using nlohmann::json;
namespace keys = projections::keys;

constexpr size_t kKeptProblems = 100;

uint64_t Mix(uint64_t version, uint64_t position) {
  uint64_t x = version * 0x9E3779B97F4A7C15ull ^ (position + 0x632BE59BD9B4E019ull);
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  return x ^ (x >> 29);
}

// A 64-bit digest of one index entry; per tenant the digests are summed.
uint64_t EntryHash(std::string_view key, std::string_view value) {
  return Mix(std::hash<std::string_view>{}(key), std::hash<std::string_view>{}(value));
}

// Collects problems from several threads.
class Problems {
 public:
  void Add(uint64_t position, std::string tenant, std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    list_.push_back({position, std::move(tenant), std::move(what)});
    // Keep the earliest ones (position 0 = not tied to an event: last).
    auto key = [](const VerifyProblem& p) { return p.position == 0 ? UINT64_MAX : p.position; };
    std::sort(list_.begin(), list_.end(),
              [&](const VerifyProblem& a, const VerifyProblem& b) { return key(a) < key(b); });
    if (list_.size() > kKeptProblems) list_.pop_back();
  }
  void MoveTo(VerifyReport* report) {
    report->problems = std::move(list_);
    report->problem_count = count_;
  }

 private:
  std::mutex mu_;
  std::vector<VerifyProblem> list_;
  uint64_t count_ = 0;
};

// Everything shared, read-only, by the checking threads.
struct Shared {
  const projections::ViewProjector* views = nullptr;  // nullptr: do not check views
  std::unordered_map<std::string, ledger::StreamHead> heads;
  std::unordered_map<std::string, DigestEntry> digest;
  Problems* problems = nullptr;
};

// One tenant's checks in progress.
struct TenantCheck {
  std::string tenant;
  uint64_t version = 0;
  ledger::Digest last_hash{};
  uint64_t last_position = 0;
  uint64_t index_sum = 0;  // Mix(version, position) summed: compared with the stream index
  // The event index entries its events give: count and sum of EntryHash.
  uint64_t event_index_sum = 0, event_index_count = 0;
  bool digest_seen = false;
  bool broken = false;  // the chain broke: later chain errors are consequences
  // Looked up once, at the tenant's first event.
  uint64_t head_version = 0;            // 0: no head
  const DigestEntry* digest = nullptr;  // the digest's entry for the tenant, if any
  // For the views (only while the tenant is not complete).
  commands::TenantState state;
  ledger::Micros max_effective_at = 0;
  std::map<uint64_t, std::pair<std::string, std::string>> snapshots;  // version → key, value
  bool views_done = false;
};

// Compares the folded tenant with its rows, index and snapshots; frees the fold.
void CheckViews(const Shared& shared, TenantCheck* t) {
  t->views_done = true;
  if (shared.views == nullptr || t->tenant == commands::kCatalogStream) return;
  std::string problem = projections::RowsMismatch(*shared.views, t->state);
  if (!problem.empty()) {
    shared.problems->Add(t->last_position, t->tenant, "views: " + problem);
  }
  for (const auto& [version, kv] : t->snapshots) {
    shared.problems->Add(t->last_position, t->tenant,
                         fmt::format("snapshot at version {} is beyond the stream", version));
  }
  t->state = commands::TenantState();
  t->snapshots.clear();
}

void LoadSnapshots(const Shared& shared, TenantCheck* t) {
  if (shared.views == nullptr) return;
  const std::string prefix = keys::TenantPrefix(t->tenant);
  std::unique_ptr<ledger::RowIterator> it =
      shared.views->rows().NewIterator(shared.views->table(projections::ViewProjector::kSnapshots));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != prefix.size() + 16) {
      shared.problems->Add(0, t->tenant, "snapshots: malformed key");
      continue;
    }
    const uint64_t version = keys::GetBE64(it->key().data() + prefix.size() + 8);
    t->snapshots[version] = {std::string(it->key()), std::string(it->value())};
  }
}

// Checks one event of `t`'s stream, in stream order.
void CheckEvent(const Shared& shared, TenantCheck* t, ledger::schema::Event::Reader e,
                std::string_view bytes) {
  const uint64_t position = e.getPosition();
  const uint64_t version = e.getVersion();
  Problems& problems = *shared.problems;
  if (t->version == 0 && t->tenant.empty()) {
    t->tenant = e.getTenant();
    t->state.tenant = t->tenant;
    auto head = shared.heads.find(t->tenant);
    if (head != shared.heads.end()) t->head_version = head->second.version;
    auto digest = shared.digest.find(t->tenant);
    if (digest != shared.digest.end()) t->digest = &digest->second;
    LoadSnapshots(shared, t);
  }
  if (!t->broken) {
    if (version != t->version + 1) {
      problems.Add(position, t->tenant,
                   fmt::format("version {} follows version {} (versions must be gap-free)", version,
                               t->version));
      t->broken = true;
    } else if (!e.hasPrevHash() || e.getPrevHash().size() != 32 ||
               std::memcmp(e.getPrevHash().begin(), t->last_hash.data(), 32) != 0) {
      problems.Add(position, t->tenant,
                   "prev_hash is not the previous event's hash (chain broken)");
      t->broken = true;
    }
  }
  if (!ledger::EventHashMatches(e, bytes)) {
    problems.Add(position, t->tenant, "hash does not match the event's bytes (altered event)");
  }
  // event_id must be "tenant/version" (compared without building it).
  const std::string_view event_id(e.getEventId().cStr(), e.getEventId().size());
  char digits[24];
  const auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), version);
  if (event_id.size() != t->tenant.size() + 1 + static_cast<size_t>(end - digits) ||
      event_id.compare(0, t->tenant.size(), t->tenant) != 0 || event_id[t->tenant.size()] != '/' ||
      event_id.substr(t->tenant.size() + 1) != std::string_view(digits, end - digits)) {
    problems.Add(position, t->tenant, fmt::format("event_id is not {}/{}", t->tenant, version));
  }
  if (t->last_position >= position) {
    problems.Add(position, t->tenant, "stream positions are not increasing");
  }
  t->version = version;
  t->last_position = position;
  if (e.hasHash() && e.getHash().size() == 32) {
    std::memcpy(t->last_hash.data(), e.getHash().begin(), 32);
  }
  t->index_sum += Mix(version, position);
  if (t->digest != nullptr && t->digest->version == version) {
    t->digest_seen = true;
    if (std::memcmp(t->digest->hash.data(), t->last_hash.data(), 32) != 0) {
      problems.Add(position, t->tenant,
                   fmt::format("digest: version {} has hash {}, the digest says {}", version,
                               ledger::ToHex(t->last_hash), ledger::ToHex(t->digest->hash)));
    }
  }
  if (shared.views == nullptr || t->views_done) return;
  if (t->tenant == commands::kCatalogStream) return;
  commands::Evolve(&t->state, e);
  t->max_effective_at = std::max(t->max_effective_at, e.getEffectiveAt());
  projections::ForEachIndexEntry(t->tenant, e, [t](std::string_view key, std::string_view value) {
    t->event_index_sum += EntryHash(key, value);
    ++t->event_index_count;
  });
  auto snap = t->snapshots.find(version);
  if (snap != t->snapshots.end()) {
    const std::string key = keys::SnapshotKey(t->tenant, t->max_effective_at, version);
    if (snap->second.first != key ||
        snap->second.second != projections::EncodeSnapshot(t->state, t->max_effective_at)) {
      problems.Add(position, t->tenant,
                   fmt::format("snapshot at version {} differs from a fresh fold", version));
    }
    t->snapshots.erase(snap);
  }
  if (t->head_version == version) CheckViews(shared, t);
}

// After the pass: heads, stream index and digest against what the pass saw.
// Per tenant: the sum of Mix(version, position) and the count of its stream index entries.
using IndexSums = std::unordered_map<std::string, std::pair<uint64_t, uint64_t>>;

Status SumStreamIndex(const ledger::Store& store, const std::optional<std::string>& only,
                      IndexSums* index) {
  return store.ScanStreamIndex([&](std::string_view tenant, uint64_t version, uint64_t position) {
    if (only && tenant != *only) return true;
    auto& [sum, count] = (*index)[std::string(tenant)];
    sum += Mix(version, position);
    ++count;
    return true;
  });
}

// Per tenant: the sum of EntryHash and the count of its event index entries, from one
// sequential scan of the index (keys start with "tenant\0").
Status SumEventIndex(const projections::ViewProjector& views,
                     const std::optional<std::string>& only, IndexSums* sums) {
  ledger::RowReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_bytes = 2 << 20;
  std::unique_ptr<ledger::RowIterator> it =
      views.rows().NewIterator(views.table(projections::ViewProjector::kIndex), ro);
  const std::string prefix = only ? keys::TenantPrefix(*only) : std::string();
  std::string current;
  std::pair<uint64_t, uint64_t>* entry = nullptr;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view key = it->key();
    const std::string_view tenant = key.substr(0, key.find('\0'));
    if (entry == nullptr || tenant != current) {
      current.assign(tenant);
      entry = &(*sums)[current];
    }
    entry->first += EntryHash(key, it->value());
    ++entry->second;
  }
  return it->status();
}

// Names the first entry where `tenant`'s event index and its events disagree.
void ReportIndexDifference(const ledger::Store& store, const projections::ViewProjector& views,
                           const std::string& tenant, uint64_t last_position, Problems* problems) {
  std::map<std::string, std::string> expected;
  auto c = store.ReadStream(tenant);
  for (; c->Valid(); c->Next()) {
    projections::ForEachIndexEntry(tenant, c->event().event(),
                                   [&](std::string_view k, std::string_view v) {
                                     expected.emplace(std::string(k), std::string(v));
                                   });
  }
  uint64_t bad = 0;
  const std::string problem = projections::IndexMismatch(views, tenant, expected, &bad);
  if (!problem.empty()) {
    problems->Add(bad, tenant, "index: " + problem);
  } else {
    problems->Add(last_position, tenant, "index: changed while being verified");
  }
}

Status CheckTotals(const ledger::Store& store, const Shared& shared,
                   std::unordered_map<std::string, TenantCheck>& tenants, const IndexSums& index,
                   const IndexSums* event_index) {
  Problems& problems = *shared.problems;
  for (auto& [id, t] : tenants) {
    auto h = shared.heads.find(id);
    if (h == shared.heads.end()) {
      problems.Add(t.last_position, id, "the tenant has events but no head");
    } else if (h->second.version != t.version || h->second.position != t.last_position ||
               h->second.hash != t.last_hash) {
      problems.Add(t.last_position, id,
                   fmt::format("head (version {}, position {}) disagrees with the stream's last "
                               "event (version {}, position {})",
                               h->second.version, h->second.position, t.version, t.last_position));
    }
    if (!t.views_done) CheckViews(shared, &t);
  }
  for (const auto& [id, head] : shared.heads) {
    if (tenants.count(id) == 0) {
      problems.Add(head.position, id, "the head names events the log does not have");
    }
  }
  for (const auto& [id, entry] : shared.digest) {
    auto t = tenants.find(id);
    if (t == tenants.end() || !t->second.digest_seen) {
      problems.Add(
          0, id,
          fmt::format("digest: version {} of the tenant is not in the history", entry.version));
    }
  }
  // The stream index: the same (version, position) pairs per tenant as the log.
  for (const auto& [id, t] : tenants) {
    auto it = index.find(id);
    if (it == index.end() || it->second.first != t.index_sum || it->second.second != t.version) {
      problems.Add(t.last_position, id, "the stream index disagrees with the log");
    }
  }
  for (const auto& [id, sums] : index) {
    if (tenants.count(id) == 0) problems.Add(0, id, "the stream index names an unknown stream");
  }
  // The event index: exactly the entries the tenants' events give.
  if (event_index != nullptr) {
    static const std::pair<uint64_t, uint64_t> kNone{0, 0};
    for (const auto& [id, t] : tenants) {
      if (id == commands::kCatalogStream) continue;
      auto it = event_index->find(id);
      const auto& sums = it == event_index->end() ? kNone : it->second;
      if (sums.first != t.event_index_sum || sums.second != t.event_index_count) {
        ReportIndexDifference(store, *shared.views, id, t.last_position, &problems);
      }
    }
    for (const auto& [id, sums] : *event_index) {
      if (tenants.count(id) == 0) problems.Add(0, id, "index: entries of an unknown stream");
    }
  }
  return Status::OK();
}

}  // namespace

json VerifyReport::ToJson() const {
  json list = json::array();
  for (const auto& p : problems) {
    list.push_back({{"position", p.position == 0 ? json(nullptr) : json(p.position)},
                    {"tenant", p.tenant},
                    {"what", p.what}});
  }
  json j = {{"ok", ok()},
            {"events", events},
            {"tenants", tenants},
            {"views_checked", views_checked},
            {"problem_count", problem_count},
            {"problems", list},
            {"seconds", seconds}};
  if (!views_note.empty()) j["views_note"] = views_note;
  return j;
}

Status Verify(const ledger::Store& store, const projections::ViewProjector& views,
              const VerifyOptions& options, VerifyReport* report) {
  const auto start = std::chrono::steady_clock::now();
  *report = VerifyReport();
  Problems problems;
  Shared shared;
  shared.problems = &problems;
  if (options.check_views) {
    if (views.current()) {
      shared.views = &views;
      report->views_checked = true;
    } else {
      report->views_note =
          "the views are not current (never built, or built by another version): not checked; "
          "`ledger-replay rebuild` rebuilds them";
    }
  }
  Status s = store.ForEachHead([&](std::string_view tenant, const ledger::StreamHead& head) {
    if (!options.tenant || tenant == *options.tenant) shared.heads.emplace(tenant, head);
    return true;
  });
  if (!s.ok()) return s;
  for (const auto& d : options.digest) {
    if (!options.tenant || d.tenant == *options.tenant) shared.digest[d.tenant] = d;
  }

  // The stream index is summed on its own thread while the log is read.
  IndexSums index, event_index;
  Status index_status;
  std::thread index_scan([&] {
    index_status = SumStreamIndex(store, options.tenant, &index);
    if (index_status.ok() && shared.views != nullptr) {
      index_status = SumEventIndex(*shared.views, options.tenant, &event_index);
    }
  });
  struct JoinOnExit {
    std::thread& thread;
    ~JoinOnExit() {
      if (thread.joinable()) thread.join();
    }
  } join_on_exit{index_scan};
  std::unordered_map<std::string, TenantCheck> all;
  // A log that cannot be read to its end leaves every later comparison meaningless.
  bool read_failed = false;
  if (options.tenant) {
    TenantCheck& t = all[*options.tenant];
    auto c = store.ReadStream(*options.tenant);
    for (; c->Valid(); c->Next()) {
      try {
        CheckEvent(shared, &t, c->event().event(), c->event().bytes());
      } catch (const kj::Exception& x) {
        problems.Add(c->event().position(), *options.tenant,
                     fmt::format("undecodable event: {}", x.getDescription().cStr()));
        t.broken = true;
      }
      ++report->events;
    }
    if (!c->status().ok()) {
      if (c->status().code() != ledger::Status::Code::kCorruption) return c->status();
      problems.Add(t.last_position + 1, *options.tenant, c->status().ToString());
      read_failed = true;
    }
    if (t.version == 0) all.clear();
  } else {
    ledger::PartitionedReadOptions read;
    read.partitions = std::max(1, options.threads);
    // One per folding thread; events of one tenant tend to come in runs.
    struct Part {
      std::unordered_map<std::string, TenantCheck> tenants;
      TenantCheck* current = nullptr;
      std::string current_id;
    };
    std::vector<Part> parts(static_cast<size_t>(read.partitions));
    std::vector<uint64_t> counts(static_cast<size_t>(read.partitions), 0);
    uint64_t bad_position = 0;
    s = ledger::ReadLogPartitioned(
        store, read,
        [&](int k, ledger::schema::Event::Reader e, std::string_view bytes) {
          Part& part = parts[static_cast<size_t>(k)];
          const auto id = e.getTenant();
          const std::string_view tenant(id.cStr(), id.size());
          if (part.current == nullptr || part.current_id != tenant) {
            part.current_id.assign(tenant);
            part.current = &part.tenants[part.current_id];
          }
          try {
            CheckEvent(shared, part.current, e, bytes);
          } catch (const kj::Exception& x) {
            // A field Cap'n Proto cannot read (a damaged event): a problem, not a crash.
            problems.Add(e.getPosition(), part.current_id,
                         fmt::format("undecodable event: {}", x.getDescription().cStr()));
            part.current->broken = true;
          }
          ++counts[static_cast<size_t>(k)];
          return Status::OK();
        },
        &bad_position);
    if (!s.ok()) {
      if (bad_position == 0) return s;
      problems.Add(bad_position, "", s.message());
      read_failed = true;
    }
    for (size_t k = 0; k < parts.size(); ++k) {
      report->events += counts[k];
      for (auto& [id, t] : parts[k].tenants) all.emplace(id, std::move(t));
    }
  }
  report->tenants = all.size();
  index_scan.join();
  if (!index_status.ok()) return index_status;
  if (!read_failed) {
    s = CheckTotals(store, shared, all, index, shared.views != nullptr ? &event_index : nullptr);
    if (!s.ok()) return s;
  }
  problems.MoveTo(report);
  report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::OK();
}

}  // namespace replay

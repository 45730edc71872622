// A store on an upstream log with a placement (StoreOptions::upstream_placement): this
// node writes some partitions and follows the others. Every follow interval, with the
// syncer idle, the builder takes the partitions the placement gives it (when their lease
// is free), gives up those it no longer gives, and applies what the other writers added.
// Pulls and this node's groups write disjoint keys (tenants live in one partition, and
// projection checkpoints are per partition); they never run at the same time anyway.
#include <fmt/format.h>

#include "ledger/log_partitions.h"
#include "store_impl.h"

namespace ledger {

Status Store::Impl::AcquirePlaced(bool again, std::vector<UpstreamState>* states, bool* taken) {
  *taken = false;
  const std::vector<bool> wanted = options.upstream_placement();
  Status s = ReadAllStates(states);
  if (!s.ok()) return s;
  std::string self;
  {
    std::lock_guard<std::mutex> lock(writer_name_mu);
    for (uint32_t p = 0; p < partitions && self.empty(); ++p) {
      if (owned[p]) self = partition_writers[p];
    }
  }
  for (uint32_t p = 0; p < partitions; ++p) {
    const bool want = p < wanted.size() && wanted[p];
    UpstreamState& state = (*states)[p];
    if (owned[p] && !self.empty() && state.writer != self) owned[p] = false;  // taken from it
    if (owned[p] && !want) {
      options.upstream->Release(p);
      owned[p] = false;
      std::lock_guard<std::mutex> lock(writer_name_mu);
      partition_writers[p].clear();  // ownerless until its new writer takes it
      state.writer.clear();
      continue;
    }
    if (!want || (owned[p] && !again)) continue;
    UpstreamState mine;
    Status a = options.upstream->Acquire(p, &mine);
    if (a.ok()) {
      state = mine;
      owned[p] = true;
      *taken = true;
    } else if (a.IsUnavailable()) {
      owned[p] = false;  // another node holds it; it may let go at its next step
    } else {
      return a;
    }
  }
  return Status::OK();
}

Status Store::Impl::PullPlaced(const std::vector<UpstreamState>& states, bool taken) {
  const auto now = std::chrono::steady_clock::now();
  const bool full = taken || now - last_full_pull_ >= kFullPullInterval;
  if (full) last_full_pull_ = now;
  bool pulled = false;
  for (const UpstreamState& state : states) {
    const uint32_t p = state.partition;
    // A partition this node writes is in its copy already; one it just took (or took
    // again after a refused group) may have grown under another writer.
    const bool moved =
        state.last_position > durable_last[p].load() || state.last_rejection > rejection_seqs_[p];
    if (owned[p] ? !taken : !(full || moved)) continue;
    Status s = PullUpstream(state);
    if (!s.ok()) return s;
    pulled = true;
  }
  if (taken) {
    Status s = ReloadWriterState();
    if (!s.ok()) return s;
  }
  if (pulled) {
    Status s = CatchUpProjections();
    if (!s.ok()) return s;
  }
  NoteUpstreamSeen(states);
  return Status::OK();
}

void Store::Impl::PlacementStep(std::unique_lock<std::mutex>& lock) {
  // Nothing may be in the syncer's hands while partitions change hands.
  builder_cv_.wait(lock, [this] { return ready_ == nullptr && !syncer_busy_; });
  pull_now_ = false;  // this step pulls
  lock.unlock();
  std::vector<UpstreamState> states;
  bool taken = false;
  Status s = AcquirePlaced(/*again=*/false, &states, &taken);
  if (s.ok()) s = PullPlaced(states, taken);
  if (!s.ok() && taken) {
    // A partition taken but not caught up must not be written: let it go again.
    for (uint32_t p = 0; p < partitions; ++p) {
      if (owned[p] && states[p].last_position > durable_last[p].load()) {
        options.upstream->Release(p);
        owned[p] = false;
      }
    }
  }
  bool any = false;
  for (uint32_t p = 0; p < partitions; ++p) any = any || owned[p];
  lock.lock();
  writes_upstream = any;
  follows = !any;
  if (s.ok() && taken) stat_takeovers += 1;
  next_placement_ = std::chrono::steady_clock::now() + options.follow_interval;
  applied_cv_.notify_all();
}

Status Store::Impl::PullPartitionNow(uint32_t p) {
  if (!Placed() || p >= partitions || owned[p]) return Status::OK();
  {
    // The log's connection is the syncer's while it commits.
    std::unique_lock<std::mutex> lock(mu_);
    builder_cv_.wait(lock, [this] { return ready_ == nullptr && !syncer_busy_; });
  }
  UpstreamState state;
  Status s = options.upstream->ReadState(p, &state);
  if (!s.ok() || state.last_position <= durable_last[p].load()) return s;
  s = PullUpstream(state);
  if (s.ok()) s = CatchUpProjections();
  return s;
}

void Store::Impl::RefuseUnowned(std::vector<std::unique_ptr<QueuedWrite>>* writes) {
  for (auto& w : *writes) {
    const std::string& tenant = w->rejection ? w->rejection->tenant : w->request.tenant;
    const uint32_t p = LogPartitionOf(tenant, partitions);
    std::string writer;
    {
      std::lock_guard<std::mutex> lock(writer_name_mu);
      writer = partition_writers[p];
    }
    const Status s = Status::Unavailable(
        writer.empty()
            ? fmt::format("{} {} of tenant '{}' and no node does at the moment; retry shortly",
                          kNotThisNodesPartition, p, tenant)
            : fmt::format("{} {} of tenant '{}': node '{}' does; send the command there, or retry",
                          kNotThisNodesPartition, p, tenant, writer));
    w->done(s, w->result);
  }
  writes->clear();
}

}  // namespace ledger

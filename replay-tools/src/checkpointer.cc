#include "replay/checkpointer.h"

#include <fmt/format.h>

#include <cstdio>
#include <vector>

#include "commands/state.h"
#include "replay/digest.h"

namespace replay {
namespace {
// How often heads are looked at (the every_events rule's delay at most).
constexpr std::chrono::seconds kPoll{1};
}  // namespace

Checkpointer::Checkpointer(const ledger::Store* store, Checkpoints* checkpoints,
                           CheckpointerOptions options)
    : store_(store),
      checkpoints_(checkpoints),
      options_(options),
      thread_(kPoll, [this] { Poll(); }) {}

Checkpointer::~Checkpointer() = default;

uint64_t Checkpointer::signed_count() const { return signed_.load(); }

void Checkpointer::Poll() {
  const auto now = std::chrono::steady_clock::now();
  const bool timed = now - last_timed_ >= options_.every;
  if (timed) last_timed_ = now;
  Round(timed);
}

void Checkpointer::Round(bool timed) {
  if (!store_->WriteHealth().ok()) return;  // another node writes (and signs) the log
  std::vector<DigestEntry> heads;
  if (!CollectDigest(*store_, std::nullopt, &heads).ok()) return;
  for (const DigestEntry& head : heads) {
    if (head.tenant == commands::kCatalogStream) continue;
    if (!store_->WritesTenant(head.tenant)) continue;  // its partition's writer signs it
    auto [it, inserted] = kept_.try_emplace(head.tenant, 0);
    if (inserted) it->second = checkpoints_->LatestVersion(head.tenant);
    if (head.version <= it->second) continue;
    if (!timed && head.version - it->second < options_.every_events) continue;
    std::string note;
    uint64_t version = 0;
    const ledger::Status s = checkpoints_->Take(*store_, head.tenant, &note, &version);
    if (!s.ok()) {
      fmt::print(stderr, "ledgerd: cannot sign a checkpoint of '{}': {}\n", head.tenant,
                 s.ToString());
      continue;
    }
    it->second = version;
    signed_ += 1;
  }
}

}  // namespace replay

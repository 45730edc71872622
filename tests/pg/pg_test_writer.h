// A minimal writer for PgLog tests: builds groups of one-event commands with real
// canonical events (hash-chained per tenant, as GroupBuilder encodes them) on top of the
// state it holds, and moves that state only when told the group committed.
// Not thread-safe.
#pragma once

#include <fmt/format.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ledger/event.h"
#include "ledger/pg_log.h"

namespace ledger::testing {

// The first `n` tenant ids ("t0", "t1", ...) that hash to `partition`.
inline std::vector<std::string> TenantsOf(uint32_t partition, uint32_t partitions, size_t n) {
  std::vector<std::string> out;
  for (int i = 0; out.size() < n; ++i) {
    std::string t = "t" + std::to_string(i);
    if (LogPartitionOf(t, partitions) == partition) out.push_back(std::move(t));
  }
  return out;
}

class TestWriter {
 public:
  explicit TestWriter(uint32_t partition)
      : partition_(partition),
        last_position_(PartitionBase(partition)),
        last_rejection_(PartitionBase(partition)) {}

  // A group appending one member_invited event per (tenant, command id), in order.
  PgGroup Group(const std::vector<std::pair<std::string, std::string>>& commands,
                Micros now = 1'700'000'000'000'000) const {
    PgGroup g;
    g.ledger_time = now;
    uint64_t position = last_position_;
    std::map<std::string, StreamHead> heads = heads_;
    for (const auto& [tenant, id] : commands) {
      StreamHead& head = heads[tenant];
      EventDraft d;
      auto m = d.payload().initMemberInvited();
      m.setUser("u-" + id);
      m.setEmail(id + "@example.com");
      schema::Event::Builder e = d.root();
      e.setPosition(++position);
      e.setTenant(tenant);
      e.setVersion(++head.version);
      e.setEventId(fmt::format("{}/{}", tenant, head.version));
      e.setCommandId(id);
      e.setActor("alice");
      e.setRecordedAt(now);
      e.setEffectiveAt(now);
      e.setSchemaVersion(kEventSchemaVersion);
      e.setPrevHash(capnp::Data::Reader(head.hash.data(), head.hash.size()));
      Digest hash{};
      std::string bytes = EncodeCanonicalEvent(e, &hash);
      head.hash = hash;
      head.position = position;
      g.events.push_back(PgEvent{position, tenant, head.version, std::move(bytes)});
      PgCommandRecord c{tenant, id, Sha256(id), {}};
      c.result.kind = AppendResult::Kind::kAccepted;
      c.result.command_id = id;
      c.result.version = head.version;
      c.result.position = position;
      c.result.recorded_at = now;
      c.result.events.push_back(AppendedEvent{position, head.version, "member_invited"});
      g.commands.push_back(std::move(c));
      g.heads.push_back(PgHead{tenant, head});
    }
    return g;
  }

  // Records that `g` committed.
  void Committed(const PgGroup& g) {
    last_position_ += g.events.size();
    for (const PgHead& h : g.heads) heads_[h.tenant] = h.head;
    if (!g.rejections.empty()) last_rejection_ = g.rejections.back().sequence;
  }

  uint32_t partition() const { return partition_; }
  uint64_t last_position() const { return last_position_; }
  uint64_t last_rejection() const { return last_rejection_; }

 private:
  const uint32_t partition_;
  uint64_t last_position_;
  uint64_t last_rejection_;
  std::map<std::string, StreamHead> heads_;
};

}  // namespace ledger::testing

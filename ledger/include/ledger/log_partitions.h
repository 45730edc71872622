// Partitions of the log (DESIGN section 7). A log on PostgreSQL is split into a fixed
// number of partitions; every tenant lives in exactly one (LogPartitionOf), and each
// partition has its own gap-free run of positions with one writer at a time.
//
// A position names its partition: position = (partition << kPartitionShift) | n, where n
// counts the partition's events from 1. Positions are therefore unique across the whole
// log (causation, results and the local store's keys need no partition beside them), they
// sort partition-major, and the embedded store — the one-partition log — keeps positions
// 1, 2, 3... exactly as before. They stay below 2^53, so JSON readers keep them exact.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ledger {

// Bits of a position that count within its partition.
inline constexpr int kPartitionShift = 48;
// Partitions a log may have (positions stay below 2^53).
inline constexpr uint32_t kMaxLogPartitions = 32;

// The partition a position belongs to.
inline uint32_t PartitionOfPosition(uint64_t position) {
  return static_cast<uint32_t>(position >> kPartitionShift);
}

// The position before partition `partition`'s first event (its "empty" last position).
inline uint64_t PartitionBase(uint32_t partition) {
  return static_cast<uint64_t>(partition) << kPartitionShift;
}

// The number of `position` within its partition (1 for the partition's first event).
inline uint64_t PositionInPartition(uint64_t position) {
  return position & ((uint64_t{1} << kPartitionShift) - 1);
}

// The partition of `tenant` among `partitions`: the first 8 bytes of SHA-256(tenant) read
// big-endian, modulo `partitions`. Fixed forever: logs are laid out by it.
// REQUIRES: partitions > 0.
uint32_t LogPartitionOf(std::string_view tenant, uint32_t partitions);

// Which of `partitions` partitions node `self` should write when `nodes` are live
// (rendezvous hashing: each partition goes to the node with the highest SHA-256 score of
// node name and partition, so every node computes the same answer from the same list,
// and a node joining or leaving moves only the partitions it gains or loses). `self`
// counts as live whether or not `nodes` names it. Index p of the result: p goes to self.
std::vector<bool> PartitionsPlacedOn(std::string_view self, const std::vector<std::string>& nodes,
                                     uint32_t partitions);

}  // namespace ledger

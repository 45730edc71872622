#include "ledger/log_partitions.h"

#include <string>
#include <vector>

#include "ledger/coding.h"
#include "ledger/sha256.h"

namespace ledger {

uint32_t LogPartitionOf(std::string_view tenant, uint32_t partitions) {
  if (partitions <= 1) return 0;
  const Digest d = Sha256(tenant);
  return static_cast<uint32_t>(coding::DecodeFixed64(reinterpret_cast<const char*>(d.data())) %
                               partitions);
}

namespace {

uint64_t PlacementScore(std::string_view node, uint32_t partition) {
  std::string p;
  coding::PutFixed32(&p, partition);
  const Digest d = Sha256(node, p);
  return coding::DecodeFixed64(reinterpret_cast<const char*>(d.data()));
}

}  // namespace

std::vector<bool> PartitionsPlacedOn(std::string_view self, const std::vector<std::string>& nodes,
                                     uint32_t partitions) {
  std::vector<bool> mine(partitions, false);
  for (uint32_t p = 0; p < partitions; ++p) {
    const uint64_t own = PlacementScore(self, p);
    bool best = true;
    for (const std::string& node : nodes) {
      if (node == self) continue;
      const uint64_t other = PlacementScore(node, p);
      // Ties (never in practice) go to the smaller name, so that exactly one node wins.
      if (other > own || (other == own && node < self)) best = false;
    }
    mine[p] = best;
  }
  return mine;
}

}  // namespace ledger

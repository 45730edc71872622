#include "ledger/log_partitions.h"

#include "ledger/coding.h"
#include "ledger/sha256.h"

namespace ledger {

uint32_t LogPartitionOf(std::string_view tenant, uint32_t partitions) {
  if (partitions <= 1) return 0;
  const Digest d = Sha256(tenant);
  return static_cast<uint32_t>(coding::DecodeFixed64(reinterpret_cast<const char*>(d.data())) %
                               partitions);
}

}  // namespace ledger

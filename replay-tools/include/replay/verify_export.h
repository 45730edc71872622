// `ledger-replay verify --export FILE --key PEM [--since NOTE]`: the checks of
// tools/verify_export.py (docs/VERIFYING.md step 4) done by the ledger's own decoder, so
// both implementations are held to the same tamper fixtures.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>

#include "ledger/status.h"
#include "replay/signing.h"

namespace replay {

// What a verified export holds.
struct ExportProof {
  std::string tenant;
  uint64_t events = 0;
  uint64_t first_version = 0;
  uint64_t last_version = 0;
  uint64_t checkpoint_version = 0;  // of the signed checkpoint it carries
  uint64_t since_version = 0;       // of the older checkpoint, 0 without one
};

// Reads a tenant's audit export (a manifest line, then one line per event) and checks
// every event's bytes, hash and chain, the gap-free versions, the manifest's count and
// head, the checkpoint it carries (signed by `key`, its hash at its version) and, given
// `since_note`, that the history still holds that older checkpoint's hash.
// Corruption naming the first problem (the first bad event's version) when it fails.
ledger::Status VerifyExport(std::istream& in, const PublicKeyBytes& key,
                            const std::optional<std::string>& since_note, ExportProof* proof);

}  // namespace replay

// ledger-replay digest: each tenant's stream head (version, hash) for an auditor to keep;
// `verify --digest FILE` later proves the history up to those heads is unchanged.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/store.h"

namespace replay {

// One tenant's head as recorded in a digest.
struct DigestEntry {
  std::string tenant;
  uint64_t version = 0;
  ledger::Digest hash{};
};

// Every tenant's head (or only `tenant`'s), in tenant order.
ledger::Status CollectDigest(const ledger::Store& store, const std::optional<std::string>& tenant,
                             std::vector<DigestEntry>* entries);

// {"ledger_position", "tenants": [{"tenant","version","hash"}]} — the file format.
nlohmann::json DigestJson(const std::vector<DigestEntry>& entries, uint64_t ledger_position);

// Parses a digest file's text. InvalidArgument naming the problem.
ledger::Status ParseDigest(const std::string& text, std::vector<DigestEntry>* entries);

}  // namespace replay

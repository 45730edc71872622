// Signed checkpoints the ledger keeps (issue 21, docs/VERIFYING.md): every note it signs
// of a tenant's head, one file each, never rewritten. The key and the notes live in one
// directory: <dir>/signing.key and <dir>/checkpoints/<hex of tenant>/<version>.note.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ledger/store.h"
#include "replay/signing.h"

namespace replay {

// The key and kept notes of one ledger.
class Checkpoints {
 public:
  // Opens the key at `key_path` (made there if missing and `create`); notes are kept in
  // "checkpoints" beside it.
  static ledger::Status Open(const std::string& key_path, bool create,
                             std::unique_ptr<Checkpoints>* out);

  const SigningKey& key() const { return *key_; }

  // Signs `tenant`'s current head and keeps the note (a head already signed keeps its
  // first note). *note and *version get it. NotFound if the tenant has no events.
  ledger::Status Take(const ledger::Store& store, const std::string& tenant, std::string* note,
                      uint64_t* version);
  // The kept note of `tenant` at `version`, or its latest (version 0). NotFound if none.
  ledger::Status Find(const std::string& tenant, uint64_t version, std::string* note) const;
  // The version of `tenant`'s latest kept note at or before `at_most`; 0 if none.
  uint64_t LatestVersion(const std::string& tenant, uint64_t at_most = UINT64_MAX) const;

 private:
  Checkpoints(std::unique_ptr<SigningKey> key, std::string dir);
  std::string TenantDir(const std::string& tenant) const;

  std::unique_ptr<SigningKey> key_;
  const std::string dir_;
};

}  // namespace replay

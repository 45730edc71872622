// The ledger's Ed25519 key (OpenSSL) and the signed checkpoints it makes of a tenant's
// stream: notes in the signed-note format of transparency logs (C2SP signed-note,
// tlog-checkpoint), so an auditor can check them with any Ed25519 library and the public
// key they pinned out of band. docs/VERIFYING.md is the written format.
//
//   <origin>                  ledger-<16 hex of SHA-256(public key)>/<tenant>
//   <version>                 the tenant stream's version, decimal
//   <head hash, base64>       the hash of the event at that version
//   (empty line)
//   — <key name> <base64(key id (4 bytes) || Ed25519 signature (64 bytes))>
//
// The signature covers the note's text up to and including the newline before the empty
// line. The key id is the first 4 bytes of SHA-256(key name || "\n" || 0x01 || public key).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/sha256.h"
#include "ledger/status.h"

namespace replay {

// A raw Ed25519 public key.
using PublicKeyBytes = std::array<uint8_t, 32>;

// The ledger's private key: signs checkpoints. Holds an OpenSSL EVP_PKEY.
class SigningKey {
 public:
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  // Reads the PEM (PKCS #8) private key at `path`; with `create`, makes a new one there
  // first (mode 0600, never overwriting one a concurrent caller made). NotFound if there
  // is none and !create; InvalidArgument if the file is not an Ed25519 private key.
  static ledger::Status Load(const std::string& path, bool create,
                             std::unique_ptr<SigningKey>* key);

  // The public key as PEM (SubjectPublicKeyInfo): what `ledger-replay pubkey` prints and
  // an auditor pins.
  std::string PublicKeyPem() const;
  const PublicKeyBytes& public_key() const { return public_key_; }
  // The name in signature lines and origins: "ledger-" + 16 hex of SHA-256(public key).
  const std::string& name() const { return name_; }

  // Ed25519 signature (64 bytes) of `message`.
  std::string Sign(std::string_view message) const;

 private:
  struct Pkey;
  explicit SigningKey(std::unique_ptr<Pkey> pkey);
  std::unique_ptr<Pkey> pkey_;
  PublicKeyBytes public_key_{};
  std::string name_;
};

// A tenant's signed head: at `version` its stream's hash is `hash`.
struct TenantCheckpoint {
  std::string origin;  // "<key name>/<tenant>"
  std::string tenant;
  uint64_t version = 0;
  ledger::Digest hash{};
};

// The key name a public key gets (see SigningKey::name).
std::string KeyNameOf(const PublicKeyBytes& key);

// The note's text, signed by `key`. The origin is "<key name>/<tenant>".
std::string SignCheckpoint(const SigningKey& key, std::string_view tenant, uint64_t version,
                           const ledger::Digest& hash);

// Parses a PEM Ed25519 public key. InvalidArgument naming the problem.
ledger::Status ParsePublicKeyPem(std::string_view pem, PublicKeyBytes* key);

// Checks a note's form and its signature by `key`, then reads it. InvalidArgument naming
// the problem (not a checkpoint, no signature by this key, a bad signature).
ledger::Status OpenCheckpoint(std::string_view note, const PublicKeyBytes& key,
                              TenantCheckpoint* checkpoint);

// Standard base64 (with padding) of `bytes`, and back (false on bad input).
std::string Base64(std::string_view bytes);
bool FromBase64(std::string_view text, std::string* bytes);

}  // namespace replay

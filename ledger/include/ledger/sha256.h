// SHA-256 (OpenSSL) for the hash chain and for request hashes (idempotency).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace ledger {

// A SHA-256 digest. All zeros is the prev_hash of a stream's first event.
using Digest = std::array<uint8_t, 32>;

// SHA-256 of the concatenation of `a` and `b`.
Digest Sha256(std::string_view a, std::string_view b = {});

// SHA-256 of the concatenation of `parts`.
Digest Sha256Parts(std::initializer_list<std::string_view> parts);

// Lowercase hex, 64 characters.
std::string ToHex(const Digest& d);

// Parses 64 hex characters; false on anything else.
bool FromHex(std::string_view hex, Digest* out);

// The digest's bytes as a string_view (for hashing chains and keys).
inline std::string_view AsBytes(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace ledger

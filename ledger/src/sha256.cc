#include "ledger/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

namespace ledger {
namespace {

struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// One reusable digest context per thread: allocation dominates small hashes otherwise.
EVP_MD_CTX* ThreadContext() {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

// SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up (under a
// read-write lock) on every EVP_DigestInit_ex, which showed in profiles of bulk hashing.
const EVP_MD* Sha256Md() {
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Digest Sha256Parts(std::initializer_list<std::string_view> parts) {
  EVP_MD_CTX* ctx = ThreadContext();
  Digest out{};
  unsigned int len = 0;
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, Sha256Md(), nullptr) != 1) std::abort();
  for (const std::string_view part : parts) {
    if (EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) std::abort();
  }
  if (EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != out.size()) std::abort();
  return out;
}

Digest Sha256(std::string_view a, std::string_view b) {
  EVP_MD_CTX* ctx = ThreadContext();
  Digest out{};
  unsigned int len = 0;
  // These cannot fail for SHA-256 with a valid context; a failure is a broken OpenSSL.
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx, b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != out.size()) {
    std::abort();
  }
  return out;
}

std::string ToHex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = kHex[d[i] >> 4];
    out[2 * i + 1] = kHex[d[i] & 15];
  }
  return out;
}

bool FromHex(std::string_view hex, Digest* out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

}  // namespace ledger

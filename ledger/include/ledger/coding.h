// The one fixed-width integer coding of every key and value the ledger and its
// projections store (leveldb's util/coding.h, explicit-endian). Big-endian, so that the
// bytewise order of keys is the numeric order. Nothing stored is written host-endian.
// Stateless functions: thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ledger::coding {

// Appends `v` as 4 big-endian bytes.
inline void PutFixed32(std::string* out, uint32_t v) {
  char buf[4];
  for (int i = 3; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(buf, 4);
}

// Appends `v` as 8 big-endian bytes.
inline void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(buf, 8);
}

// Appends a signed `v` (time in microseconds) as its two's-complement bits, 8 bytes.
inline void PutFixed64Signed(std::string* out, int64_t v) {
  PutFixed64(out, static_cast<uint64_t>(v));
}

// Reads 4 big-endian bytes. REQUIRES: 4 readable bytes at `p`.
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Reads 8 big-endian bytes. REQUIRES: 8 readable bytes at `p`.
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// `v` as 8 big-endian bytes.
inline std::string Fixed64(uint64_t v) {
  std::string s;
  PutFixed64(&s, v);
  return s;
}

// Consumes 4 bytes of `*in` into `*v`; false (and `*in` untouched) if fewer remain.
inline bool GetFixed32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = DecodeFixed32(in->data());
  in->remove_prefix(4);
  return true;
}

// Consumes 8 bytes of `*in` into `*v`; false (and `*in` untouched) if fewer remain.
inline bool GetFixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeFixed64(in->data());
  in->remove_prefix(8);
  return true;
}

// Consumes 8 bytes of `*in` as a signed value (see PutFixed64Signed).
inline bool GetFixed64Signed(std::string_view* in, int64_t* v) {
  uint64_t u = 0;
  if (!GetFixed64(in, &u)) return false;
  *v = static_cast<int64_t>(u);
  return true;
}

// Appends a string as its 4-byte length then its bytes.
inline void PutLengthPrefixed(std::string* out, std::string_view s) {
  PutFixed32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Consumes a string written by PutLengthPrefixed; false if `*in` is too short.
inline bool GetLengthPrefixed(std::string_view* in, std::string* s) {
  std::string_view rest = *in;
  uint32_t n = 0;
  if (!GetFixed32(&rest, &n) || rest.size() < n) return false;
  s->assign(rest.data(), n);
  rest.remove_prefix(n);
  *in = rest;
  return true;
}

}  // namespace ledger::coding

// Key and value encodings of the ledger's RocksDB column families (internal).
//
//   meta        "format" | "clock_mode" | "ledger_time" | "partitions" → value
//               "rejection_seq" (partition 0) | "rejection_seq/<p>"   → BE64(sequence)
//   events      BE64(position)                      → canonical event bytes
//   streams     tenant \0 BE64(version)             → BE64(position)
//   commands    tenant \0 command_id                → CommandRecord
//   heads       tenant                              → BE64(version) BE64(position) hash[32]
//   rejections  tenant \0 BE64(sequence)            → Rejection (Cap'n Proto)
//   checkpoints projector name ["/" partition]      → BE32(version) BE64(position)
//               (one key per partition a projector folded; partition 0: the bare name)
//
// Integers are big-endian (ledger/coding.h), so RocksDB's bytewise order is the numeric
// order. Tenant ids never
// contain \0 (DESIGN section 3 charset), so the separator is unambiguous.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/coding.h"

namespace ledger::keys {

inline constexpr char kMetaFormat[] = "format";
inline constexpr char kMetaClockMode[] = "clock_mode";
inline constexpr char kMetaLedgerTime[] = "ledger_time";
inline constexpr char kMetaRejectionSeq[] = "rejection_seq";
inline constexpr char kMetaPartitions[] = "partitions";
inline constexpr char kFormatVersion[] = "1";

inline void PutBE64(std::string* out, uint64_t v) { coding::PutFixed64(out, v); }
inline uint64_t GetBE64(const char* p) { return coding::DecodeFixed64(p); }
inline std::string BE64(uint64_t v) { return coding::Fixed64(v); }

inline std::string EventKey(uint64_t position) { return BE64(position); }

inline std::string StreamPrefix(std::string_view tenant) {
  std::string k(tenant);
  k.push_back('\0');
  return k;
}

inline std::string StreamKey(std::string_view tenant, uint64_t version) {
  std::string k = StreamPrefix(tenant);
  PutBE64(&k, version);
  return k;
}

inline std::string CommandKey(std::string_view tenant, std::string_view command_id) {
  std::string k = StreamPrefix(tenant);
  k.append(command_id);
  return k;
}

inline std::string RejectionKey(std::string_view tenant, uint64_t sequence) {
  return StreamKey(tenant, sequence);
}

// The meta key of partition `p`'s last rejection sequence.
inline std::string RejectionSeqKey(uint32_t p) {
  return p == 0 ? std::string(kMetaRejectionSeq)
                : std::string(kMetaRejectionSeq) + "/" + std::to_string(p);
}

// The checkpoint key of projector `name` for partition `p` (partition 0: the name alone,
// so a one-partition ledger keeps one key per projector).
inline std::string CheckpointKey(std::string_view name, uint32_t p) {
  std::string k(name);
  if (p != 0) k += "/" + std::to_string(p);
  return k;
}

// A projection checkpoint: the projector's version and the partition's last position
// folded into its rows.
inline std::string EncodeCheckpoint(uint32_t version, uint64_t position) {
  std::string v;
  coding::PutFixed32(&v, version);
  coding::PutFixed64(&v, position);
  return v;
}

inline bool DecodeCheckpoint(std::string_view v, uint32_t* version, uint64_t* position) {
  if (v.size() != 12) return false;
  *version = coding::DecodeFixed32(v.data());
  *position = coding::DecodeFixed64(v.data() + 4);
  return true;
}

}  // namespace ledger::keys

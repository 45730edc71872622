#include "server/framing.h"

#include <capnp/serialize.h>
#include <fmt/format.h>

namespace server {
namespace {

uint32_t LoadLittleEndian32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace

ledger::Status SegmentTableBytes(const unsigned char* prefix, const FrameLimits& limits,
                                 size_t* table_bytes) {
  const uint64_t segments = uint64_t{LoadLittleEndian32(prefix)} + 1;
  if (segments > limits.max_segments) {
    return ledger::Status::InvalidArgument(
        fmt::format("frame: {} segments (at most {})", segments, limits.max_segments));
  }
  // One u32 for the count, one per segment, padded to whole words.
  *table_bytes = ((segments + 1) * 4 + 7) / 8 * 8;
  return ledger::Status::OK();
}

ledger::Status FrameBytes(const unsigned char* table, size_t table_bytes, const FrameLimits& limits,
                          size_t* frame_bytes) {
  const uint64_t segments = uint64_t{LoadLittleEndian32(table)} + 1;
  uint64_t words = 0;
  for (uint64_t i = 0; i < segments; ++i) {
    words += LoadLittleEndian32(table + 4 + 4 * i);
  }
  const uint64_t total = table_bytes + words * 8;
  if (total > limits.max_frame_bytes) {
    return ledger::Status::InvalidArgument(
        fmt::format("frame: {} bytes (at most {})", total, limits.max_frame_bytes));
  }
  if (words == 0) return ledger::Status::InvalidArgument("frame: no message in it (0 words)");
  *frame_bytes = total;
  return ledger::Status::OK();
}

capnp::ReaderOptions FrameReaderOptions(size_t frame_bytes, const FrameLimits& limits) {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 4 * (frame_bytes / 8) + 1024;
  options.nestingLimit = limits.nesting_limit;
  return options;
}

kj::Array<capnp::word> ToFrame(capnp::MessageBuilder& message) {
  return capnp::messageToFlatArray(message);
}

}  // namespace server

// Cap'n Proto standard stream framing (as capnp::writeMessage writes it), read in steps so
// a network reader can refuse a frame from its header before buffering it:
//   u32 segment_count - 1 | u32 size_in_words[segment_count] | padding to 8 | segments
// All sizes little-endian.
#pragma once

#include <capnp/message.h>
#include <kj/array.h>

#include <cstddef>
#include <cstdint>

#include "ledger/status.h"

namespace server {

// Bounds on frames a reader accepts; anything beyond is a bad frame.
struct FrameLimits {
  size_t max_frame_bytes = 4 << 20;  // header and segments together
  uint32_t max_segments = 64;
  int nesting_limit = 16;  // capnp ReaderOptions::nestingLimit
};

// Bytes that start every frame (segment count and the first segment's size).
constexpr size_t kFramePrefixBytes = 8;

// From the first kFramePrefixBytes of a frame: the size of its whole segment table in
// bytes (a multiple of 8, at least 8). InvalidArgument naming the limit if the segment
// count is over `limits`.
ledger::Status SegmentTableBytes(const unsigned char* prefix, const FrameLimits& limits,
                                 size_t* table_bytes);

// From the whole segment table: the frame's total size in bytes. InvalidArgument if
// the frame would be larger than `limits` allow (or a segment is empty of words where
// one is required).
ledger::Status FrameBytes(const unsigned char* table, size_t table_bytes, const FrameLimits& limits,
                          size_t* frame_bytes);

// Reader options for a frame of `frame_bytes`: traversal limited to a small multiple of
// the frame (no amplification by shared pointers), nesting as in `limits`.
capnp::ReaderOptions FrameReaderOptions(size_t frame_bytes, const FrameLimits& limits);

// The message as one frame.
kj::Array<capnp::word> ToFrame(capnp::MessageBuilder& message);

}  // namespace server

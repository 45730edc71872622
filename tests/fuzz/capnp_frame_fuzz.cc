// libFuzzer: bytes arriving on ledgerd's Cap'n Proto port — the frame header checks, then
// the whole request decoded as the server does (server/request.h). Never a crash.
#include <cstdint>
#include <cstring>

#include "server/framing.h"
#include "server/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const server::FrameLimits limits;
  size_t table_bytes = 0, frame_bytes = 0;
  if (size < server::kFramePrefixBytes) return 0;
  if (!server::SegmentTableBytes(data, limits, &table_bytes).ok() || size < table_bytes) return 0;
  if (!server::FrameBytes(data, table_bytes, limits, &frame_bytes).ok() || size < frame_bytes) {
    return 0;
  }
  auto frame = kj::heapArray<capnp::word>(frame_bytes / sizeof(capnp::word));
  std::memcpy(frame.begin(), data, frame_bytes);
  server::DecodedRequest request;
  (void)server::DecodeRequest(frame, limits, 1000, &request);
  return 0;
}

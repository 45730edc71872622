// A Cap'n Proto Request (server/schema/protocol.capnp) decoded into plain values, all at
// once: a malformed message is refused before any part of it runs.
#pragma once

#include <capnp/common.h>
#include <kj/common.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "server/framing.h"

namespace server {

struct DecodedRequest {
  enum class Kind { kSubmit, kCheck, kState, kReadEvents, kHealth, kLease, kBackup, kUnknown };

  uint64_t id = 0;
  std::optional<std::string> token;
  bool forwarded = false;  // sent by a follower on a caller's behalf: never forward again
  Kind kind = Kind::kUnknown;
  // submit: the command texts, unless there are more than allowed (then only the count).
  std::vector<std::string> commands;
  size_t command_count = 0;
  // check (tenant, user, product, at), state (tenant), readEvents (tenant, from, follow, limit).
  std::string tenant, user, product, at;
  uint64_t from = 0;
  bool follow = false;
  uint32_t limit = 0;
  // lease: the command type (checkout, heartbeat, checkin), who acts, its id, and the
  // lease (heartbeat, checkin) or subscription, user and device (checkout; user above).
  std::string lease_type, actor, command_id, lease, subscription, device;
};

// Decodes one whole frame (segment table and segments) read with `limits`. Submits with
// more than `max_commands` commands keep only command_count. InvalidArgument
// ("frame: malformed message (...)") if Cap'n Proto cannot read it within the limits;
// out->id is set whenever the id could be read.
ledger::Status DecodeRequest(kj::ArrayPtr<const capnp::word> frame, const FrameLimits& limits,
                             size_t max_commands, DecodedRequest* out);

}  // namespace server

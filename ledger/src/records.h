// Value codecs for the heads, commands and rejections column families (internal).
#pragma once

#include <string>
#include <string_view>

#include "ledger/sha256.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace ledger::records {

// heads: BE64(version) BE64(position) hash[32].
std::string EncodeHead(const StreamHead& head);
Status DecodeHead(std::string_view value, StreamHead* head);

// commands: the request hash and the accepted result, so that a retry gets the original
// result forever (R16). Layout: hash[32] BE64(version) BE64(position) BE64(recorded_at)
// BE64(count) then count × BE16(payload kind). A command's events have consecutive
// positions and versions ending at (position, version).
std::string EncodeCommand(const Digest& request_hash, const AppendResult& result);
Status DecodeCommand(std::string_view value, Digest* request_hash, AppendResult* result);

// rejections: Cap'n Proto schema::Rejection, flat-array framed.
std::string EncodeRejection(const RejectionRecord& record);
Status DecodeRejection(std::string_view value, RejectionRecord* record);

}  // namespace ledger::records

#include "ledger/status.h"

namespace ledger {

std::string Status::ToString() const {
  const char* name = "OK";
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      name = "NotFound";
      break;
    case Code::kCorruption:
      name = "Corruption";
      break;
    case Code::kInvalidArgument:
      name = "InvalidArgument";
      break;
    case Code::kIOError:
      name = "IOError";
      break;
    case Code::kUnavailable:
      name = "Unavailable";
      break;
    case Code::kFenced:
      name = "Fenced";
      break;
    case Code::kOutcomeUnknown:
      name = "OutcomeUnknown";
      break;
  }
  return std::string(name) + ": " + message_;
}

}  // namespace ledger

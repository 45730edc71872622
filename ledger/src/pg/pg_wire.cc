#include "pg_wire.h"

#include <fmt/format.h>

#include <cstring>

namespace ledger::pg {

bool IsConnectionError(const PGresult* r) {
  const char* state = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
  if (state == nullptr) return true;
  return std::strncmp(state, "08", 2) == 0 || std::strncmp(state, "57P0", 4) == 0;
}

Status ErrorStatus(const PGresult* r, PGconn* conn, std::string_view what) {
  std::string message = r != nullptr ? PQresultErrorMessage(r) : "";
  if (message.empty() && conn != nullptr) message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  const char* state = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
  if (state != nullptr && std::strcmp(state, kFencedState) == 0) {
    return Status::Fenced(fmt::format("{}: {}", what, message));
  }
  if (state != nullptr && std::strcmp(state, kLockNotAvailableState) == 0) {
    return Status::Unavailable(fmt::format("{}: {}", what, message));
  }
  if (state != nullptr && std::strcmp(state, "23505") == 0) {
    return Status::InvalidArgument(
        fmt::format("{}: repeats a key the log already holds: {}", what, message));
  }
  return Status::IOError(fmt::format("{}: {}", what, message));
}

}  // namespace ledger::pg

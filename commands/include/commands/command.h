// Commands (DESIGN 6.1): parsed from JSON, validated field by field. A typo never passes
// silently: unknown types and unknown fields are bad requests naming the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/sha256.h"
#include "ledger/time.h"

namespace commands {

using ledger::Micros;

// One row of import_members (R14), as given; validated by the decision.
struct ImportRow {
  std::string email;
  std::string user;
  std::string name;
  std::string role;
  int line = 0;         // CSV line number (1 = header), 0 when the rows came as JSON
  std::string problem;  // set by the CSV reader for a malformed row (e.g. extra fields)
};

// A parsed command. Only the fields of its type are set.
struct Command {
  std::string type;
  // Envelope.
  std::string tenant;
  std::string actor;
  std::string id;
  bool id_generated = false;
  std::optional<Micros> at;
  std::optional<uint64_t> expected_version;
  std::optional<Micros> effective_at;
  std::string reason;
  // The command's own fields (DESIGN section 3).
  std::string owner, owner_email;
  std::string product;
  std::vector<std::string> editions;
  std::string user, email, name, role;
  std::string group;
  std::string subscription, edition, seat_model, overage, add_on_of;
  std::optional<uint32_t> seats, max_groups, trial_days, lease_ttl_seconds;
  std::optional<Micros> period_start, period_end;
  std::optional<bool> auto_renew, commit;
  std::string change;
  std::string purchase_order;
  std::string device, lease;  // checkout; heartbeat and checkin (R19)
  std::vector<ImportRow> rows;
  // The request as canonical JSON (sorted keys, no id): what the request hash covers.
  std::string canonical_json;

  // SHA-256 of canonical_json: same content → same hash (R16).
  ledger::Digest RequestHash() const;
};

// A bad request: the field at fault ("seats", "rows[3].email", or "" for the whole
// request) and what is wrong.
struct BadRequest {
  std::string field;
  std::string message;
  // "field: message".
  std::string ToString() const;
};

// Parses and validates one command object. On failure returns false and fills *error;
// *command then keeps the fields read before the problem was found (the rejection log
// takes its tenant, id, type and actor from them).
bool ParseCommand(std::string_view json, Command* command, BadRequest* error);

// ParseCommand through a whole nlohmann document only (ParseCommand reads flat objects
// without one): the reference the fast path is tested against. Leaves the id as given.
bool ParseCommandDocument(std::string_view json, Command* command, BadRequest* error);

// True if ParseCommand reads `json` with its flat reader, without a JSON document (what
// keeps everyday commands cheap), whether or not the command is valid. For the tests and
// benchmarks that must notice when the fast path stops being taken.
bool TakesFlatReader(std::string_view json);

// Every command type this build accepts, in DESIGN order.
const std::vector<std::string>& CommandTypes();

// Validators shared with the CSV import (DESIGN section 3).
bool IsValidId(std::string_view id);  // 1–128 of [A-Za-z0-9._@+-]
bool IsValidEmail(std::string_view email);

}  // namespace commands

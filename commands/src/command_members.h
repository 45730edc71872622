// A command's top-level members as validation reads them, whichever JSON reader read them:
// nlohmann's document (any command) or the flat reader (command_flat.cc).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/command.h"

namespace commands::internal {

// One member's value: a node of a nlohmann document, or a scalar the flat reader took
// straight from the text (a string without escapes, a non-negative integer, a boolean).
struct FieldValue {
  enum class Scalar { kString, kUnsigned, kBool };
  const nlohmann::json* node = nullptr;  // set: a document node (the fields below unused)
  Scalar scalar = Scalar::kString;
  std::string_view text;  // kString
  uint64_t number = 0;    // kUnsigned
  bool flag = false;      // kBool

  bool IsString() const { return node != nullptr ? node->is_string() : scalar == Scalar::kString; }
  // The text of a string value (IsString() must hold).
  std::string_view String() const {
    return node != nullptr ? std::string_view(node->get_ref<const std::string&>()) : text;
  }
};

// A command's members in key order (byte order, as nlohmann's objects keep them), keys
// unique; views into the text or the document.
using Members = std::vector<std::pair<std::string_view, FieldValue>>;

// ParseCommand's checks and messages on `members`, filling `c` (not its canonical form
// nor a generated id).
bool ReadMembers(const Members& members, Command* c, BadRequest* err);

// ParseCommand for a flat object (string, non-negative integer and boolean members; no
// escapes, no control characters, no repeated keys) read without building a document,
// canonical form included. *flat false: the text is not such an object (or not JSON at
// all) and nothing was decided; the document path must read it.
bool ParseFlatCommand(std::string_view text, Command* c, BadRequest* err, bool* flat);

}  // namespace commands::internal

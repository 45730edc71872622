// Reading the member import file of R14: CSV (RFC 4180: quoted fields, CRLF, a UTF-8
// byte order mark) with a header naming the columns email, user, name, role.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "commands/command.h"

namespace commands {

// Parses `text` into rows numbered by the physical line they start on (the header is
// line 1). Rows with the wrong number of fields are kept, with `problem` set. Returns
// false with *error set when the file as a whole is unusable (no or bad header,
// malformed quoting).
bool ParseMembersCsv(std::string_view text, std::vector<ImportRow>* rows, std::string* error);

}  // namespace commands

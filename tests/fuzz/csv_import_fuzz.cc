// libFuzzer: a members CSV file for import-members (R14) — quoted fields, BOM, CRLF.
// Never a crash; every row read has the line it came from.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "commands/csv_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<commands::ImportRow> rows;
  std::string error;
  if (!commands::ParseMembersCsv(text, &rows, &error)) {
    if (error.empty()) std::abort();
    return 0;
  }
  for (const auto& row : rows) {
    if (row.line < 2) std::abort();  // line 1 is the header
  }
  return 0;
}

// CSV reading with libcsv (a small, well-tested RFC 4180 parser).
#include "commands/csv_import.h"

#include <csv.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace commands {
namespace {

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

struct Reader {
  int current_line = 1;  // physical line being fed
  int row_line = 0;      // line the current row started on
  std::vector<std::string> fields;
  std::vector<std::pair<int, std::vector<std::string>>> rows;
};

void OnField(void* data, size_t len, void* ctx) {
  auto* r = static_cast<Reader*>(ctx);
  if (r->fields.empty()) r->row_line = r->current_line;
  r->fields.emplace_back(data == nullptr ? "" : std::string(static_cast<char*>(data), len));
}

void OnRow(int /*terminator*/, void* ctx) {
  auto* r = static_cast<Reader*>(ctx);
  if (r->fields.empty()) r->row_line = r->current_line;
  r->rows.emplace_back(r->row_line, std::move(r->fields));
  r->fields.clear();
}

// The offset of the first byte that is not part of well-formed UTF-8, or npos.
size_t FirstInvalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || (n == 2 && c < 0xC2) || i + n > text.size()) return i;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return i;
    }
    const auto c1 = n > 1 ? static_cast<unsigned char>(text[i + 1]) : 0;
    if ((n == 3 && c == 0xE0 && c1 < 0xA0) || (n == 3 && c == 0xED && c1 >= 0xA0) ||
        (n == 4 && c == 0xF0 && c1 < 0x90) || (n == 4 && (c > 0xF4 || (c == 0xF4 && c1 >= 0x90)))) {
      return i;  // overlong, surrogate or beyond U+10FFFF
    }
    i += n;
  }
  return std::string_view::npos;
}

}  // namespace

bool ParseMembersCsv(std::string_view text, std::vector<ImportRow>* rows, std::string* error) {
  rows->clear();
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  // Spreadsheets often save Latin-1 or Windows-1252: refuse it clearly rather than
  // importing mangled names (commands are UTF-8 JSON).
  if (const size_t bad = FirstInvalidUtf8(text); bad != std::string_view::npos) {
    const size_t line =
        1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n');
    *error = fmt::format("line {}: not UTF-8 text (save the file as CSV UTF-8)", line);
    return false;
  }

  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
    *error = "cannot initialise the CSV parser";
    return false;
  }
  Reader reader;
  size_t start = 0;
  bool ok = true;
  while (start < text.size()) {
    // A line ends with LF, CRLF or a lone CR (old Mac files; libcsv ends rows there too,
    // so counting only LF gave two rows the same line number — found by fuzzing).
    size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) {
      end = text.size();
    } else {
      end += (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ? 2 : 1;
    }
    const std::string_view line = text.substr(start, end - start);
    if (csv_parse(&parser, line.data(), line.size(), OnField, OnRow, &reader) != line.size()) {
      *error = fmt::format("line {}: {}", reader.current_line, csv_strerror(csv_error(&parser)));
      ok = false;
      break;
    }
    ++reader.current_line;
    start = end;
  }
  if (ok && csv_fini(&parser, OnField, OnRow, &reader) != 0) {
    *error = fmt::format("line {}: {}", reader.row_line, csv_strerror(csv_error(&parser)));
    ok = false;
  }
  csv_free(&parser);
  if (!ok) return false;

  if (reader.rows.empty()) {
    *error = "the file is empty: a header line email,user,name,role is required";
    return false;
  }
  // Header: which column is which.
  std::map<std::string, size_t> columns;
  const auto& header = reader.rows.front().second;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string name = Trim(header[i]);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (name != "email" && name != "user" && name != "name" && name != "role") {
      *error =
          fmt::format("line 1: unknown column '{}' (expected email, user, name, role)", header[i]);
      return false;
    }
    if (!columns.emplace(name, i).second) {
      *error = fmt::format("line 1: column '{}' appears twice", name);
      return false;
    }
  }
  if (columns.count("email") == 0) {
    *error = "line 1: the header has no email column";
    return false;
  }
  for (size_t r = 1; r < reader.rows.size(); ++r) {
    // Not a structured binding: clang 14 cannot capture those in the lambda below.
    const int line = reader.rows[r].first;
    const auto& fields = reader.rows[r].second;
    ImportRow row;
    row.line = line;
    auto get = [&](const char* name) {
      auto it = columns.find(name);
      return it != columns.end() && it->second < fields.size() ? Trim(fields[it->second]) : "";
    };
    row.email = get("email");
    row.user = get("user");
    row.name = get("name");
    row.role = get("role");
    if (fields.size() != header.size()) {
      row.problem = fmt::format("line has {} fields, the header {}", fields.size(), header.size());
    }
    rows->push_back(std::move(row));
  }
  return true;
}

}  // namespace commands

// The R14 import file: RFC 4180 CSV with a header, a BOM, CRLF, quoted fields.
#include <catch2/catch.hpp>

#include "commands/csv_import.h"

using commands::ImportRow;
using commands::ParseMembersCsv;

TEST_CASE("CSV rows are read with quoting, CRLF, a BOM and their line numbers", "[csv]") {
  const std::string text =
      "\xEF\xBB\xBF"
      "Email,User,Name,Role\r\n"
      "carol@acme.test,carol,\"Carol, \"\"CC\"\" Cole\",admin\r\n"
      "\r\n"
      "dan@acme.test,,\"two\nlines\",\r\n"
      " eve@acme.test , eve ,Eve,member\r\n";
  std::vector<ImportRow> rows;
  std::string error;
  REQUIRE(ParseMembersCsv(text, &rows, &error));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].line == 2);
  CHECK(rows[0].email == "carol@acme.test");
  CHECK(rows[0].name == "Carol, \"CC\" Cole");
  CHECK(rows[0].role == "admin");
  CHECK(rows[1].line == 4);
  CHECK(rows[1].user.empty());
  CHECK(rows[1].name == "two\nlines");
  CHECK(rows[2].line == 6);
  CHECK(rows[2].email == "eve@acme.test");
  CHECK(rows[2].user == "eve");
}

TEST_CASE("columns may come in any order and some may be missing", "[csv]") {
  std::vector<ImportRow> rows;
  std::string error;
  REQUIRE(ParseMembersCsv("role,email\nadmin,a@b.test\n", &rows, &error));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].role == "admin");
  CHECK(rows[0].email == "a@b.test");
  CHECK(rows[0].name.empty());
}

TEST_CASE("rows with the wrong number of fields are kept and flagged", "[csv]") {
  std::vector<ImportRow> rows;
  std::string error;
  REQUIRE(ParseMembersCsv("email,user\na@b.test,a,extra\nb@b.test\n", &rows, &error));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].problem == "line has 3 fields, the header 2");
  CHECK(rows[1].problem == "line has 1 fields, the header 2");
}

TEST_CASE("unusable files are refused with the reason", "[csv]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "the file is empty: a header line email,user,name,role is required"},
      {"user,name\nbob,Bob\n", "line 1: the header has no email column"},
      {"email,mail\n", "line 1: unknown column 'mail' (expected email, user, name, role)"},
      {"email,email\n", "line 1: column 'email' appears twice"},
  };
  for (const auto& [text, expected] : cases) {
    std::vector<ImportRow> rows;
    std::string error;
    INFO(text);
    CHECK_FALSE(ParseMembersCsv(text, &rows, &error));
    CHECK(error == expected);
  }
  std::vector<ImportRow> rows;
  std::string error;
  CHECK_FALSE(ParseMembersCsv("email\n\"unterminated@x.test\n", &rows, &error));
  CHECK(error.find("line") == 0);
}

TEST_CASE("old Mac line ends (CR alone) count as lines, and text must be UTF-8", "[csv]") {
  std::vector<ImportRow> rows;
  std::string error;
  REQUIRE(ParseMembersCsv("email,user\ra@acme.test,a\rb@acme.test,b\r", &rows, &error));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].line == 2);
  CHECK(rows[1].line == 3);
  // "Zoë" saved as Windows-1252 by a spreadsheet: refused, naming the line.
  CHECK_FALSE(ParseMembersCsv("email,name\nz@acme.test,Zo\xEB\n", &rows, &error));
  CHECK(error == "line 2: not UTF-8 text (save the file as CSV UTF-8)");
  REQUIRE(ParseMembersCsv("email,name\nz@acme.test,Zo\xC3\xAB\n", &rows, &error));
  CHECK(rows[0].name == "Zo\xC3\xAB");
}

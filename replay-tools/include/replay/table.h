// Aligned text tables for the human output of the audit tools.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace replay {

// Collects rows, then prints them with every column padded to its widest cell. Not
// thread-safe.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  // Adds a row (missing cells print empty).
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // Prints the header, a rule, and the rows.
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace replay

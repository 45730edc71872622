// Running the command-line tools as a user does: a real process, its exit code and lines.
#pragma once

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ledger::testing {

// What a tool run gave.
struct Run {
  int exit_code = -1;
  std::vector<std::string> lines;  // standard output

  // Standard output as one string, lines joined with '\n'.
  std::string text() const {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
};

// Runs the shell command `cmd`: its exit code and standard output lines.
inline Run Shell(const std::string& cmd) {
  Run run;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) run.lines.push_back(line);
  return run;
}

// Runs `binary` with `args` (a shell-quoted string); stdin from `input` when given.
inline Run Tool(const std::string& binary, const std::string& args,
                const std::string& input_file = "") {
  std::string cmd = binary + " " + args + " 2>/dev/null";
  if (!input_file.empty()) cmd += " < " + input_file;
  return Shell(cmd);
}

// Like Tool, with standard error in the lines too (usage messages).
inline Run ToolWithErrors(const std::string& binary, const std::string& args) {
  return Shell(binary + " " + args + " 2>&1");
}

// Writes `text` to `path`.
inline void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace ledger::testing

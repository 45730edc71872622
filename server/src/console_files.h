#ifndef SERVER_SRC_CONSOLE_FILES_H_
#define SERVER_SRC_CONSOLE_FILES_H_

#include <string_view>
#include <vector>

namespace server {

// One file of the web console (server/console/), built into ledgerd.
struct ConsoleFile {
  std::string_view name;          // "index.html", "console.js", ...
  std::string_view content_type;  // its Content-Type
  std::string_view body;          // its bytes
};

// Every console file (generated at build time by server/cmake/embed_files.cmake).
const std::vector<ConsoleFile>& ConsoleFiles();

// The file served at /console/NAME ("" is index.html); nullptr if there is none.
inline const ConsoleFile* FindConsoleFile(std::string_view name) {
  if (name.empty()) name = "index.html";
  for (const ConsoleFile& f : ConsoleFiles()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace server

#endif  // SERVER_SRC_CONSOLE_FILES_H_

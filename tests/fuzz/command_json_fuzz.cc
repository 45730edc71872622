// libFuzzer: command JSON (DESIGN 6.1) as a client sends it — parsed, validated and
// decided against an empty tenant. Never a crash; a rejected command names its field; the
// fast (flat) path and the document path agree; an accepted one's canonical form parses
// again to the same canonical form.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "commands/command.h"
#include "commands/decide.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  commands::Command cmd, reference;
  commands::BadRequest bad, reference_bad;
  const bool ok = commands::ParseCommand(json, &cmd, &bad);
  // Flat objects take a path without a JSON document: it must agree with the document path.
  if (ok != commands::ParseCommandDocument(json, &reference, &reference_bad)) std::abort();
  if (!ok) {
    if (bad.message.empty()) std::abort();  // a rejection must say what is wrong
    if (bad.ToString() != reference_bad.ToString()) std::abort();
    return 0;
  }
  if (cmd.canonical_json != reference.canonical_json) std::abort();
  commands::Command again;
  if (!commands::ParseCommand(cmd.canonical_json, &again, &bad)) std::abort();
  if (again.canonical_json != cmd.canonical_json) std::abort();
  commands::TenantState state;
  state.tenant = cmd.tenant;
  (void)commands::Decide(state, commands::Catalog(), cmd, 1'767'225'600'000'000);
  return 0;
}

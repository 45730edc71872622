// libFuzzer: stored event bytes as ledger-replay reads them — decoded, hash-checked,
// rendered as JSON and as a summary, and folded into a tenant state. A damaged store
// must give errors, never a crash.
#include <kj/exception.h>

#include <cstdint>
#include <string_view>

#include "commands/evolve.h"
#include "ledger/event.h"
#include "projections/touched.h"
#include "replay/event_json.h"
#include "replay/summary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ledger::StoredEvent event;
  if (!event.Parse(std::string_view(reinterpret_cast<const char*>(data), size)).ok()) return 0;
  try {
    (void)event.HashMatches();
    (void)replay::DumpJson(replay::EventJson(event.event()));
    (void)replay::Summary(event.event());
    (void)projections::TouchedBy(event.event());
    commands::TenantState state;
    commands::Evolve(&state, event.event());
    commands::Catalog catalog;
    commands::EvolveCatalog(&catalog, event.event());
  } catch (const kj::Exception&) {
    // A field Cap'n Proto cannot read (found by this fuzzer): the tools catch exactly this
    // at their boundaries — ledger-replay exits 3, verify reports the position, ledgerd
    // answers "unavailable" — so here it is an expected outcome. Anything else escaping
    // (e.g. JSON of invalid UTF-8, also found here) is a crash.
  }
  return 0;
}

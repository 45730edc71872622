// One-line human summaries of events for history and explain, e.g.
// "carol added to group pro by olga", "seats of L10427 decreased 5 → 3 by system".
#pragma once

#include <string>

#include "ledger/event.h"

namespace replay {

// What the event did, who did it, and (for backdated corrections) when it took effect.
std::string Summary(ledger::schema::Event::Reader event);

}  // namespace replay

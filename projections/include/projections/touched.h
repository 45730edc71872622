// Which entities an event touches: the keys of the view rows and index entries it changes
// directly; used by the event index, history and explain.
#pragma once

#include <string>
#include <vector>

#include "ledger/event.capnp.h"

namespace projections {

struct Touched {
  std::vector<std::string> users;
  std::vector<std::string> groups;
  std::vector<std::string> subscriptions;
};

// The users, groups and subscriptions named by `event`'s payload.
Touched TouchedBy(ledger::schema::Event::Reader event);

}  // namespace projections

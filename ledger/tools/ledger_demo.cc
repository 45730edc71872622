// ledger-demo: appends a few events to a ledger directory and reads them back.
// A stand-in for `ledgerd` until the server exists (see README).
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "ledger/store.h"

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "var/ledger";
  std::unique_ptr<ledger::Store> store;
  ledger::Status s = ledger::Store::Open(ledger::StoreOptions(), dir, &store);
  if (!s.ok()) {
    fmt::print(stderr, "ledger-demo: cannot open {}: {}\n", dir, s.ToString());
    return 1;
  }
  ledger::StreamHead head;
  if (!store->GetHead("demo", &head).ok()) return 1;

  ledger::AppendRequest req;
  req.tenant = "demo";
  req.command_id = fmt::format("demo-{}", head.version + 1);
  req.request_hash = ledger::Sha256(req.command_id);
  req.actor = "system";
  ledger::EventDraft invited;
  auto m = invited.payload().initMemberInvited();
  m.setUser(fmt::format("user{}", head.version + 1));
  m.setEmail(fmt::format("user{}@demo.test", head.version + 1));
  m.setRole(ledger::schema::Role::MEMBER);
  req.events.push_back(std::move(invited));
  ledger::AppendResult result;
  s = store->Append(std::move(req), &result);
  if (!s.ok()) {
    fmt::print(stderr, "ledger-demo: append failed: {}\n", s.ToString());
    return 1;
  }
  fmt::print("appended {} at version {} position {}\n", result.command_id, result.version,
             result.position);
  fmt::print("stream 'demo' now:\n");
  for (auto c = store->ReadStream("demo"); c->Valid(); c->Next()) {
    const auto& e = c->event();
    fmt::print("  v{:<4} pos {:<6} {:<16} {} hash {}… chain {}\n", e.version(), e.position(),
               e.type_name(), ledger::FormatRfc3339(e.event().getRecordedAt()),
               fmt::format("{:02x}{:02x}{:02x}{:02x}", e.event().getHash()[0],
                           e.event().getHash()[1], e.event().getHash()[2], e.event().getHash()[3]),
               e.HashMatches() ? "ok" : "BROKEN");
  }
  return 0;
}

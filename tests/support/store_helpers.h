// Helpers shared by the store tests: building simple requests and reading a whole log.
#pragma once

#include <string>
#include <vector>

#include "ledger/store.h"

namespace ledger::testing {

// An invitation event for `user` with a padding name of `name_bytes` characters.
inline EventDraft InviteDraft(const std::string& user, size_t name_bytes = 0) {
  EventDraft d;
  auto m = d.payload().initMemberInvited();
  m.setUser(user);
  m.setEmail(user + "@example.test");
  m.setRole(schema::Role::MEMBER);
  m.setName(std::string(name_bytes, 'n'));
  d.actor = "system";
  return d;
}

// A request for `tenant` with id `id` carrying `n` invitations; the request hash is
// derived from the id and `variant`, so that equal arguments make equal requests.
inline AppendRequest InviteRequest(const std::string& tenant, const std::string& id, int n = 1,
                                   const std::string& variant = "") {
  AppendRequest r;
  r.tenant = tenant;
  r.command_id = id;
  r.request_hash = Sha256(tenant + "/" + id, variant);
  r.actor = "system";
  r.command_type = "invite_member";
  for (int i = 0; i < n; ++i) r.events.push_back(InviteDraft(id + "-u" + std::to_string(i)));
  return r;
}

// Every event of the global log, in order.
inline std::vector<StoredEvent> ReadAll(const Store& store) {
  std::vector<StoredEvent> out;
  for (auto c = store.ReadLog(1); c->Valid(); c->Next()) {
    StoredEvent copy;
    if (copy.Parse(c->event().bytes()).ok()) out.push_back(std::move(copy));
  }
  return out;
}

}  // namespace ledger::testing

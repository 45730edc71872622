// Keys of the view column families. Tenant and entity ids never contain \0 (DESIGN
// section 3 charset), so "\0" separates unambiguously; big-endian numbers sort in order.
//
//   view_members        tenant \0 user                       → Member (state.capnp)
//   view_groups         tenant \0 group                      → Group
//   view_subscriptions  tenant \0 subscription               → header (terms, count, violations)
//                       tenant \0 subscription \0 d \0 user  → "" (assigned directly)
//                       tenant \0 subscription \0 g \0 group → "" (group assigned)
//                       tenant \0 subscription \0 h \0 user  → BE64(version it got its seat)
//   view_entitlements   tenant                               → TenantMarker
//                       tenant \0 user                       → UserEntitlements
//   view_index          tenant \0 kind \0 id \0 BE64(position) → event type
//                       (kind: 'u' user, 'g' group, 's' subscription; 'b' with an
//                       empty id: backdated events, effective before recorded)
//   snapshots           tenant \0 BE64(max effective_at) BE64(version) → TenantState
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/coding.h"

namespace projections::keys {

// Big-endian fixed-width integers: the one coding of ledger/coding.h.
inline void PutBE64(std::string* out, uint64_t v) { ledger::coding::PutFixed64(out, v); }
inline uint64_t GetBE64(const char* p) { return ledger::coding::DecodeFixed64(p); }

// "tenant\0" — the prefix of every row of a tenant.
inline std::string TenantPrefix(std::string_view tenant) {
  std::string k(tenant);
  k.push_back('\0');
  return k;
}

// "tenant\0id" — a member, group, subscription or entitlement row.
inline std::string RowKey(std::string_view tenant, std::string_view id) {
  std::string k = TenantPrefix(tenant);
  k.append(id);
  return k;
}

// "tenant\0kind\0id\0" — the prefix of one entity's index entries.
inline std::string IndexPrefix(std::string_view tenant, char kind, std::string_view id) {
  std::string k = TenantPrefix(tenant);
  k.push_back(kind);
  k.push_back('\0');
  k.append(id);
  k.push_back('\0');
  return k;
}

// "tenant\0subscription\0kind\0id" — a child row of a subscription (kind 'd', 'g', 'h').
inline std::string SubscriptionChildKey(std::string_view tenant, std::string_view sub, char kind,
                                        std::string_view id) {
  std::string k = RowKey(tenant, sub);
  k.push_back('\0');
  k.push_back(kind);
  k.push_back('\0');
  k.append(id);
  return k;
}

inline std::string IndexKey(std::string_view tenant, char kind, std::string_view id,
                            uint64_t position) {
  std::string k = IndexPrefix(tenant, kind, id);
  PutBE64(&k, position);
  return k;
}

inline std::string SnapshotKey(std::string_view tenant, int64_t max_effective_at,
                               uint64_t version) {
  std::string k = TenantPrefix(tenant);
  PutBE64(&k, static_cast<uint64_t>(max_effective_at));
  PutBE64(&k, version);
  return k;
}

}  // namespace projections::keys

// Test helpers for the projections: compare every view row of a tenant with rows computed
// from a fresh fold of its events, and dump whole view families for equality checks.
#pragma once

#include <fmt/format.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "commands/service.h"
#include "ledger/store.h"
#include "projections/entitlements.h"
#include "projections/state_codec.h"
#include "projections/view_keys.h"
#include "projections/views.h"

namespace ledger::testing {

using Rows = std::map<std::string, std::string>;

// Every row of one view family whose key starts with `prefix`.
inline Rows ReadRows(const projections::ViewProjector& views,
                     projections::ViewProjector::Family family, const std::string& prefix = "") {
  Rows rows;
  std::unique_ptr<rocksdb::Iterator> it(
      views.db()->NewIterator(rocksdb::ReadOptions(), views.family(family)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    rows.emplace(it->key().ToString(), it->value().ToString());
  }
  return rows;
}

// All rows of all view families, keyed "family/key".
inline Rows DumpViews(const projections::ViewProjector& views) {
  Rows all;
  for (int f = 0; f < projections::ViewProjector::kCount; ++f) {
    for (auto& [k, v] : ReadRows(views, static_cast<projections::ViewProjector::Family>(f))) {
      all.emplace(std::to_string(f) + "/" + k, std::move(v));
    }
  }
  return all;
}

// "" when the member, group, subscription, entitlement and index rows of `tenant` are
// exactly those a fresh fold of its events gives; otherwise what differs.
inline std::string ViewsMismatch(const Store& store, const projections::ViewProjector& views,
                                 const std::string& tenant) {
  using F = projections::ViewProjector;
  namespace k = projections::keys;
  commands::TenantState state;
  if (!commands::LoadTenant(store, tenant, std::nullopt, &state).ok()) return "cannot fold";
  Rows members, groups, subs, ents, index;
  for (const auto& [id, m] : state.members) {
    members[k::RowKey(tenant, id)] = projections::EncodeMember(m);
    ents[k::RowKey(tenant, id)] =
        projections::EncodeEntitlements(projections::ComputeEntitlements(state, id));
  }
  for (const auto& [id, g] : state.groups)
    groups[k::RowKey(tenant, id)] = projections::EncodeGroup(g);
  for (const auto& [id, s] : state.subscriptions) {
    subs[k::RowKey(tenant, id)] = projections::EncodeSubscriptionHeader(state, s);
    for (const auto& u : s.direct) subs[k::SubscriptionChildKey(tenant, id, 'd', u)] = "";
    for (const auto& g : s.groups) subs[k::SubscriptionChildKey(tenant, id, 'g', g)] = "";
    for (const auto& [u, version] : s.seat_since) {
      std::string v;
      k::PutBE64(&v, version);
      subs[k::SubscriptionChildKey(tenant, id, 'h', u)] = v;
    }
  }
  const std::string prefix = k::TenantPrefix(tenant);
  auto compare = [&](const char* what, const Rows& expected, const Rows& actual) -> std::string {
    for (const auto& [key, value] : expected) {
      auto it = actual.find(key);
      if (it == actual.end())
        return fmt::format("{} row '{}' is missing", what, key.substr(prefix.size()));
      if (it->second != value)
        return fmt::format("{} row '{}' differs", what, key.substr(prefix.size()));
    }
    for (const auto& [key, value] : actual) {
      if (expected.count(key) == 0)
        return fmt::format("{} row '{}' should not exist", what, key.substr(prefix.size()));
    }
    return "";
  };
  std::string problem = compare("member", members, ReadRows(views, F::kMembers, prefix));
  if (problem.empty()) problem = compare("group", groups, ReadRows(views, F::kGroups, prefix));
  if (problem.empty())
    problem = compare("subscription", subs, ReadRows(views, F::kSubscriptions, prefix));
  if (problem.empty())
    problem = compare("entitlement", ents, ReadRows(views, F::kEntitlements, prefix));
  if (!problem.empty()) return problem;
  // The index: entries only at this tenant's positions, naming their event's type, and
  // at least one entry for every event.
  std::map<uint64_t, std::string> types;
  for (auto c = store.ReadStream(tenant); c->Valid(); c->Next()) {
    types[c->event().position()] = std::string(c->event().type_name());
  }
  std::set<uint64_t> covered;
  for (const auto& [key, value] : ReadRows(views, F::kIndex, prefix)) {
    const uint64_t position = k::GetBE64(key.data() + key.size() - 8);
    auto it = types.find(position);
    if (it == types.end() || it->second != value) {
      return fmt::format("index entry at position {} does not match the log", position);
    }
    covered.insert(position);
  }
  for (const auto& [position, type] : types) {
    if (covered.count(position) == 0 && type != "unknown") {
      return fmt::format("no index entry for position {} ({})", position, type);
    }
  }
  return "";
}

}  // namespace ledger::testing

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
#include "projections/views_check.h"

namespace ledger::testing {

using Rows = std::map<std::string, std::string>;

// Every row of one view family whose key starts with `prefix`.
inline Rows ReadRows(const projections::ViewProjector& views,
                     projections::ViewProjector::Family family, const std::string& prefix = "") {
  Rows rows;
  std::unique_ptr<ledger::RowIterator> it = views.rows().NewIterator(views.table(family));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    rows.emplace(it->key(), it->value());
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
  commands::TenantState state;
  if (!commands::LoadTenant(store, tenant, std::nullopt, &state).ok()) return "cannot fold";
  std::string problem = projections::RowsMismatch(views, state);
  if (!problem.empty()) return problem;
  std::map<std::string, std::string> expected;
  for (auto c = store.ReadStream(tenant); c->Valid(); c->Next()) {
    projections::ForEachIndexEntry(tenant, c->event().event(),
                                   [&](std::string_view k, std::string_view v) {
                                     expected.emplace(std::string(k), std::string(v));
                                   });
  }
  uint64_t bad_position = 0;
  return projections::IndexMismatch(views, tenant, expected, &bad_position);
}

}  // namespace ledger::testing

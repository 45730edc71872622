#include "projections/views_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>

#include "ledger/event.h"
#include "projections/entitlements.h"
#include "projections/state_codec.h"
#include "projections/touched.h"
#include "projections/view_keys.h"

namespace projections {
namespace {

// Verification reads everything once: keep it out of the block cache.
ledger::RowReadOptions ScanOptions() {
  ledger::RowReadOptions ro;
  ro.fill_cache = false;
  return ro;
}

using Rows = std::map<std::string, std::string>;

Rows ReadRows(const ViewProjector& views, ViewProjector::Family family, const std::string& prefix) {
  Rows rows;
  std::unique_ptr<ledger::RowIterator> it =
      views.rows().NewIterator(views.table(family), ScanOptions());
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    rows.emplace(it->key(), it->value());
  }
  return rows;
}

std::string Compare(const char* what, const Rows& expected, const Rows& actual, size_t prefix) {
  for (const auto& [key, value] : expected) {
    auto it = actual.find(key);
    if (it == actual.end()) return fmt::format("{} row '{}' is missing", what, key.substr(prefix));
    if (it->second != value) return fmt::format("{} row '{}' differs", what, key.substr(prefix));
  }
  for (const auto& [key, value] : actual) {
    if (expected.count(key) == 0) {
      return fmt::format("{} row '{}' should not exist", what, key.substr(prefix));
    }
  }
  return "";
}

}  // namespace

std::string RowsMismatch(const ViewProjector& views, const commands::TenantState& state) {
  using F = ViewProjector;
  const std::string& tenant = state.tenant;
  Rows members, groups, subs, ents;
  for (const auto& [id, m] : state.members) {
    members[keys::RowKey(tenant, id)] = EncodeMember(m);
    ents[keys::RowKey(tenant, id)] = EncodeEntitlements(ComputeEntitlements(state, id));
  }
  for (const auto& [id, g] : state.groups) groups[keys::RowKey(tenant, id)] = EncodeGroup(g);
  for (const auto& [id, s] : state.subscriptions) {
    subs[keys::RowKey(tenant, id)] = EncodeSubscriptionHeader(state, s);
    for (const auto& u : s.direct) subs[keys::SubscriptionChildKey(tenant, id, 'd', u)] = "";
    for (const auto& g : s.groups) subs[keys::SubscriptionChildKey(tenant, id, 'g', g)] = "";
    for (const auto& [u, version] : s.seat_since) {
      std::string v;
      keys::PutBE64(&v, version);
      subs[keys::SubscriptionChildKey(tenant, id, 'h', u)] = v;
    }
  }
  const std::string prefix = keys::TenantPrefix(tenant);
  std::string problem =
      Compare("member", members, ReadRows(views, F::kMembers, prefix), prefix.size());
  if (problem.empty()) {
    problem = Compare("group", groups, ReadRows(views, F::kGroups, prefix), prefix.size());
  }
  if (problem.empty()) {
    problem =
        Compare("subscription", subs, ReadRows(views, F::kSubscriptions, prefix), prefix.size());
  }
  if (problem.empty()) {
    problem =
        Compare("entitlement", ents, ReadRows(views, F::kEntitlements, prefix), prefix.size());
  }
  if (problem.empty()) {
    // The tenant's marker row (key: the tenant id itself) says how far the rows go.
    std::string value;
    TenantMarker marker;
    const ledger::Status s =
        views.rows().Get(views.table(F::kEntitlements), tenant, &value, ScanOptions());
    if (!s.ok() || !DecodeTenantMarker(value, &marker)) {
      problem = "the tenant marker row is missing or unreadable";
    } else if (marker.exists != state.exists || marker.version != state.version ||
               marker.at != state.at) {
      problem = fmt::format("the tenant marker says version {}, the fold {}", marker.version,
                            state.version);
    }
  }
  return problem;
}

void ForEachIndexEntry(std::string_view tenant, ledger::schema::Event::Reader event,
                       const std::function<void(std::string_view, std::string_view)>& fn) {
  const Touched touched = TouchedBy(event);
  // (kind, id) in key order: keys are "tenant\0kind\0id\0position", ids hold no NUL.
  std::vector<std::pair<char, std::string_view>> ids;
  ids.reserve(touched.users.size() + touched.groups.size() + touched.subscriptions.size() + 1);
  for (const auto& u : touched.users) ids.emplace_back('u', u);
  for (const auto& g : touched.groups) ids.emplace_back('g', g);
  for (const auto& s : touched.subscriptions) ids.emplace_back('s', s);
  if (event.getEffectiveAt() < event.getRecordedAt()) ids.emplace_back('b', "");
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const std::string_view type = ledger::EventTypeName(event.getPayload().which());
  std::string key = keys::TenantPrefix(tenant);
  const size_t prefix = key.size();
  for (const auto& [kind, id] : ids) {
    key.resize(prefix);
    key.push_back(kind);
    key.push_back('\0');
    key.append(id);
    key.push_back('\0');
    keys::PutBE64(&key, event.getPosition());
    fn(key, type);
  }
}

std::string IndexMismatch(const ViewProjector& views, const std::string& tenant,
                          const std::map<std::string, std::string>& expected,
                          uint64_t* bad_position) {
  const std::string prefix = keys::TenantPrefix(tenant);
  auto position_of = [](std::string_view key) {
    return key.size() >= 8 ? keys::GetBE64(key.data() + key.size() - 8) : 0;
  };
  auto want = expected.begin();
  // Streamed: a tenant's index can be as long as its history. Both sides are in key order.
  std::unique_ptr<ledger::RowIterator> it =
      views.rows().NewIterator(views.table(ViewProjector::kIndex), ScanOptions());
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view key = it->key();
    if (want != expected.end() && want->first < key) {
      *bad_position = position_of(want->first);
      return fmt::format("no index entry for position {} ({})", *bad_position, want->second);
    }
    if (want == expected.end() || want->first != key) {
      *bad_position = position_of(key);
      return fmt::format("index entry at position {} does not match the log", *bad_position);
    }
    if (want->second != it->value()) {
      *bad_position = position_of(key);
      return fmt::format("index entry at position {} names the wrong event type", *bad_position);
    }
    ++want;
  }
  if (!it->status().ok()) {
    *bad_position = 0;
    return "index unreadable: " + it->status().ToString();
  }
  if (want != expected.end()) {
    *bad_position = position_of(want->first);
    return fmt::format("no index entry for position {} ({})", *bad_position, want->second);
  }
  return "";
}

}  // namespace projections

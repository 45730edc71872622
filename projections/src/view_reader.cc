#include "projections/view_reader.h"

#include <algorithm>

#include "commands/service.h"
#include "projections/entitlements.h"
#include "projections/touched.h"
#include "projections/view_keys.h"
#include "row_cache.h"

namespace projections {

using ledger::Status;

ViewReader::ViewReader(const ViewProjector* views, const ledger::Store* store, size_t cached_rows)
    : views_(views), store_(store) {
  if (store_->read_only() && cached_rows > 0) {
    rows_ = std::make_unique<internal::RowCache>(cached_rows);
  }
}

ViewReader::~ViewReader() = default;

commands::Micros ViewReader::Now() const {
  const Micros ledger_time = store_->LedgerTime();
  if (store_->clock_mode() == ledger::ClockMode::kManual) return ledger_time;
  return std::max(ledger_time, ledger::SystemClock().Now());
}

Status ViewReader::Get(ViewProjector::Family family, const std::string& key, std::string* value,
                       bool* found) const {
  ledger::RowReadOptions ro;
  ro.verify_checksums = false;
  Status s = views_->rows().Get(views_->table(family), key, value, ro);
  *found = s.ok();
  if (s.IsNotFound()) return Status::OK();
  return s;
}

Status ViewReader::StateAt(const std::string& tenant, std::optional<Micros> at,
                           commands::TenantState* state) const {
  if (!views_->current()) return commands::LoadTenant(*store_, tenant, at, state);
  return LoadFromSnapshot(
      views_->rows(), views_->table(ViewProjector::kSnapshots), views_->stream_reader(), tenant, at,
      UINT64_MAX, state, nullptr, views_->table(ViewProjector::kIndex),
      [this](uint64_t position) { return store_->ReadLog(position, position); });
}

Status ViewReader::EntityPositions(const std::string& tenant, char kind, const std::string& id,
                                   std::vector<uint64_t>* positions) const {
  positions->clear();
  if (kind != 'u' && kind != 'g' && kind != 's') {
    return Status::InvalidArgument("entity kind must be u, g or s");
  }
  if (views_->current()) {
    const std::string prefix = keys::IndexPrefix(tenant, kind, id);
    std::unique_ptr<ledger::RowIterator> it =
        views_->rows().NewIterator(views_->table(ViewProjector::kIndex));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (it->key().size() != prefix.size() + 8) continue;
      positions->push_back(keys::GetBE64(it->key().data() + prefix.size()));
    }
    return it->status();
  }
  auto c = store_->ReadStream(tenant);
  for (; c->Valid(); c->Next()) {
    const auto e = c->event().event();
    const Touched t = TouchedBy(e);
    const auto& ids = kind == 'u' ? t.users : kind == 'g' ? t.groups : t.subscriptions;
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) positions->push_back(e.getPosition());
  }
  return c->status();
}

Status ViewReader::Check(const std::string& tenant, const std::string& user,
                         const std::string& product, std::optional<Micros> at,
                         commands::AccessDecision* out) const {
  const Micros ledger_time = store_->LedgerTime();
  const Micros t = at.value_or(Now());
  if (views_->current()) {
    std::string value;
    bool found = false;
    // The rows hold every event; they answer for `t` if no event of the tenant is later.
    bool rows_hold = t >= ledger_time;
    if (!rows_hold) {
      Status s = Get(ViewProjector::kEntitlements, tenant, &value, &found);
      if (!s.ok()) return s;
      TenantMarker marker;
      if (!found || !DecodeTenantMarker(value, &marker)) {
        *out = commands::AccessDecision();
        out->reason = "unknown_tenant";
        fast_.fetch_add(1, std::memory_order_relaxed);
        return Status::OK();
      }
      rows_hold = t >= marker.at;
    }
    if (rows_hold) {
      const std::string key = keys::RowKey(tenant, user);
      if (rows_ != nullptr) {
        std::optional<commands::AccessDecision> d;
        if (rows_->With(key,
                        [&](const UserEntitlements& row) { d = row.DecisionAt(product, t); }) &&
            d) {
          *out = std::move(*d);
          fast_.fetch_add(1, std::memory_order_relaxed);
          return Status::OK();
        }
      }
      Status s = Get(ViewProjector::kEntitlements, key, &value, &found);
      if (!s.ok()) return s;
      if (found) {
        UserEntitlements row;
        if (!DecodeEntitlements(value, &row)) {
          return Status::Corruption("bad entitlement row of " + tenant + "/" + user);
        }
        std::optional<commands::AccessDecision> d = row.DecisionAt(product, t);
        if (rows_ != nullptr) rows_->Put(key, std::move(row));
        if (d) {
          *out = std::move(*d);
          fast_.fetch_add(1, std::memory_order_relaxed);
          return Status::OK();
        }
      } else {
        // No row: not a member, or no such tenant.
        s = Get(ViewProjector::kEntitlements, tenant, &value, &found);
        if (!s.ok()) return s;
        TenantMarker marker;
        *out = commands::AccessDecision();
        out->reason = found && DecodeTenantMarker(value, &marker) && marker.exists
                          ? "not_member"
                          : "unknown_tenant";
        fast_.fetch_add(1, std::memory_order_relaxed);
        return Status::OK();
      }
    }
  }
  commands::TenantState state;
  Status s = StateAt(tenant, t, &state);
  if (!s.ok()) return s;
  *out = commands::CheckAccess(state, user, product, t);
  folded_.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

}  // namespace projections

#include "commands/service.h"

#include <fmt/format.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "commands/as_of.h"
#include "commands/evolve.h"

namespace commands {

using ledger::AppendResult;

struct CommandService::Pending {
  Command command;
  std::string stream;
  std::optional<ImportReport> report;
  std::optional<LeaseOutcome> lease;
  bool dry_run = false;
};

namespace {

using Kind = ledger::schema::Event::Payload::Which;

// True for the events that change a tenant's leases (R19).
bool ChangesLeases(Kind kind) {
  switch (kind) {
    case Kind::LEASE_GRANTED:
    case Kind::LEASE_RELEASED:
    case Kind::LEASE_EXPIRED:
      return true;
    case Kind::UNKNOWN:
    case Kind::TENANT_CREATED:
    case Kind::PRODUCT_DEFINED:
    case Kind::MEMBER_INVITED:
    case Kind::INVITATION_RESENT:
    case Kind::INVITATION_ACCEPTED:
    case Kind::MEMBER_REMOVED:
    case Kind::ROLE_CHANGED:
    case Kind::OWNERSHIP_TRANSFERRED:
    case Kind::GROUP_CREATED:
    case Kind::GROUP_RENAMED:
    case Kind::GROUP_DELETED:
    case Kind::GROUP_MEMBER_ADDED:
    case Kind::GROUP_MEMBER_REMOVED:
    case Kind::SUBSCRIPTION_PURCHASED:
    case Kind::SEAT_ASSIGNED:
    case Kind::SEAT_REVOKED:
    case Kind::GROUP_ASSIGNED:
    case Kind::GROUP_UNASSIGNED:
    case Kind::SEATS_INCREASED:
    case Kind::SEAT_DECREASE_SCHEDULED:
    case Kind::SEATS_DECREASED:
    case Kind::SCHEDULED_CHANGE_CANCELLED:
    case Kind::EDITION_UPGRADED:
    case Kind::EDITION_DOWNGRADE_SCHEDULED:
    case Kind::EDITION_DOWNGRADED:
    case Kind::RENEWAL_CANCELLED:
    case Kind::RENEWAL_RESUMED:
    case Kind::SUBSCRIPTION_RENEWED:
    case Kind::SUBSCRIPTION_EXPIRED:
    case Kind::TRIAL_CONVERTED:
    case Kind::TRIAL_EXPIRED:
    case Kind::PURCHASE_ORDER_SET:
      return false;
  }
  return false;  // a variant of a newer schema: Evolve ignores it too
}

}  // namespace

CommandService::CommandService(ledger::Store* store) : store_(store), leases_(*store) {
  // Leases live before a restart are due to be swept as before it.
  std::lock_guard<std::mutex> lock(lease_mu_);
  lease_generation_ = store_->WriterGeneration();
  LoadLeaseDue();
}

void CommandService::LoadLeaseDue() const {
  lease_due_.clear();
  leases_
      .ForEach("",
               [this](std::string_view tenant, std::string_view, Micros expires_at) {
                 auto [it, added] = lease_due_.emplace(std::string(tenant), expires_at);
                 if (!added) it->second = std::min(it->second, expires_at);
                 return true;
               })
      .PermitUncheckedError();
}

std::vector<std::string> CommandService::TenantsWithLeasesDue(Micros now) const {
  std::lock_guard<std::mutex> lock(lease_mu_);
  // After the writer reloaded (it took the log over, or the log refused a group) the
  // lease table holds leases this service never decided: read the due times again.
  if (const uint64_t generation = store_->WriterGeneration(); generation != lease_generation_) {
    lease_generation_ = generation;
    LoadLeaseDue();
  }
  std::vector<std::string> due;
  for (const auto& [tenant, at] : lease_due_) {
    if (at <= now) due.push_back(tenant);
  }
  return due;
}

void CommandService::OverlayLeaseTable(TenantState* state) const {
  leases_
      .ForEach(state->tenant,
               [state](std::string_view, std::string_view lease, Micros expires_at) {
                 for (auto& [id, sub] : state->subscriptions) {
                   auto it = sub.leases.find(std::string(lease));
                   if (it != sub.leases.end()) {
                     it->second.expires_at = std::max(it->second.expires_at, expires_at);
                   }
                 }
                 return true;
               })
      .PermitUncheckedError();
}

void CommandService::NoteLeases(const std::string& stream, const TenantState& state) {
  std::optional<Micros> earliest;
  for (const auto& [id, sub] : state.subscriptions) {
    for (const auto& [lease_id, lease] : sub.leases) {
      if (!earliest || lease.expires_at < *earliest) earliest = lease.expires_at;
    }
  }
  std::lock_guard<std::mutex> lock(lease_mu_);
  if (earliest) {
    lease_due_[stream] = *earliest;
  } else {
    lease_due_.erase(stream);
  }
}
CommandService::~CommandService() = default;

TenantState* CommandService::StateFor(const std::string& stream, const ledger::StreamHead& head) {
  auto it = tenants_.find(stream);
  if (it != tenants_.end() && it->second.version == head.version) return &it->second;
  TenantState state;
  state.tenant = stream;
  if (stream == kCatalogStream) catalog_ = Catalog();
  for (auto c = store_->ReadStream(stream); c->Valid(); c->Next()) {
    if (stream == kCatalogStream) EvolveCatalog(&catalog_, c->event().event());
    Evolve(&state, c->event().event());
  }
  if (state.version != head.version) return nullptr;
  OverlayLeaseTable(&state);
  return &(tenants_[stream] = std::move(state));
}

void CommandService::OnEncoded(const std::string& stream, ledger::schema::Event::Reader event) {
  if (stream == kCatalogStream) EvolveCatalog(&catalog_, event);
  TenantState& state = tenants_[stream];
  Evolve(&state, event);
  if (ChangesLeases(event.getPayload().which())) NoteLeases(stream, state);
}

bool CommandService::MayNeedNewerCatalog(const Command& cmd, const ledger::Rejected& rejection) {
  // A product or edition the catalog does not know: the catalog's writer may have
  // defined it a moment ago, when another node writes the catalog's partition.
  return (rejection.code == "not_found" || rejection.code == "bad_request") &&
         (!cmd.product.empty() || !cmd.edition.empty()) && !store_->WritesTenant(kCatalogStream);
}

bool CommandService::RefreshCatalog() {
  const uint64_t before = tenants_.count(kCatalogStream) ? tenants_[kCatalogStream].version : 0;
  if (!store_->CatchUpPartitionOf(kCatalogStream).ok()) return false;
  ledger::StreamHead catalog_head;
  if (!store_->GetHead(kCatalogStream, &catalog_head).ok() ||
      StateFor(kCatalogStream, catalog_head) == nullptr) {
    return false;
  }
  return catalog_head.version != before;
}

ledger::Decision CommandService::DecideInWriter(Pending& p, const ledger::StreamHead& head,
                                                Micros now) {
  ledger::Decision out;
  // The cached states include events of groups the store has since dropped (refused by
  // the log, failed on disk) and miss what another writer appended: start afresh.
  if (const uint64_t generation = store_->WriterGeneration(); generation != generation_) {
    tenants_.clear();
    catalog_ = Catalog();
    generation_ = generation;
  }
  // The catalog is loaded once; after that every change to it passes through here —
  // unless another node writes its partition (a placement): then this copy follows it,
  // and the catalog is read again whenever the copy's catalog moved.
  if (p.stream != kCatalogStream &&
      (tenants_.count(kCatalogStream) == 0 || !store_->WritesTenant(kCatalogStream))) {
    ledger::StreamHead catalog_head;
    if (!store_->GetHead(kCatalogStream, &catalog_head).ok() ||
        StateFor(kCatalogStream, catalog_head) == nullptr) {
      out.rejection = ledger::Rejected{"unavailable", "cannot read the product catalog"};
      return out;
    }
  }
  TenantState* state = StateFor(p.stream, head);
  if (state == nullptr) {
    out.rejection = ledger::Rejected{"unavailable", "tenant state is being changed elsewhere"};
    return out;
  }
  const Command& cmd = p.command;

  // R15: effects due at or before `now` come first, and the command sees their result.
  std::vector<ledger::EventDraft> effects;
  TenantState scratch;
  const TenantState* view = state;
  if (p.stream != kCatalogStream) {
    effects = StepDueEffects(*state, now, /*expire_leases=*/true, &scratch);
    if (!effects.empty()) view = &scratch;
  }

  Decided d = Decide(*view, catalog_, cmd, now);
  if (d.rejection && MayNeedNewerCatalog(cmd, *d.rejection) && RefreshCatalog()) {
    d = Decide(*view, catalog_, cmd, now);  // against what the catalog's writer acknowledged
  }
  p.report = std::move(d.report);
  // Leases the effects expired leave the lease table with them.
  std::vector<std::string> expired;
  for (auto& e : effects) {
    if (e.reader().getPayload().which() == ledger::schema::Event::Payload::LEASE_EXPIRED) {
      expired.emplace_back(e.reader().getPayload().getLeaseExpired().getLease());
    }
  }
  if (cmd.type == "tick" && !d.rejection) {
    out.events = std::move(effects);  // a tick's own events are the effects it brings due
    for (const auto& lease : expired) out.rows.push_back(leases_.Delete(p.stream, lease));
    return out;
  }
  if (!effects.empty()) {
    out.prelude = std::move(effects);
    // '#' is outside the id charset: no caller's command id can collide with it.
    out.prelude_command_id = fmt::format("clock#{}", head.version + 1);
    for (const auto& lease : expired) out.prelude_rows.push_back(leases_.Delete(p.stream, lease));
  }
  if (d.lease && !d.rejection) {
    const LeaseOutcome& lease = *d.lease;
    if (lease.ended) {
      out.rows.push_back(leases_.Delete(p.stream, lease.lease));
    } else {
      out.rows.push_back(leases_.Put(p.stream, lease.lease, lease.expires_at));
      p.lease = lease;
    }
    if (d.events.empty()) {
      // A heartbeat, or a checkout of a lease already held: no event, no idempotency
      // record; the new expiry is kept in the lease table and the state in memory.
      out.discard = true;
      auto sub = state->subscriptions.find(lease.subscription);
      if (sub != state->subscriptions.end()) {
        auto held = sub->second.leases.find(lease.lease);
        if (held != sub->second.leases.end()) held->second.expires_at = lease.expires_at;
      }
      NoteLeases(p.stream, *state);
    }
  }
  out.rejection = std::move(d.rejection);
  out.events = std::move(d.events);
  if (cmd.type == "import_members" && !cmd.commit.value_or(false) && !out.rejection) {
    out.discard = true;
    p.dry_run = true;
  }
  return out;
}

void CommandService::Submit(Command command, Callback done) {
  auto p = std::make_shared<Pending>();
  p->stream = command.type == "define_product" ? std::string(kCatalogStream) : command.tenant;
  p->command = std::move(command);
  const Command& cmd = p->command;

  ledger::AppendRequest req;
  req.tenant = p->stream;
  req.command_id = cmd.id;
  req.request_hash = cmd.RequestHash();
  // A heartbeat records nothing under its id and renewing twice is harmless (R19).
  req.check_idempotency = cmd.type != "heartbeat";
  req.expected_version = cmd.expected_version;
  req.at = cmd.at;
  req.actor = cmd.actor;
  req.command_type = cmd.type;
  req.command_json = std::move(p->command.canonical_json);  // hashed above; kept for the log
  req.decide = [this, p](const ledger::StreamHead& head, Micros now) {
    return DecideInWriter(*p, head, now);
  };
  req.on_encoded = [this, p](ledger::schema::Event::Reader e) { OnEncoded(p->stream, e); };
  store_->AppendAsync(
      std::move(req), [p, done = std::move(done)](const ledger::Status& s, AppendResult& r) {
        CommandResult out;
        out.id = p->command.id;
        if (!s.ok()) {
          out.status = "rejected";
          out.code = "unavailable";
          out.message = s.ToString();
        } else if (r.kind == AppendResult::Kind::kRejected) {
          out.status = "rejected";
          out.code = r.rejection.code;
          out.message = r.rejection.message;
          out.report = std::move(p->report);
        } else {
          out.status = p->dry_run                                 ? "dry_run"
                       : r.kind == AppendResult::Kind::kDuplicate ? "duplicate"
                                                                  : "accepted";
          out.version = r.version;
          out.position = r.position;
          out.events = std::move(r.events);
          out.report = std::move(p->report);
          out.lease = std::move(p->lease);
          if (!out.lease && p->command.type == "checkout") {
            // A retried checkout (duplicate): its lease is named after the
            // version of its lease_granted event; the expiry is not kept.
            for (const auto& e : out.events) {
              if (e.type == "lease_granted") {
                out.lease =
                    LeaseOutcome{fmt::format("lease-{}", e.version), p->command.subscription, 0};
              }
            }
          }
        }
        done(std::move(out));
      });
}

void CommandService::SubmitJson(std::string_view json, Callback done) {
  Command cmd;
  BadRequest bad;
  if (ParseCommand(json, &cmd, &bad)) {
    Submit(std::move(cmd), std::move(done));
    return;
  }
  ledger::RejectionRecord record;
  record.tenant = IsValidId(cmd.tenant) ? cmd.tenant : "";
  record.command_id = cmd.id;
  record.command_type = cmd.type;
  record.actor = cmd.actor;
  record.code = "bad_request";
  record.message = bad.ToString();
  record.command_json = std::string(json.substr(0, 65536));
  CommandResult out;
  out.status = "rejected";
  out.id = cmd.id;
  out.code = "bad_request";
  out.message = record.message;
  store_->RecordRejectionAsync(
      std::move(record),
      [out = std::move(out), done = std::move(done)](const ledger::Status&, AppendResult&) mutable {
        done(std::move(out));
      });
}

namespace {

CommandResult Wait(const std::function<void(CommandService::Callback)>& start) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<CommandResult> result;
  start([&](CommandResult r) {
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(r);
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

nlohmann::ordered_json RowsJson(const std::vector<ImportReport::Row>& rows) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    nlohmann::ordered_json j;
    if (r.line > 0)
      j["line"] = r.line;
    else
      j["row"] = r.index;
    j["user"] = r.user;
    j["email"] = r.email;
    if (!r.problem.empty()) j["problem"] = r.problem;
    list.push_back(std::move(j));
  }
  return list;
}

nlohmann::ordered_json ReportJson(const ImportReport& report) {
  nlohmann::ordered_json j;
  j["valid"] = RowsJson(report.valid);
  j["incomplete"] = RowsJson(report.incomplete);
  j["invalid"] = RowsJson(report.invalid);
  j["duplicates"] = RowsJson(report.duplicates);
  return j;
}

}  // namespace

CommandResult CommandService::Execute(Command command) {
  return Wait([&](Callback cb) { Submit(std::move(command), std::move(cb)); });
}

CommandResult CommandService::ExecuteJson(std::string_view json) {
  return Wait([&](Callback cb) { SubmitJson(json, std::move(cb)); });
}

std::string ImportReportJson(const ImportReport& report) { return ReportJson(report).dump(); }

std::string CommandResult::ToJson() const {
  nlohmann::ordered_json j;
  j["status"] = status;
  j["id"] = id;
  if (status == "rejected") {
    j["code"] = code;
    j["message"] = message;
  } else if (status != "dry_run") {
    j["version"] = version;
    j["position"] = position;
    nlohmann::ordered_json events_json = nlohmann::ordered_json::array();
    for (const auto& e : events) {
      events_json.push_back({{"type", e.type}, {"position", e.position}, {"version", e.version}});
    }
    j["events"] = std::move(events_json);
  }
  if (report) j["report"] = ReportJson(*report);
  if (lease && status != "rejected") {
    j["lease"] = lease->lease;
    j["subscription"] = lease->subscription;
    if (lease->expires_at != 0) j["expires_at"] = ledger::FormatRfc3339(lease->expires_at);
  }
  return j.dump();
}

ledger::Status LoadTenant(const ledger::Store& store, const std::string& tenant,
                          std::optional<Micros> upto, TenantState* state) {
  return LoadTenantAsOf(store, tenant, AsOf{.at = upto}, state);
}

ledger::Status LoadCatalog(const ledger::Store& store, Catalog* catalog) {
  *catalog = Catalog();
  auto c = store.ReadStream(kCatalogStream);
  for (; c->Valid(); c->Next()) EvolveCatalog(catalog, c->event().event());
  return c->status();
}

}  // namespace commands

// Command JSON parsing and validation (nlohmann-json).
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "commands/command.h"

namespace commands {
namespace {

using json = nlohmann::json;

enum class Kind {
  kId,     // DESIGN section 3 id
  kActor,  // an id or "system"
  kEmail,
  kName,    // free text, 1–200 characters
  kReason,  // free text, 1–1000 characters
  kRole,
  kSeatModel,
  kOverage,
  kChange,  // seat_decrease | edition_downgrade
  kTime,    // RFC 3339
  kSeats,   // 1–1,000,000
  kMaxGroups,
  kTrialDays,
  kLeaseTtl,
  kVersion,  // non-negative integer
  kBool,
  kIdList,  // non-empty list of distinct ids
  kRows,    // import rows
  kPurchaseOrder,
};

struct Field {
  const char* name;
  Kind kind;
  bool required;
};

struct TypeSpec {
  bool tenant;  // the command belongs to a tenant (all but define_product)
  std::vector<Field> fields;
};

const std::map<std::string, TypeSpec>& Specs() {
  static const std::map<std::string, TypeSpec> specs = {
      {"create_tenant", {true, {{"owner", Kind::kId, true}, {"owner_email", Kind::kEmail, true}}}},
      {"define_product",
       {false, {{"product", Kind::kId, true}, {"editions", Kind::kIdList, true}}}},
      {"invite_member",
       {true,
        {{"user", Kind::kId, true},
         {"email", Kind::kEmail, true},
         {"role", Kind::kRole, false},
         {"name", Kind::kName, false}}}},
      {"resend_invitation", {true, {{"user", Kind::kId, true}}}},
      {"accept_invitation", {true, {{"user", Kind::kId, false}}}},
      {"remove_member", {true, {{"user", Kind::kId, true}}}},
      {"change_role", {true, {{"user", Kind::kId, true}, {"role", Kind::kRole, true}}}},
      {"transfer_ownership", {true, {{"user", Kind::kId, true}}}},
      {"create_group", {true, {{"group", Kind::kId, true}, {"name", Kind::kName, true}}}},
      {"rename_group", {true, {{"group", Kind::kId, true}, {"name", Kind::kName, true}}}},
      {"delete_group", {true, {{"group", Kind::kId, true}}}},
      {"add_group_member", {true, {{"group", Kind::kId, true}, {"user", Kind::kId, true}}}},
      {"remove_group_member", {true, {{"group", Kind::kId, true}, {"user", Kind::kId, true}}}},
      {"purchase_subscription",
       {true,
        {{"subscription", Kind::kId, true},
         {"product", Kind::kId, true},
         {"edition", Kind::kId, true},
         {"seats", Kind::kSeats, true},
         {"seat_model", Kind::kSeatModel, false},
         {"period_start", Kind::kTime, true},
         {"period_end", Kind::kTime, true},
         {"auto_renew", Kind::kBool, false},
         {"overage", Kind::kOverage, false},
         {"max_groups", Kind::kMaxGroups, false},
         {"add_on_of", Kind::kId, false},
         {"trial_days", Kind::kTrialDays, false},
         {"lease_ttl_seconds", Kind::kLeaseTtl, false}}}},
      {"assign_seat", {true, {{"subscription", Kind::kId, true}, {"user", Kind::kId, true}}}},
      {"revoke_seat", {true, {{"subscription", Kind::kId, true}, {"user", Kind::kId, true}}}},
      {"assign_group", {true, {{"subscription", Kind::kId, true}, {"group", Kind::kId, true}}}},
      {"unassign_group", {true, {{"subscription", Kind::kId, true}, {"group", Kind::kId, true}}}},
      {"resize", {true, {{"subscription", Kind::kId, true}, {"seats", Kind::kSeats, true}}}},
      {"cancel_scheduled_change",
       {true, {{"subscription", Kind::kId, true}, {"change", Kind::kChange, false}}}},
      {"change_edition", {true, {{"subscription", Kind::kId, true}, {"edition", Kind::kId, true}}}},
      {"cancel_renewal", {true, {{"subscription", Kind::kId, true}}}},
      {"resume_renewal", {true, {{"subscription", Kind::kId, true}}}},
      {"convert_trial",
       {true,
        {{"subscription", Kind::kId, true},
         {"edition", Kind::kId, false},
         {"seats", Kind::kSeats, false}}}},
      {"set_purchase_order",
       {true, {{"subscription", Kind::kId, true}, {"purchase_order", Kind::kPurchaseOrder, true}}}},
      {"import_members",
       {true,
        {{"rows", Kind::kRows, true},
         {"subscription", Kind::kId, false},
         {"group", Kind::kId, false},
         {"commit", Kind::kBool, false}}}},
      {"checkout",
       {true,
        {{"subscription", Kind::kId, true},
         {"user", Kind::kId, true},
         {"device", Kind::kId, true}}}},
      {"heartbeat", {true, {{"lease", Kind::kId, true}}}},
      {"checkin", {true, {{"lease", Kind::kId, true}}}},
      {"tick", {true, {}}},
  };
  return specs;
}

const Field kEnvelope[] = {
    {"tenant", Kind::kId, false},
    {"actor", Kind::kActor, true},
    {"id", Kind::kId, false},
    {"at", Kind::kTime, false},
    {"expected_version", Kind::kVersion, false},
    {"effective_at", Kind::kTime, false},
    {"reason", Kind::kReason, false},
};

// Field name → (kind, required) for a command type: envelope plus the type's own fields.
// Built once per type.
using FieldTable = std::map<std::string, std::pair<Kind, bool>, std::less<>>;
const FieldTable& AllowedFields(const std::string& type) {
  static const std::map<std::string, FieldTable> tables = [] {
    std::map<std::string, FieldTable> t;
    for (const auto& [name, spec] : Specs()) {
      FieldTable& fields = t[name];
      for (const Field& f : kEnvelope) fields[f.name] = {f.kind, f.required};
      for (const Field& f : spec.fields) fields[f.name] = {f.kind, f.required};
    }
    return t;
  }();
  return tables.at(type);
}

bool Fail(BadRequest* err, std::string field, std::string message) {
  err->field = std::move(field);
  err->message = std::move(message);
  return false;
}

bool ReadString(const json& v, const std::string& field, std::string* out, BadRequest* err) {
  if (!v.is_string()) return Fail(err, field, "must be a string");
  *out = v.get<std::string>();
  return true;
}

bool ReadUint(const json& v, const std::string& field, uint64_t lo, uint64_t hi, uint64_t* out,
              BadRequest* err) {
  if (!v.is_number_integer()) return Fail(err, field, "must be an integer");
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
  } else {
    const int64_t i = v.get<int64_t>();
    if (i < 0) return Fail(err, field, fmt::format("must be between {} and {}", lo, hi));
    *out = static_cast<uint64_t>(i);
  }
  if (*out < lo || *out > hi)
    return Fail(err, field, fmt::format("must be between {} and {}", lo, hi));
  return true;
}

bool IsPrintableText(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Reads and checks the value of `name` (of kind `kind`) into `c`.
bool ReadField(const std::string& name, Kind kind, const json& v, Command* c, BadRequest* err) {
  std::string s;
  uint64_t n = 0;
  switch (kind) {
    case Kind::kId:
    case Kind::kActor:
      if (!ReadString(v, name, &s, err)) return false;
      if (!IsValidId(s)) {
        return Fail(err, name, "must be 1-128 characters of A-Z a-z 0-9 . _ @ + -");
      }
      break;
    case Kind::kEmail:
      if (!ReadString(v, name, &s, err)) return false;
      if (!IsValidEmail(s)) return Fail(err, name, "is not a valid e-mail address");
      break;
    case Kind::kName:
    case Kind::kReason:
    case Kind::kPurchaseOrder: {
      if (!ReadString(v, name, &s, err)) return false;
      const size_t max = kind == Kind::kReason ? 1000 : kind == Kind::kName ? 200 : 128;
      if (s.empty() || s.size() > max || !IsPrintableText(s)) {
        return Fail(err, name, fmt::format("must be 1-{} printable characters", max));
      }
      break;
    }
    case Kind::kRole:
      if (!ReadString(v, name, &s, err)) return false;
      if (s != "owner" && s != "admin" && s != "user_manager" && s != "member") {
        return Fail(err, name, "must be one of owner, admin, user_manager, member");
      }
      break;
    case Kind::kSeatModel:
      if (!ReadString(v, name, &s, err)) return false;
      if (s != "named" && s != "concurrent") return Fail(err, name, "must be named or concurrent");
      break;
    case Kind::kOverage:
      if (!ReadString(v, name, &s, err)) return false;
      if (s != "lock_all" && s != "deny_excess" && s != "allow") {
        return Fail(err, name, "must be one of lock_all, deny_excess, allow");
      }
      break;
    case Kind::kChange:
      if (!ReadString(v, name, &s, err)) return false;
      if (s != "seat_decrease" && s != "edition_downgrade") {
        return Fail(err, name, "must be seat_decrease or edition_downgrade");
      }
      break;
    case Kind::kTime: {
      if (!ReadString(v, name, &s, err)) return false;
      auto t = ledger::ParseRfc3339(s);
      if (!t) return Fail(err, name, "must be an RFC 3339 time such as 2026-01-05T09:00:00Z");
      if (name == "at") c->at = t;
      if (name == "effective_at") c->effective_at = t;
      if (name == "period_start") c->period_start = t;
      if (name == "period_end") c->period_end = t;
      return true;
    }
    case Kind::kSeats:
    case Kind::kMaxGroups:
    case Kind::kTrialDays:
    case Kind::kLeaseTtl: {
      const uint64_t hi = kind == Kind::kSeats       ? 1'000'000
                          : kind == Kind::kMaxGroups ? 100'000
                          : kind == Kind::kTrialDays ? 365
                                                     : 86'400;
      const uint64_t lo = kind == Kind::kLeaseTtl ? 60 : 1;
      if (!ReadUint(v, name, lo, hi, &n, err)) return false;
      const auto u = static_cast<uint32_t>(n);
      if (kind == Kind::kSeats) c->seats = u;
      if (kind == Kind::kMaxGroups) c->max_groups = u;
      if (kind == Kind::kTrialDays) c->trial_days = u;
      if (kind == Kind::kLeaseTtl) c->lease_ttl_seconds = u;
      return true;
    }
    case Kind::kVersion:
      if (!ReadUint(v, name, 0, UINT64_MAX, &n, err)) return false;
      c->expected_version = n;
      return true;
    case Kind::kBool:
      if (!v.is_boolean()) return Fail(err, name, "must be true or false");
      if (name == "auto_renew") c->auto_renew = v.get<bool>();
      if (name == "commit") c->commit = v.get<bool>();
      return true;
    case Kind::kIdList: {
      if (!v.is_array() || v.empty()) return Fail(err, name, "must be a non-empty list");
      std::vector<std::string> list;
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string f = fmt::format("{}[{}]", name, i);
        std::string item;
        if (!ReadString(v[i], f, &item, err)) return false;
        if (!IsValidId(item))
          return Fail(err, f, "must be 1-128 characters of A-Z a-z 0-9 . _ @ + -");
        for (const auto& seen : list) {
          if (seen == item) return Fail(err, f, "'" + item + "' appears twice");
        }
        list.push_back(item);
      }
      c->editions = std::move(list);
      return true;
    }
    case Kind::kRows: {
      if (!v.is_array() || v.empty()) return Fail(err, name, "must be a non-empty list of rows");
      if (v.size() > 100'000) return Fail(err, name, "more than 100000 rows");
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string f = fmt::format("rows[{}]", i);
        if (!v[i].is_object()) return Fail(err, f, "must be an object");
        ImportRow row;
        for (const auto& [key, value] : v[i].items()) {
          // The CSV line a row came from, and the CSV reader's finding (ledgerctl sends
          // both so a remote import reports lines as a local one does).
          if (key == "line") {
            if (!value.is_number_unsigned() || value.get<uint64_t>() < 1 ||
                value.get<uint64_t>() > 10'000'000) {
              return Fail(err, f + ".line", "must be a line number (1 or more)");
            }
            row.line = static_cast<int>(value.get<uint64_t>());
            continue;
          }
          std::string* target = key == "email"     ? &row.email
                                : key == "problem" ? &row.problem
                                : key == "user"    ? &row.user
                                : key == "name"    ? &row.name
                                : key == "role"    ? &row.role
                                                   : nullptr;
          if (target == nullptr) return Fail(err, f + "." + key, "unknown field");
          if (!value.is_null() && !ReadString(value, f + "." + key, target, err)) return false;
        }
        c->rows.push_back(std::move(row));
      }
      return true;
    }
  }
  // String-valued fields.
  if (name == "tenant")
    c->tenant = s;
  else if (name == "actor")
    c->actor = s;
  else if (name == "id")
    c->id = s;
  else if (name == "reason")
    c->reason = s;
  else if (name == "owner")
    c->owner = s;
  else if (name == "owner_email")
    c->owner_email = s;
  else if (name == "product")
    c->product = s;
  else if (name == "user")
    c->user = s;
  else if (name == "email")
    c->email = s;
  else if (name == "name")
    c->name = s;
  else if (name == "role")
    c->role = s;
  else if (name == "group")
    c->group = s;
  else if (name == "subscription")
    c->subscription = s;
  else if (name == "edition")
    c->edition = s;
  else if (name == "seat_model")
    c->seat_model = s;
  else if (name == "overage")
    c->overage = s;
  else if (name == "add_on_of")
    c->add_on_of = s;
  else if (name == "change")
    c->change = s;
  else if (name == "purchase_order")
    c->purchase_order = s;
  else if (name == "device")
    c->device = s;
  else if (name == "lease")
    c->lease = s;
  return true;
}

std::string GeneratedId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("gen-{:016x}{:016x}", rng(), rng());
}

}  // namespace

std::string BadRequest::ToString() const {
  return field.empty() ? message : field + ": " + message;
}

ledger::Digest Command::RequestHash() const { return ledger::Sha256(canonical_json); }

const std::vector<std::string>& CommandTypes() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> t;
    for (const auto& [name, spec] : Specs()) t.push_back(name);
    return t;
  }();
  return types;
}

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char ch : id) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '@' || ch == '+' ||
                    ch == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsValidEmail(std::string_view email) {
  if (email.size() < 3 || email.size() > 254) return false;
  const size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view domain = email.substr(at + 1);
  const size_t dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.') return false;
  for (unsigned char ch : email) {
    if (ch <= 0x20 || ch == 0x7f || ch == '<' || ch == '>' || ch == ',' || ch == ';' || ch == '"' ||
        ch == '(' || ch == ')') {
      return false;
    }
  }
  return domain.find("..") == std::string_view::npos;
}

bool ParseCommand(std::string_view text, Command* c, BadRequest* err) {
  *c = Command();
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Fail(err, "", "the request is not valid JSON");
  if (!doc.is_object()) return Fail(err, "", "a command must be a JSON object");
  // Best effort envelope first, so that even a rejected request names its tenant and actor.
  for (const char* f : {"tenant", "actor", "id", "type"}) {
    auto it = doc.find(f);
    if (it != doc.end() && it->is_string()) {
      const std::string v = it->get<std::string>();
      if (std::string_view(f) == "tenant") c->tenant = v;
      if (std::string_view(f) == "actor") c->actor = v;
      if (std::string_view(f) == "id") c->id = v;
      if (std::string_view(f) == "type") c->type = v;
    }
  }
  auto type_it = doc.find("type");
  if (type_it == doc.end()) return Fail(err, "type", "required");
  if (!type_it->is_string()) return Fail(err, "type", "must be a string");
  const auto spec_it = Specs().find(type_it->get<std::string>());
  if (spec_it == Specs().end()) {
    return Fail(err, "type", "unknown command type '" + type_it->get<std::string>() + "'");
  }
  const TypeSpec& spec = spec_it->second;

  const auto& allowed = AllowedFields(spec_it->first);
  for (const auto& [key, value] : doc.items()) {
    if (key == "type") continue;
    auto a = allowed.find(key);
    if (a == allowed.end()) {
      return Fail(err, key, "unknown field for " + c->type);
    }
    if (key == "tenant" && !spec.tenant) return Fail(err, key, "not allowed for " + c->type);
    if (!ReadField(key, a->second.first, value, c, err)) return false;
  }
  for (const auto& [name, kind_required] : allowed) {
    if (kind_required.second && !doc.contains(name)) return Fail(err, name, "required");
  }
  if (spec.tenant && !doc.contains("tenant")) return Fail(err, "tenant", "required");
  if (c->effective_at && c->reason.empty()) {
    return Fail(err, "reason", "required with effective_at (a backdated correction)");
  }
  if (c->period_start && c->period_end && *c->period_end <= *c->period_start) {
    return Fail(err, "period_end", "must be after period_start");
  }

  doc.erase("id");  // sorted keys, no id: the canonical form the request hash covers
  c->canonical_json = doc.dump();
  if (c->id.empty()) {
    c->id = GeneratedId();
    c->id_generated = true;
  }
  return true;
}

}  // namespace commands

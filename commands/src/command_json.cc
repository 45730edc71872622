// Command JSON parsing and validation: nlohmann-json documents, and the checks every reader
// shares (ReadMembers); flat commands are read faster in command_flat.cc.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>

#include "command_members.h"
#include "commands/command.h"

namespace commands {
namespace {

using json = nlohmann::json;
using internal::FieldValue;
using internal::Members;

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

bool ReadString(const FieldValue& v, const std::string& field, std::string* out, BadRequest* err) {
  if (!v.IsString()) return Fail(err, field, "must be a string");
  out->assign(v.String());
  return true;
}

bool ReadString(const json& v, const std::string& field, std::string* out, BadRequest* err) {
  return ReadString(FieldValue{&v}, field, out, err);
}

bool ReadUint(const FieldValue& value, const std::string& field, uint64_t lo, uint64_t hi,
              uint64_t* out, BadRequest* err) {
  if (value.node == nullptr) {
    if (value.scalar != FieldValue::Scalar::kUnsigned) {
      return Fail(err, field, "must be an integer");
    }
    *out = value.number;
  } else {
    const json& v = *value.node;
    if (!v.is_number_integer()) return Fail(err, field, "must be an integer");
    if (v.is_number_unsigned()) {
      *out = v.get<uint64_t>();
    } else {
      const int64_t i = v.get<int64_t>();
      if (i < 0) return Fail(err, field, fmt::format("must be between {} and {}", lo, hi));
      *out = static_cast<uint64_t>(i);
    }
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

constexpr const char* kIdRule = "must be 1-128 characters of A-Z a-z 0-9 . _ @ + -";

// What is wrong with `s` as the value of a string field of `kind` ("" when nothing is).
std::string StringProblem(Kind kind, const std::string& s) {
  switch (kind) {
    case Kind::kId:
    case Kind::kActor:
      return IsValidId(s) ? "" : kIdRule;
    case Kind::kEmail:
      return IsValidEmail(s) ? "" : "is not a valid e-mail address";
    case Kind::kName:
    case Kind::kReason:
    case Kind::kPurchaseOrder: {
      const size_t max = kind == Kind::kReason ? 1000 : kind == Kind::kName ? 200 : 128;
      const bool ok = !s.empty() && s.size() <= max && IsPrintableText(s);
      return ok ? "" : fmt::format("must be 1-{} printable characters", max);
    }
    case Kind::kRole:
      return s == "owner" || s == "admin" || s == "user_manager" || s == "member"
                 ? ""
                 : "must be one of owner, admin, user_manager, member";
    case Kind::kSeatModel:
      return s == "named" || s == "concurrent" ? "" : "must be named or concurrent";
    case Kind::kOverage:
      return s == "lock_all" || s == "deny_excess" || s == "allow"
                 ? ""
                 : "must be one of lock_all, deny_excess, allow";
    case Kind::kChange:
      return s == "seat_decrease" || s == "edition_downgrade"
                 ? ""
                 : "must be seat_decrease or edition_downgrade";
    case Kind::kTime:
    case Kind::kSeats:
    case Kind::kMaxGroups:
    case Kind::kTrialDays:
    case Kind::kLeaseTtl:
    case Kind::kVersion:
    case Kind::kBool:
    case Kind::kIdList:
    case Kind::kRows:
      break;  // not string fields
  }
  return "is not a text field";
}

// Stores the string field `name` into the Command member of that name.
void AssignString(const std::string& name, std::string value, Command* c) {
  static const std::unordered_map<std::string_view, std::string Command::*> kTargets = {
      {"tenant", &Command::tenant},
      {"actor", &Command::actor},
      {"id", &Command::id},
      {"reason", &Command::reason},
      {"owner", &Command::owner},
      {"owner_email", &Command::owner_email},
      {"product", &Command::product},
      {"user", &Command::user},
      {"email", &Command::email},
      {"name", &Command::name},
      {"role", &Command::role},
      {"group", &Command::group},
      {"subscription", &Command::subscription},
      {"edition", &Command::edition},
      {"seat_model", &Command::seat_model},
      {"overage", &Command::overage},
      {"add_on_of", &Command::add_on_of},
      {"change", &Command::change},
      {"purchase_order", &Command::purchase_order},
      {"device", &Command::device},
      {"lease", &Command::lease},
  };
  auto target = kTargets.find(name);
  if (target != kTargets.end()) c->*(target->second) = std::move(value);
}

bool ReadStringField(const std::string& name, Kind kind, const FieldValue& v, Command* c,
                     BadRequest* err) {
  std::string s;
  if (!ReadString(v, name, &s, err)) return false;
  const std::string problem = StringProblem(kind, s);
  if (!problem.empty()) return Fail(err, name, problem);
  AssignString(name, std::move(s), c);
  return true;
}

bool ReadTimeField(const std::string& name, const FieldValue& v, Command* c, BadRequest* err) {
  std::string s;
  if (!ReadString(v, name, &s, err)) return false;
  auto t = ledger::ParseRfc3339(s);
  if (!t) return Fail(err, name, "must be an RFC 3339 time such as 2026-01-05T09:00:00Z");
  if (name == "at") c->at = t;
  if (name == "effective_at") c->effective_at = t;
  if (name == "period_start") c->period_start = t;
  if (name == "period_end") c->period_end = t;
  return true;
}

// Seats, max_groups, trial_days and lease_ttl_seconds: bounded counts.
bool ReadCountField(const std::string& name, Kind kind, const FieldValue& v, Command* c,
                    BadRequest* err) {
  const uint64_t hi = kind == Kind::kSeats       ? 1'000'000
                      : kind == Kind::kMaxGroups ? 100'000
                      : kind == Kind::kTrialDays ? 365
                                                 : 86'400;
  const uint64_t lo = kind == Kind::kLeaseTtl ? 60 : 1;
  uint64_t n = 0;
  if (!ReadUint(v, name, lo, hi, &n, err)) return false;
  const auto u = static_cast<uint32_t>(n);
  if (kind == Kind::kSeats) c->seats = u;
  if (kind == Kind::kMaxGroups) c->max_groups = u;
  if (kind == Kind::kTrialDays) c->trial_days = u;
  if (kind == Kind::kLeaseTtl) c->lease_ttl_seconds = u;
  return true;
}

bool ReadBoolField(const std::string& name, const FieldValue& v, Command* c, BadRequest* err) {
  const bool is_bool =
      v.node != nullptr ? v.node->is_boolean() : v.scalar == FieldValue::Scalar::kBool;
  if (!is_bool) return Fail(err, name, "must be true or false");
  const bool b = v.node != nullptr ? v.node->get<bool>() : v.flag;
  if (name == "auto_renew") c->auto_renew = b;
  if (name == "commit") c->commit = b;
  return true;
}

// A non-empty list of distinct ids (the editions of define_product).
bool ReadIdListField(const std::string& name, const FieldValue& v, Command* c, BadRequest* err) {
  if (v.node == nullptr || !v.node->is_array() || v.node->empty()) {
    return Fail(err, name, "must be a non-empty list");
  }
  const json& list_json = *v.node;
  std::vector<std::string> list;
  for (size_t i = 0; i < list_json.size(); ++i) {
    const std::string f = fmt::format("{}[{}]", name, i);
    std::string item;
    if (!ReadString(list_json[i], f, &item, err)) return false;
    if (!IsValidId(item)) return Fail(err, f, kIdRule);
    for (const auto& seen : list) {
      if (seen == item) return Fail(err, f, "'" + item + "' appears twice");
    }
    list.push_back(item);
  }
  c->editions = std::move(list);
  return true;
}

// One row of import_members; `f` names it ("rows[3]").
bool ReadImportRow(const json& value_json, const std::string& f, ImportRow* row, BadRequest* err) {
  if (!value_json.is_object()) return Fail(err, f, "must be an object");
  for (const auto& [key, value] : value_json.items()) {
    // The CSV line a row came from, and the CSV reader's finding (ledgerctl sends
    // both so a remote import reports lines as a local one does).
    if (key == "line") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() < 1 ||
          value.get<uint64_t>() > 10'000'000) {
        return Fail(err, f + ".line", "must be a line number (1 or more)");
      }
      row->line = static_cast<int>(value.get<uint64_t>());
      continue;
    }
    std::string* target = key == "email"     ? &row->email
                          : key == "problem" ? &row->problem
                          : key == "user"    ? &row->user
                          : key == "name"    ? &row->name
                          : key == "role"    ? &row->role
                                             : nullptr;
    if (target == nullptr) return Fail(err, f + "." + key, "unknown field");
    if (!value.is_null() && !ReadString(value, f + "." + key, target, err)) return false;
  }
  return true;
}

bool ReadRowsField(const std::string& name, const FieldValue& v, Command* c, BadRequest* err) {
  if (v.node == nullptr || !v.node->is_array() || v.node->empty()) {
    return Fail(err, name, "must be a non-empty list of rows");
  }
  const json& rows = *v.node;
  if (rows.size() > 100'000) return Fail(err, name, "more than 100000 rows");
  for (size_t i = 0; i < rows.size(); ++i) {
    ImportRow row;
    if (!ReadImportRow(rows[i], fmt::format("rows[{}]", i), &row, err)) return false;
    c->rows.push_back(std::move(row));
  }
  return true;
}

// Reads and checks the value of `name` (of kind `kind`) into `c`.
bool ReadField(const std::string& name, Kind kind, const FieldValue& v, Command* c,
               BadRequest* err) {
  switch (kind) {
    case Kind::kId:
    case Kind::kActor:
    case Kind::kEmail:
    case Kind::kName:
    case Kind::kReason:
    case Kind::kPurchaseOrder:
    case Kind::kRole:
    case Kind::kSeatModel:
    case Kind::kOverage:
    case Kind::kChange:
      return ReadStringField(name, kind, v, c, err);
    case Kind::kTime:
      return ReadTimeField(name, v, c, err);
    case Kind::kSeats:
    case Kind::kMaxGroups:
    case Kind::kTrialDays:
    case Kind::kLeaseTtl:
      return ReadCountField(name, kind, v, c, err);
    case Kind::kVersion: {
      uint64_t n = 0;
      if (!ReadUint(v, name, 0, UINT64_MAX, &n, err)) return false;
      c->expected_version = n;
      return true;
    }
    case Kind::kBool:
      return ReadBoolField(name, v, c, err);
    case Kind::kIdList:
      return ReadIdListField(name, v, c, err);
    case Kind::kRows:
      return ReadRowsField(name, v, c, err);
  }
  return Fail(err, name, "has an unknown kind");
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

namespace {

const FieldValue* FindMember(const Members& members, std::string_view key) {
  for (const auto& [k, v] : members) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace

namespace internal {

bool ReadMembers(const Members& members, Command* c, BadRequest* err) {
  // Best effort envelope first, so that even a rejected request names its tenant and actor.
  for (const auto& [key, value] : members) {
    if (!value.IsString()) continue;
    if (key == "tenant") c->tenant = value.String();
    if (key == "actor") c->actor = value.String();
    if (key == "id") c->id = value.String();
    if (key == "type") c->type = value.String();
  }
  const FieldValue* type = FindMember(members, "type");
  if (type == nullptr) return Fail(err, "type", "required");
  if (!type->IsString()) return Fail(err, "type", "must be a string");
  const auto spec_it = Specs().find(c->type);
  if (spec_it == Specs().end()) {
    return Fail(err, "type", "unknown command type '" + c->type + "'");
  }
  const TypeSpec& spec = spec_it->second;

  const FieldTable& allowed = AllowedFields(spec_it->first);
  std::string name;
  auto a = allowed.begin();  // both in key order: one walk finds every member's field
  for (const auto& [key, value] : members) {
    if (key == "type") continue;
    name.assign(key);
    while (a != allowed.end() && a->first < key) ++a;
    if (a == allowed.end() || a->first != key) {
      return Fail(err, name, "unknown field for " + c->type);
    }
    if (key == "tenant" && !spec.tenant) return Fail(err, name, "not allowed for " + c->type);
    if (!ReadField(name, a->second.first, value, c, err)) return false;
  }
  // Both in key order: one walk finds the first required field missing.
  auto member = members.begin();
  for (const auto& [field, kind_required] : allowed) {
    while (member != members.end() && member->first < field) ++member;
    const bool present = member != members.end() && member->first == field;
    if (kind_required.second && !present) return Fail(err, field, "required");
  }
  if (spec.tenant && FindMember(members, "tenant") == nullptr) {
    return Fail(err, "tenant", "required");
  }
  if (c->effective_at && c->reason.empty()) {
    return Fail(err, "reason", "required with effective_at (a backdated correction)");
  }
  if (c->period_start && c->period_end && *c->period_end <= *c->period_start) {
    return Fail(err, "period_end", "must be after period_start");
  }
  return true;
}

}  // namespace internal

bool ParseCommandDocument(std::string_view text, Command* c, BadRequest* err) {
  *c = Command();
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Fail(err, "", "the request is not valid JSON");
  if (!doc.is_object()) return Fail(err, "", "a command must be a JSON object");
  internal::Members members;
  members.reserve(doc.size());
  for (const auto& [key, value] : doc.items()) {
    members.emplace_back(key, internal::FieldValue{&value});
  }
  if (!internal::ReadMembers(members, c, err)) return false;
  doc.erase("id");  // sorted keys, no id: the canonical form the request hash covers
  c->canonical_json = doc.dump();
  return true;
}

bool ParseCommand(std::string_view text, Command* c, BadRequest* err) {
  *c = Command();
  bool flat = false;
  const bool ok = internal::ParseFlatCommand(text, c, err, &flat) ||
                  (!flat && ParseCommandDocument(text, c, err));
  if (!ok) return false;
  if (c->id.empty()) {
    c->id = GeneratedId();
    c->id_generated = true;
  }
  return true;
}

bool TakesFlatReader(std::string_view text) {
  Command c;
  BadRequest bad;
  bool flat = false;
  internal::ParseFlatCommand(text, &c, &bad, &flat);
  return flat;
}

}  // namespace commands

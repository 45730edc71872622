#include "replay/digest.h"

namespace replay {

using nlohmann::json;

ledger::Status CollectDigest(const ledger::Store& store, const std::optional<std::string>& tenant,
                             std::vector<DigestEntry>* entries) {
  entries->clear();
  if (tenant) {
    ledger::StreamHead head;
    ledger::Status s = store.GetHead(*tenant, &head);
    if (!s.ok()) return s;
    if (head.version == 0) return ledger::Status::NotFound("unknown tenant " + *tenant);
    entries->push_back({*tenant, head.version, head.hash});
    return ledger::Status::OK();
  }
  return store.ForEachHead([&](std::string_view t, const ledger::StreamHead& head) {
    entries->push_back({std::string(t), head.version, head.hash});
    return true;
  });
}

json DigestJson(const std::vector<DigestEntry>& entries, uint64_t ledger_position) {
  json tenants = json::array();
  for (const auto& e : entries) {
    tenants.push_back(
        {{"tenant", e.tenant}, {"version", e.version}, {"hash", ledger::ToHex(e.hash)}});
  }
  return {{"ledger_position", ledger_position}, {"tenants", std::move(tenants)}};
}

ledger::Status ParseDigest(const std::string& text, std::vector<DigestEntry>* entries) {
  entries->clear();
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("tenants") || !j["tenants"].is_array()) {
    return ledger::Status::InvalidArgument(
        "digest: expected a JSON object with a \"tenants\" array (as `digest --json` prints)");
  }
  for (const auto& t : j["tenants"]) {
    DigestEntry e;
    if (!t.is_object() || !t.contains("tenant") || !t["tenant"].is_string() ||
        !t.contains("version") || !t["version"].is_number_unsigned() || !t.contains("hash") ||
        !t["hash"].is_string() || !ledger::FromHex(t["hash"].get<std::string>(), &e.hash)) {
      return ledger::Status::InvalidArgument(
          "digest: each tenant needs \"tenant\", \"version\" and a 64-hex-digit \"hash\": " +
          t.dump());
    }
    e.tenant = t["tenant"].get<std::string>();
    e.version = t["version"].get<uint64_t>();
    entries->push_back(std::move(e));
  }
  return ledger::Status::OK();
}

}  // namespace replay

#include "replay/verify_export.h"

#include <fmt/format.h>
#include <kj/exception.h>

#include <map>
#include <nlohmann/json.hpp>

#include "ledger/event.h"
#include "ledger/sha256.h"

namespace replay {
namespace {

using ledger::Status;

std::string HexOf(capnp::Data::Reader d) {
  ledger::Digest digest{};
  if (d.size() != digest.size()) return "";
  std::copy(d.begin(), d.end(), digest.begin());
  return ledger::ToHex(digest);
}

// One event line: decoded, re-hashed, chained after `previous`; its hash into *hash.
Status CheckEvent(const nlohmann::json& line, const std::string& tenant, uint64_t version,
                  const std::string& previous, std::string* hash) {
  const std::string where = fmt::format("event at version {}", version);
  std::string bytes;
  if (!line.is_object() || !line.contains("bytes") || !line["bytes"].is_string() ||
      !FromBase64(line["bytes"].get<std::string>(), &bytes)) {
    return Status::Corruption(where + ": no stored bytes (base64)");
  }
  ledger::StoredEvent stored;
  if (!stored.Parse(bytes).ok()) return Status::Corruption(where + ": its bytes cannot be read");
  try {
    const auto e = stored.event();
    const std::string at =
        fmt::format("event at version {} (position {})", e.getVersion(), e.getPosition());
    if (std::string(e.getTenant().cStr()) != tenant) {
      return Status::Corruption(
          fmt::format("{}: of tenant '{}', not '{}'", at, e.getTenant().cStr(), tenant));
    }
    if (e.getVersion() != version) {
      return Status::Corruption(
          fmt::format("{}: version {} expected (a gap or a reorder)", at, version));
    }
    if (HexOf(e.getPrevHash()) != previous) {
      return Status::Corruption(at + ": prev_hash is not the previous event's hash");
    }
    if (!stored.HashMatches()) {
      return Status::Corruption(at + ": its bytes do not hash to its hash (altered)");
    }
    *hash = HexOf(e.getHash());
    if (line.value("version", uint64_t{0}) != e.getVersion() ||
        line.value("position", uint64_t{0}) != e.getPosition() ||
        line.value("hash", std::string()) != *hash ||
        line.value("prev_hash", std::string()) != previous) {
      return Status::Corruption(at + ": the JSON fields differ from the stored bytes");
    }
  } catch (const kj::Exception&) {
    return Status::Corruption(where + ": its bytes cannot be read");
  } catch (const nlohmann::json::exception&) {
    return Status::Corruption(where + ": the JSON fields differ from the stored bytes");
  }
  return Status::OK();
}

// The checkpoint `note` (signed by `key`, of `tenant`) against the export's hashes.
Status CheckCheckpoint(const std::string& note, const PublicKeyBytes& key, const std::string& what,
                       const std::string& tenant, const std::map<uint64_t, std::string>& hashes,
                       uint64_t* version) {
  TenantCheckpoint c;
  Status s = OpenCheckpoint(note, key, &c);
  if (!s.ok()) return Status::Corruption(what + ": " + s.message());
  if (c.tenant != tenant) {
    return Status::Corruption(fmt::format("{} is of tenant '{}'", what, c.tenant));
  }
  auto it = hashes.find(c.version);
  if (it == hashes.end()) {
    return Status::Corruption(fmt::format(
        "{} is at version {}, not in the export (truncated, or before it)", what, c.version));
  }
  if (it->second != ledger::ToHex(c.hash)) {
    return Status::Corruption(fmt::format(
        "event at version {}: its hash is not the one signed in {} (rewritten)", c.version, what));
  }
  *version = c.version;
  return Status::OK();
}

}  // namespace

Status VerifyExport(std::istream& in, const PublicKeyBytes& key,
                    const std::optional<std::string>& since_note, ExportProof* proof) {
  std::string text;
  if (!std::getline(in, text)) return Status::Corruption("the export is empty");
  const nlohmann::json first = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!first.is_object() || !first.contains("manifest") || !first["manifest"].is_object()) {
    return Status::Corruption("the first line is not a manifest");
  }
  const nlohmann::json& m = first["manifest"];
  try {
    proof->tenant = m.at("tenant").get<std::string>();
    proof->first_version = m.at("first_version").get<uint64_t>();
    std::string previous = m.at("prev_hash").is_string() ? m["prev_hash"].get<std::string>() : "";
    std::map<uint64_t, std::string> hashes;
    uint64_t version = proof->first_version;
    while (std::getline(in, text)) {
      if (text.empty()) continue;
      const nlohmann::json line = nlohmann::json::parse(text, nullptr, false);
      std::string hash;
      Status s = CheckEvent(line, proof->tenant, version, previous, &hash);
      if (!s.ok()) return s;
      hashes[version++] = hash;
      previous = hash;
    }
    proof->events = hashes.size();
    if (hashes.empty()) return Status::Corruption("the export holds no events");
    proof->last_version = hashes.rbegin()->first;
    if (m.at("count").get<uint64_t>() != proof->events ||
        m.at("last_version").get<uint64_t>() != proof->last_version) {
      return Status::Corruption(fmt::format(
          "the manifest says {} events to version {}; the export holds {} to version {} (cut "
          "off or padded)",
          m["count"].get<uint64_t>(), m["last_version"].get<uint64_t>(), proof->events,
          proof->last_version));
    }
    if (m.at("head_hash") != hashes.rbegin()->second) {
      return Status::Corruption("the manifest's head hash is not the last event's");
    }
    if (!m.at("checkpoint").is_string()) {
      return Status::Corruption("the export carries no signed checkpoint");
    }
    Status s = CheckCheckpoint(m["checkpoint"].get<std::string>(), key, "the export's checkpoint",
                               proof->tenant, hashes, &proof->checkpoint_version);
    if (s.ok() && since_note) {
      s = CheckCheckpoint(*since_note, key, "the older checkpoint", proof->tenant, hashes,
                          &proof->since_version);
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("the manifest lacks a field: ") + e.what());
  }
}

}  // namespace replay

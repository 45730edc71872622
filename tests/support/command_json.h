// Commands as tests write them: a JSON object with its type and actor, for tenant acme
// unless the fields name another (define_product has none).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ledger::testing {

// `fields` with "type", "actor" and (except define_product) "tenant" set.
inline nlohmann::json CommandJson(const std::string& type, const std::string& actor,
                                  nlohmann::json fields) {
  fields["type"] = type;
  fields["actor"] = actor;
  if (type != "define_product") fields["tenant"] = fields.value("tenant", "acme");
  return fields;
}

}  // namespace ledger::testing

// The commands that give tenant acme (owner olga) one floating seat of product pcon and
// check it out for olga on device "pc": a lease of the shortest TTL allowed (60 s), for
// tests of lease expiry on the system clock.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ledger::testing {

inline std::vector<std::string> FloatingSeatCheckedOut() {
  using json = nlohmann::json;
  auto acme = [](json fields) {
    fields["tenant"] = "acme";
    return fields.dump();
  };
  return {
      json{{"type", "define_product"},
           {"actor", "system"},
           {"product", "pcon"},
           {"editions", {"std"}}}
          .dump(),
      acme({{"type", "create_tenant"},
            {"actor", "system"},
            {"owner", "olga"},
            {"owner_email", "olga@acme.test"}}),
      acme({{"type", "purchase_subscription"},
            {"actor", "olga"},
            {"subscription", "F1"},
            {"product", "pcon"},
            {"edition", "std"},
            {"seats", 1},
            {"seat_model", "concurrent"},
            {"lease_ttl_seconds", 60},  // the shortest TTL allowed
            {"period_start", "2026-01-01T00:00:00Z"},
            {"period_end", "2099-01-01T00:00:00Z"}}),
      acme({{"type", "assign_seat"}, {"actor", "olga"}, {"subscription", "F1"}, {"user", "olga"}}),
      acme({{"type", "checkout"},
            {"actor", "olga"},
            {"subscription", "F1"},
            {"user", "olga"},
            {"device", "pc"}}),
  };
}

}  // namespace ledger::testing

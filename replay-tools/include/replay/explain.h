// ledger-replay explain: why a user may or may not use a product at a time — the R18
// answer and the chain of events that decided it, each with a one-line summary and its
// consequence ("carol added to group pro by olga → 3 users on 2 seats → subscription
// locked (lock_all)").
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "ledger/store.h"
#include "projections/view_reader.h"

namespace replay {

// Whose access, to what, when (nullopt: now).
struct ExplainQuery {
  std::string tenant;
  std::string user;
  std::string product;
  std::optional<ledger::Micros> at;
};

// {"tenant","user","product","at","allowed","reason","subscription","because":[{"position",
// "type","recorded_at","effective_at","actor","summary","decision"}...],"omitted"}: the
// events after which the answer changed, oldest first (the last 32; "omitted" counts
// earlier ones), and a time-rule entry (position null) when time alone changed it by `at`.
ledger::Status Explain(const ledger::Store& store, const projections::ViewReader& reader,
                       const ExplainQuery& query, nlohmann::json* out);

// The answer and the chain as text, one line per deciding event.
void PrintExplain(const nlohmann::json& explain, std::ostream& out);

}  // namespace replay

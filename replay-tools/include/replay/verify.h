// ledger-replay verify: the whole ledger (or one tenant) checked against itself — every
// event decodes and sits at its position, positions and versions are gap-free, each
// stream's hash chain holds, heads and the stream index agree with the log, and every
// view row, index entry and snapshot equals what a fresh fold gives. Optionally, that the
// heads of a digest kept earlier are still in the history.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/store.h"
#include "projections/views.h"
#include "replay/digest.h"

namespace replay {

// What to verify.
struct VerifyOptions {
  std::optional<std::string> tenant;  // only this tenant's stream (no global gap check)
  std::vector<DigestEntry> digest;    // heads that must still be in the history
  bool check_views = true;            // compare the views with a fresh fold
  int threads = 2;                    // folding threads for the whole log
};

// One thing found wrong: where and what.
struct VerifyProblem {
  uint64_t position = 0;  // the first bad event's position (0: not tied to one event)
  std::string tenant;
  std::string what;
};

// The outcome. OK when `problems` is empty.
struct VerifyReport {
  uint64_t events = 0;
  uint64_t tenants = 0;
  bool views_checked = false;
  std::string views_note;               // why the views were not checked, if they were not
  std::vector<VerifyProblem> problems;  // sorted by position (0 last), at most 100 kept
  uint64_t problem_count = 0;
  double seconds = 0;

  bool ok() const { return problem_count == 0; }
  // {"ok","events","tenants","views_checked","problems":[{"position","tenant","what"}],...}
  nlohmann::json ToJson() const;
};

// Runs every check. Returns non-OK only when verification itself could not run (I/O).
ledger::Status Verify(const ledger::Store& store, const projections::ViewProjector& views,
                      const VerifyOptions& options, VerifyReport* report);

}  // namespace replay

// How much of their work long tests do: LEDGER_TEST_SCALE (e.g. 0.1 under sanitizers,
// which run ~10x slower), 1 when unset.
#pragma once

#include <algorithm>
#include <cstdlib>

namespace ledger::testing {

// The LEDGER_TEST_SCALE factor, at least 0.01; 1 when the variable is unset.
inline double TestScale() {
  const char* scale = std::getenv("LEDGER_TEST_SCALE");
  return scale != nullptr ? std::max(0.01, std::atof(scale)) : 1.0;
}

// `full` scaled by TestScale(), and never fewer than `at_least`.
inline int Scaled(int full, int at_least) {
  return std::max(at_least, static_cast<int>(full * TestScale()));
}

}  // namespace ledger::testing

// Polling for tests that watch real processes converge (a takeover, a follower's copy).
#pragma once

#include <chrono>
#include <thread>

namespace ledger::testing {

// Polls `done` every 100 ms for up to `seconds`; true once it held.
template <typename Fn>
bool WaitFor(int seconds, Fn done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

}  // namespace ledger::testing

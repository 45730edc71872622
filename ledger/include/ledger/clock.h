// Clocks. A ledger is created with one clock mode and keeps it forever (DESIGN section 4):
// `system` stamps wall-clock time; `manual` takes the time from each command's `at`, which
// never goes backwards across the whole ledger.
#pragma once

#include <atomic>
#include <optional>
#include <string_view>

#include "ledger/status.h"
#include "ledger/time.h"

namespace ledger {

enum class ClockMode { kSystem, kManual };

// "system" or "manual".
std::string_view ClockModeName(ClockMode mode);
// Parses "system" or "manual".
std::optional<ClockMode> ParseClockMode(std::string_view text);

// A source of ledger time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // The current ledger time.
  virtual Micros Now() const = 0;
  // Which mode this clock implements.
  virtual ClockMode mode() const = 0;
};

// Wall-clock time (CLOCK_REALTIME).
class SystemClock final : public Clock {
 public:
  Micros Now() const override;
  ClockMode mode() const override { return ClockMode::kSystem; }
};

// Time that moves only when told to, and only forward.
class ManualClock final : public Clock {
 public:
  // Starts at `start` (the ledger's latest time when reopened).
  explicit ManualClock(Micros start = 0) : now_(start) {}

  Micros Now() const override { return now_.load(std::memory_order_acquire); }
  ClockMode mode() const override { return ClockMode::kManual; }

  // Moves the clock to `t`. InvalidArgument if `t` is earlier than Now(); moving to the
  // current time is allowed.
  Status AdvanceTo(Micros t);

 private:
  std::atomic<Micros> now_;
};

}  // namespace ledger

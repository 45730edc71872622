#include "ledger/clock.h"

#include <fmt/format.h>

#include <chrono>

namespace ledger {

std::string_view ClockModeName(ClockMode mode) {
  return mode == ClockMode::kManual ? "manual" : "system";
}

std::optional<ClockMode> ParseClockMode(std::string_view text) {
  if (text == "system") return ClockMode::kSystem;
  if (text == "manual") return ClockMode::kManual;
  return std::nullopt;
}

Micros SystemClock::Now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ManualClock::AdvanceTo(Micros t) {
  Micros current = now_.load(std::memory_order_acquire);
  while (true) {
    if (t < current) {
      return Status::InvalidArgument(fmt::format("at {} is earlier than the ledger time {}",
                                                 FormatRfc3339(t), FormatRfc3339(current)));
    }
    if (now_.compare_exchange_weak(current, t, std::memory_order_acq_rel)) return Status::OK();
  }
}

}  // namespace ledger

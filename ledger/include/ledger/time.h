// Ledger time: microseconds since the Unix epoch, UTC, and its RFC 3339 text form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger {

// Microseconds since 1970-01-01T00:00:00Z.
using Micros = int64_t;

inline constexpr Micros kMicrosPerSecond = 1'000'000;
inline constexpr Micros kMicrosPerDay = 86'400 * kMicrosPerSecond;

// Parses an RFC 3339 timestamp ("2026-01-05T09:00:00Z", "2026-01-05T09:00:00.25+01:00").
// Fractions beyond microseconds are truncated. Returns nullopt when the text is not a
// valid timestamp (including impossible dates such as February 30).
std::optional<Micros> ParseRfc3339(std::string_view text);

// Formats as RFC 3339 UTC: "2026-01-05T09:00:00Z", with ".ffffff" only when the time has
// a fractional second (trailing zeros trimmed).
std::string FormatRfc3339(Micros t);

// `t` moved by `months` calendar months (negative: back), keeping the time of day; a day
// of month past the end of the target month is clamped (Jan 31 + 1 month = Feb 28/29).
Micros AddMonths(Micros t, int months);

// The number of whole calendar months from `a` to `b` when `b` is exactly that many
// months after `a` (same day of month and time of day), else nullopt.
std::optional<int> WholeMonthsBetween(Micros a, Micros b);

}  // namespace ledger

#include "ledger/time.h"

#include <fmt/format.h>

#include <algorithm>

namespace ledger {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at text[*i]; false if any is not a digit.
bool Digits(std::string_view text, size_t* i, size_t n, int64_t* out) {
  if (*i + n > text.size()) return false;
  int64_t v = 0;
  for (size_t k = 0; k < n; ++k) {
    const char c = text[*i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* i, char a, char b = '\0') {
  if (*i >= text.size()) return false;
  const char c = text[*i];
  if (c != a && (b == '\0' || c != b)) return false;
  ++*i;
  return true;
}

}  // namespace

std::optional<Micros> ParseRfc3339(std::string_view text) {
  size_t i = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(text, &i, 4, &year) || !Expect(text, &i, '-') || !Digits(text, &i, 2, &month) ||
      !Expect(text, &i, '-') || !Digits(text, &i, 2, &day) || !Expect(text, &i, 'T', 't') ||
      !Digits(text, &i, 2, &hour) || !Expect(text, &i, ':') || !Digits(text, &i, 2, &minute) ||
      !Expect(text, &i, ':') || !Digits(text, &i, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, static_cast<unsigned>(month)) ||
      hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  int64_t micros = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (digits < 6) micros = micros * 10 + (text[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (size_t k = digits; k < 6; ++k) micros *= 10;
  }
  int64_t offset_seconds = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    const int64_t sign = text[i] == '+' ? 1 : -1;
    ++i;
    int64_t oh = 0, om = 0;
    if (!Digits(text, &i, 2, &oh) || !Expect(text, &i, ':') || !Digits(text, &i, 2, &om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return seconds * kMicrosPerSecond + micros;
}

std::string FormatRfc3339(Micros t) {
  int64_t seconds = t / kMicrosPerSecond;
  int64_t micros = t % kMicrosPerSecond;
  if (micros < 0) {
    micros += kMicrosPerSecond;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", y, m, d, rem / 3600,
                                (rem / 60) % 60, rem % 60);
  if (micros != 0) {
    std::string frac = fmt::format("{:06}", micros);
    while (frac.back() == '0') frac.pop_back();
    out += '.';
    out += frac;
  }
  out += 'Z';
  return out;
}

namespace {

struct Civil {
  int64_t y;
  unsigned m, d;
  Micros time_of_day;
};

Civil ToCivil(Micros t) {
  Micros day = t / kMicrosPerDay;
  Micros rem = t % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --day;
  }
  Civil c{};
  CivilFromDays(day, &c.y, &c.m, &c.d);
  c.time_of_day = rem;
  return c;
}

Micros FromCivil(const Civil& c) {
  return DaysFromCivil(c.y, c.m, c.d) * kMicrosPerDay + c.time_of_day;
}

}  // namespace

Micros AddMonths(Micros t, int months) {
  Civil c = ToCivil(t);
  int64_t index = c.y * 12 + (c.m - 1) + months;
  c.y = index >= 0 ? index / 12 : (index - 11) / 12;
  c.m = static_cast<unsigned>(index - c.y * 12) + 1;
  c.d = std::min(c.d, DaysInMonth(c.y, c.m));
  return FromCivil(c);
}

std::optional<int> WholeMonthsBetween(Micros a, Micros b) {
  const Civil ca = ToCivil(a), cb = ToCivil(b);
  if (ca.d != cb.d || ca.time_of_day != cb.time_of_day) return std::nullopt;
  const int64_t months = (cb.y * 12 + cb.m) - (ca.y * 12 + ca.m);
  if (months <= 0 || months > 1200) return std::nullopt;
  return static_cast<int>(months);
}

}  // namespace ledger

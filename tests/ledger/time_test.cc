// RFC 3339 time parsing and formatting, and the canonical event encoding.
#include "ledger/time.h"

#include <catch2/catch.hpp>

#include "ledger/clock.h"
#include "ledger/event.h"

using namespace ledger;

TEST_CASE("RFC 3339 timestamps parse to UTC microseconds", "[time]") {
  CHECK(ParseRfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(ParseRfc3339("2026-01-05T09:00:00Z") == 1767603600LL * kMicrosPerSecond);
  CHECK(ParseRfc3339("2026-01-05T10:00:00+01:00") == ParseRfc3339("2026-01-05T09:00:00Z"));
  CHECK(ParseRfc3339("2026-01-05T09:00:00.25Z") == *ParseRfc3339("2026-01-05T09:00:00Z") + 250000);
  CHECK(ParseRfc3339("2024-02-29T00:00:00Z").has_value());
  CHECK(ParseRfc3339("1969-12-31T23:59:59Z") == -kMicrosPerSecond);
}

TEST_CASE("malformed or impossible timestamps are refused", "[time]") {
  for (const char* bad : {"", "2026-01-05", "2026-01-05T09:00:00", "2026-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-01-05T24:00:00Z", "2026-01-05T09:00:00.Z",
                          "2026-01-05T09:00:00Zjunk", "2026-1-05T09:00:00Z", "yesterday"}) {
    INFO(bad);
    CHECK_FALSE(ParseRfc3339(bad).has_value());
  }
}

TEST_CASE("formatting round-trips and trims fractions", "[time]") {
  CHECK(FormatRfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(FormatRfc3339(*ParseRfc3339("2026-01-05T09:00:00.250Z")) == "2026-01-05T09:00:00.25Z");
  CHECK(FormatRfc3339(-1) == "1969-12-31T23:59:59.999999Z");
  for (const char* t : {"2000-02-29T12:34:56Z", "2099-12-31T23:59:59.000001Z"}) {
    CHECK(FormatRfc3339(*ParseRfc3339(t)) == t);
  }
}

TEST_CASE("the manual clock only moves forward", "[time][clock]") {
  ManualClock clock(100);
  CHECK(clock.Now() == 100);
  CHECK(clock.AdvanceTo(100).ok());
  CHECK(clock.AdvanceTo(200).ok());
  CHECK(clock.AdvanceTo(150).IsInvalidArgument());
  CHECK(clock.Now() == 200);
  CHECK(ParseClockMode("manual") == ClockMode::kManual);
  CHECK_FALSE(ParseClockMode("wall").has_value());
}

TEST_CASE("the same event always encodes to the same bytes and hash", "[event]") {
  auto build = [] {
    EventDraft d;
    auto s = d.payload().initSubscriptionPurchased();
    s.setSubscription("L10427");
    s.setProduct("pcon.planner");
    s.setSeats(2);
    auto e = d.root();
    e.setPosition(5);
    e.setTenant("acme");
    e.setVersion(3);
    const Digest zeros{};
    e.setPrevHash(capnp::Data::Reader(zeros.data(), zeros.size()));
    return d;
  };
  EventDraft a = build(), b = build();
  Digest ha{}, hb{};
  const std::string ba = EncodeCanonicalEvent(a.root(), &ha);
  const std::string bb = EncodeCanonicalEvent(b.root(), &hb);
  CHECK(ba == bb);
  CHECK(ToHex(ha) == ToHex(hb));
  StoredEvent stored;
  REQUIRE(stored.Parse(ba).ok());
  CHECK(stored.HashMatches());
  CHECK(stored.type_name() == "subscription_purchased");

  b.root().getPayload().getSubscriptionPurchased().setSeats(3);
  Digest hc{};
  EncodeCanonicalEvent(b.root(), &hc);
  CHECK(ToHex(hc) != ToHex(ha));
}

TEST_CASE("every payload variant has a snake_case event type name", "[event]") {
  CHECK(EventTypeName(PayloadKind::SEAT_ASSIGNED) == "seat_assigned");
  CHECK(EventTypeName(PayloadKind::SEAT_DECREASE_SCHEDULED) == "seat_decrease_scheduled");
  CHECK(EventTypeName(PayloadKind::LEASE_EXPIRED) == "lease_expired");
  PayloadKind k{};
  REQUIRE(EventKindFromName("renewal_cancelled", &k));
  CHECK(k == PayloadKind::RENEWAL_CANCELLED);
  CHECK_FALSE(EventKindFromName("seat_stolen", &k));
  CHECK(EventTypeName(static_cast<PayloadKind>(200)) == "unknown");
}

TEST_CASE("undecodable bytes are reported as corruption", "[event]") {
  StoredEvent e;
  CHECK(e.Parse("").IsCorruption());
  CHECK(e.Parse("1234567").IsCorruption());
  CHECK(e.Parse(std::string(16, '\xff')).IsCorruption());
}

TEST_CASE("calendar months: anniversaries and month-end clamping", "[time]") {
  auto t = [](const char* s) { return *ParseRfc3339(s); };
  CHECK(FormatRfc3339(AddMonths(t("2026-01-31T10:00:00Z"), 1)) == "2026-02-28T10:00:00Z");
  CHECK(FormatRfc3339(AddMonths(t("2027-03-15T00:00:00Z"), 12)) == "2028-03-15T00:00:00Z");
  CHECK(FormatRfc3339(AddMonths(t("2026-01-15T00:00:00Z"), -2)) == "2025-11-15T00:00:00Z");
  CHECK(WholeMonthsBetween(t("2026-01-01T00:00:00Z"), t("2027-01-01T00:00:00Z")) == 12);
  CHECK(WholeMonthsBetween(t("2026-01-01T00:00:00Z"), t("2026-02-01T00:00:00Z")) == 1);
  CHECK_FALSE(WholeMonthsBetween(t("2026-01-01T00:00:00Z"), t("2026-01-31T00:00:00Z")));
  CHECK_FALSE(WholeMonthsBetween(t("2026-01-01T00:00:00Z"), t("2026-02-01T00:00:01Z")));
}

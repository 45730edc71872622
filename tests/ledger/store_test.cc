// ledger::Store: appends, idempotency, atomicity, hash chain, reads, clock, rejections.
#include "ledger/store.h"

#include <rocksdb/env.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "support/store_helpers.h"
#include "support/temp_dir.h"
#include "support/test_scale.h"

using namespace ledger;
using ledger::testing::InviteRequest;
using ledger::testing::ReadAll;
using ledger::testing::TempDir;

namespace {

// An in-memory RocksDB for fast tests; the store is reopened on the same Env.
struct MemLedger {
  std::unique_ptr<rocksdb::Env> env{rocksdb::NewMemEnv(rocksdb::Env::Default())};
  std::unique_ptr<Store> store;
  ClockMode mode;

  explicit MemLedger(ClockMode m = ClockMode::kSystem) : mode(m) { Reopen(); }

  void Reopen(std::optional<ClockMode> requested = std::nullopt) {
    store.reset();
    StoreOptions options;
    options.env = env.get();
    options.clock_mode_if_new = requested.value_or(mode);
    Status s = Store::Open(options, "/ledger", &store);
    REQUIRE(s.ToString() == "OK");
  }

  AppendResult Append(AppendRequest req) {
    AppendResult result;
    Status s = store->Append(std::move(req), &result);
    REQUIRE(s.ToString() == "OK");
    return result;
  }
};

}  // namespace

TEST_CASE("appends get gap-free stream versions and global positions", "[store]") {
  MemLedger l;
  auto a1 = l.Append(InviteRequest("acme", "c1"));
  auto b1 = l.Append(InviteRequest("beta", "c1"));
  auto a2 = l.Append(InviteRequest("acme", "c2", 2));
  CHECK(a1.kind == AppendResult::Kind::kAccepted);
  CHECK(a1.version == 1);
  CHECK(a1.position == 1);
  CHECK(b1.version == 1);
  CHECK(b1.position == 2);
  CHECK(a2.version == 3);
  CHECK(a2.position == 4);
  REQUIRE(a2.events.size() == 2);
  CHECK(a2.events[0].position == 3);
  CHECK(a2.events[0].version == 2);
  CHECK(a2.events[0].type == "member_invited");
  CHECK(l.store->LastPosition() == 4);

  StreamHead head;
  REQUIRE(l.store->GetHead("acme", &head).ok());
  CHECK(head.version == 3);
  CHECK(head.position == 4);

  l.Reopen();
  CHECK(l.store->LastPosition() == 4);
  auto a3 = l.Append(InviteRequest("acme", "c3"));
  CHECK(a3.version == 4);
  CHECK(a3.position == 5);
}

TEST_CASE("the envelope is completed by the store", "[store]") {
  MemLedger l(ClockMode::kManual);
  AppendRequest req = InviteRequest("acme", "cmd-7", 2);
  req.at = ParseRfc3339("2026-01-05T09:00:00Z");
  req.events[1].caused_by = 1;
  req.events[1].reason = "cascade";
  req.events[0].effective_at = *ParseRfc3339("2026-01-01T00:00:00Z");
  l.Append(std::move(req));
  auto events = ReadAll(*l.store);
  REQUIRE(events.size() == 2);
  auto e0 = events[0].event();
  auto e1 = events[1].event();
  CHECK(std::string(e0.getTenant()) == "acme");
  CHECK(std::string(e0.getEventId()) == "acme/1");
  CHECK(std::string(e1.getEventId()) == "acme/2");
  CHECK(std::string(e0.getCommandId()) == "cmd-7");
  CHECK(std::string(e0.getActor()) == "system");
  CHECK(FormatRfc3339(e0.getRecordedAt()) == "2026-01-05T09:00:00Z");
  CHECK(FormatRfc3339(e0.getEffectiveAt()) == "2026-01-01T00:00:00Z");
  CHECK(FormatRfc3339(e1.getEffectiveAt()) == "2026-01-05T09:00:00Z");
  CHECK(e0.getCausation() == 0);
  CHECK(e1.getCausation() == 1);
  CHECK(std::string(e1.getReason()) == "cascade");
  CHECK(e0.getSchemaVersion() == kEventSchemaVersion);
  CHECK(std::string(e0.getPayload().getMemberInvited().getUser()) == "cmd-7-u0");
}

TEST_CASE("the same command id and content returns the original result and appends nothing",
          "[store][idempotency]") {
  MemLedger l;
  l.Append(InviteRequest("acme", "other"));
  auto first = l.Append(InviteRequest("acme", "c-42", 3));
  REQUIRE(first.kind == AppendResult::Kind::kAccepted);
  const uint64_t last = l.store->LastPosition();

  auto again = l.Append(InviteRequest("acme", "c-42", 3));
  CHECK(again.kind == AppendResult::Kind::kDuplicate);
  CHECK(again.version == first.version);
  CHECK(again.position == first.position);
  REQUIRE(again.events.size() == 3);
  CHECK(again.events[0].position == first.events[0].position);
  CHECK(again.events[2].version == first.events[2].version);
  CHECK(again.events[1].type == "member_invited");
  CHECK(l.store->LastPosition() == last);

  SECTION("forever: also after a reopen") {
    l.Reopen();
    auto later = l.Append(InviteRequest("acme", "c-42", 3));
    CHECK(later.kind == AppendResult::Kind::kDuplicate);
    CHECK(later.position == first.position);
    CHECK(l.store->LastPosition() == last);
  }
  SECTION("the same id in another tenant is another command") {
    auto other = l.Append(InviteRequest("beta", "c-42", 3));
    CHECK(other.kind == AppendResult::Kind::kAccepted);
  }
}

TEST_CASE("the same command id with different content is rejected idempotency_key_reused",
          "[store][idempotency]") {
  MemLedger l;
  l.Append(InviteRequest("acme", "c-42"));
  const uint64_t last = l.store->LastPosition();
  auto reused = l.Append(InviteRequest("acme", "c-42", 1, "different content"));
  CHECK(reused.kind == AppendResult::Kind::kRejected);
  CHECK(reused.rejection.code == "idempotency_key_reused");
  CHECK(reused.rejection.message.find("c-42") != std::string::npos);
  CHECK(l.store->LastPosition() == last);

  l.Reopen();
  auto later = l.Append(InviteRequest("acme", "c-42", 1, "different content"));
  CHECK(later.rejection.code == "idempotency_key_reused");
}

TEST_CASE("a multi-event command is appended whole or not at all", "[store][atomicity]") {
  MemLedger l;
  l.Append(InviteRequest("acme", "c1"));
  AppendRequest stale = InviteRequest("acme", "c2", 5);
  stale.expected_version = 0;  // the stream is at 1: conflict
  auto rejected = l.Append(std::move(stale));
  CHECK(rejected.kind == AppendResult::Kind::kRejected);
  CHECK(rejected.rejection.code == "conflict");
  CHECK(rejected.rejection.message.find("expected_version") != std::string::npos);
  CHECK(ReadAll(*l.store).size() == 1);

  AppendRequest good = InviteRequest("acme", "c3", 5);
  good.expected_version = 1;
  auto accepted = l.Append(std::move(good));
  CHECK(accepted.version == 6);
  auto events = ReadAll(*l.store);
  REQUIRE(events.size() == 6);
  for (size_t i = 1; i < events.size(); ++i) {
    CHECK(std::string(events[i].event().getCommandId()) == "c3");
    CHECK(events[i].version() == i + 1);
  }
}

TEST_CASE("each tenant stream is an unbroken SHA-256 chain", "[store][hash]") {
  MemLedger l;
  for (int i = 0; i < 20; ++i) {
    l.Append(InviteRequest(i % 3 == 0 ? "beta" : "acme", "c" + std::to_string(i), 1 + i % 2));
  }
  for (const std::string tenant : {"acme", "beta"}) {
    Digest prev{};
    uint64_t version = 0;
    for (auto c = l.store->ReadStream(tenant); c->Valid(); c->Next()) {
      const StoredEvent& e = c->event();
      ++version;
      CHECK(e.version() == version);
      auto p = e.event().getPrevHash();
      REQUIRE(p.size() == 32);
      CHECK(std::equal(p.begin(), p.end(), prev.begin()));
      CHECK(e.HashMatches());
      auto h = e.event().getHash();
      std::copy(h.begin(), h.end(), prev.begin());
    }
    StreamHead head;
    REQUIRE(l.store->GetHead(tenant, &head).ok());
    CHECK(head.version == version);
    CHECK(ToHex(head.hash) == ToHex(prev));
  }
}

TEST_CASE("a flipped byte in a stored event breaks its hash", "[store][hash]") {
  MemLedger l;
  l.Append(InviteRequest("acme", "c1"));
  auto events = ReadAll(*l.store);
  REQUIRE(events.size() == 1);
  REQUIRE(events[0].HashMatches());
  std::string bytes(events[0].bytes());
  // Flip a byte of the user id text (inside the payload).
  const size_t at = bytes.find("c1-u0");
  REQUIRE(at != std::string::npos);
  bytes[at] ^= 0x01;
  StoredEvent tampered;
  REQUIRE(tampered.Parse(bytes).ok());
  CHECK_FALSE(tampered.HashMatches());
}

TEST_CASE("reads stream a tenant's versions and the global log by range", "[store][read]") {
  MemLedger l;
  // 600 events across batches of the stream cursor (256).
  for (int i = 0; i < 300; ++i) {
    l.Append(InviteRequest("acme", "a" + std::to_string(i), 2));
    l.Append(InviteRequest("beta", "b" + std::to_string(i)));
  }
  std::vector<uint64_t> versions;
  for (auto c = l.store->ReadStream("acme", 250, 520); c->Valid(); c->Next()) {
    CHECK(std::string(c->event().event().getTenant()) == "acme");
    versions.push_back(c->event().version());
  }
  REQUIRE(versions.size() == 271);
  CHECK(versions.front() == 250);
  CHECK(versions.back() == 520);
  for (size_t i = 1; i < versions.size(); ++i) CHECK(versions[i] == versions[i - 1] + 1);

  std::vector<uint64_t> positions;
  for (auto c = l.store->ReadLog(100, 109); c->Valid(); c->Next()) {
    positions.push_back(c->event().position());
  }
  CHECK(positions == std::vector<uint64_t>{100, 101, 102, 103, 104, 105, 106, 107, 108, 109});
  CHECK_FALSE(l.store->ReadStream("nobody")->Valid());
  CHECK_FALSE(l.store->ReadLog(901)->Valid());
}

TEST_CASE("the clock mode is fixed when the ledger is created", "[store][clock]") {
  MemLedger l(ClockMode::kManual);
  CHECK(l.store->clock_mode() == ClockMode::kManual);
  l.Reopen(ClockMode::kSystem);
  CHECK(l.store->clock_mode() == ClockMode::kManual);
}

TEST_CASE("manual time never goes backwards and survives a reopen", "[store][clock]") {
  MemLedger l(ClockMode::kManual);
  AppendRequest r1 = InviteRequest("acme", "c1");
  r1.at = ParseRfc3339("2026-03-01T10:00:00Z");
  CHECK(l.Append(std::move(r1)).kind == AppendResult::Kind::kAccepted);
  CHECK(FormatRfc3339(l.store->LedgerTime()) == "2026-03-01T10:00:00Z");

  AppendRequest back = InviteRequest("acme", "c2");
  back.at = ParseRfc3339("2026-02-28T10:00:00Z");
  auto rejected = l.Append(std::move(back));
  CHECK(rejected.rejection.code == "bad_request");
  CHECK(rejected.rejection.message.rfind("at:", 0) == 0);

  AppendRequest same = InviteRequest("acme", "c3");
  same.at = ParseRfc3339("2026-03-01T10:00:00Z");
  CHECK(l.Append(std::move(same)).kind == AppendResult::Kind::kAccepted);

  // Without `at`, a command happens at the ledger's current time.
  l.Append(InviteRequest("acme", "c4"));
  auto events = ReadAll(*l.store);
  CHECK(FormatRfc3339(events.back().event().getRecordedAt()) == "2026-03-01T10:00:00Z");

  l.Reopen();
  CHECK(FormatRfc3339(l.store->LedgerTime()) == "2026-03-01T10:00:00Z");
  AppendRequest after = InviteRequest("acme", "c5");
  after.at = ParseRfc3339("2026-02-01T00:00:00Z");
  CHECK(l.Append(std::move(after)).rejection.code == "bad_request");
}

TEST_CASE("the system clock refuses `at` and stamps non-decreasing time", "[store][clock]") {
  MemLedger l(ClockMode::kSystem);
  AppendRequest r = InviteRequest("acme", "c1");
  r.at = ParseRfc3339("2026-03-01T10:00:00Z");
  auto rejected = l.Append(std::move(r));
  CHECK(rejected.rejection.code == "bad_request");
  const Micros before = SystemClock().Now();
  l.Append(InviteRequest("acme", "c2"));
  l.Append(InviteRequest("acme", "c3"));
  auto events = ReadAll(*l.store);
  REQUIRE(events.size() == 2);
  CHECK(events[0].event().getRecordedAt() >= before);
  CHECK(events[1].event().getRecordedAt() >= events[0].event().getRecordedAt());
}

TEST_CASE("rejections are kept in the rejection log, in order, durably", "[store][rejections]") {
  MemLedger l;
  l.Append(InviteRequest("acme", "c1"));
  AppendRequest stale = InviteRequest("acme", "c2");
  stale.expected_version = 7;
  stale.actor = "alice";
  stale.command_json = R"({"type":"invite_member"})";
  l.Append(std::move(stale));

  RejectionRecord forbidden;
  forbidden.tenant = "acme";
  forbidden.command_id = "c3";
  forbidden.command_type = "assign_seat";
  forbidden.actor = "mallory";
  forbidden.code = "forbidden";
  forbidden.message = "actor: mallory may not assign seats";
  REQUIRE(l.store->RecordRejection(forbidden).ok());
  l.Reopen();

  std::vector<RejectionRecord> seen;
  REQUIRE(l.store
              ->ForEachRejection("acme",
                                 [&](const RejectionRecord& r) {
                                   seen.push_back(r);
                                   return true;
                                 })
              .ok());
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].code == "conflict");
  CHECK(seen[0].actor == "alice");
  CHECK(seen[0].command_id == "c2");
  CHECK(seen[0].command_json == R"({"type":"invite_member"})");
  CHECK(seen[1].code == "forbidden");
  CHECK(seen[1].actor == "mallory");
  CHECK(seen[1].sequence > seen[0].sequence);
  CHECK(seen[1].at > 0);
  size_t other = 0;
  REQUIRE(l.store
              ->ForEachRejection("beta",
                                 [&](const RejectionRecord&) {
                                   ++other;
                                   return true;
                                 })
              .ok());
  CHECK(other == 0);
}

TEST_CASE("a decide function sees the head including earlier appends", "[store][decide]") {
  MemLedger l;
  l.Append(InviteRequest("acme", "c1", 2));
  AppendRequest req;
  req.tenant = "acme";
  req.command_id = "c2";
  req.actor = "alice";
  uint64_t seen_version = 0;
  req.decide = [&](const StreamHead& head, Micros) {
    seen_version = head.version;
    Decision d;
    d.events.push_back(testing::InviteDraft("decided"));
    d.events.push_back(testing::InviteDraft("cascade"));
    d.events[0].caused_by = 2;  // caused by the later event of the same command
    return d;
  };
  auto r = l.Append(std::move(req));
  CHECK(seen_version == 2);
  CHECK(r.version == 4);
  auto events = ReadAll(*l.store);
  REQUIRE(events.size() == 4);
  CHECK(events[2].event().getCausation() == 4);
  CHECK(events[3].event().getCausation() == 0);

  AppendRequest no;
  no.tenant = "acme";
  no.command_id = "c3";
  no.decide = [](const StreamHead&, Micros) {
    Decision d;
    d.rejection = Rejected{"seat_limit_reached", "no seat left"};
    return d;
  };
  auto rejected = l.Append(std::move(no));
  CHECK(rejected.rejection.code == "seat_limit_reached");
  CHECK(l.store->LastPosition() == 4);
}

TEST_CASE("time-driven effects are appended first as their own command, even on rejection",
          "[store][decide]") {
  MemLedger l;
  l.Append(InviteRequest("acme", "c1"));
  AppendRequest req;
  req.tenant = "acme";
  req.command_id = "c2";
  req.actor = "alice";
  req.decide = [](const StreamHead&, Micros) {
    Decision d;
    d.prelude.push_back(testing::InviteDraft("due"));
    d.prelude_command_id = "clock@1";
    d.rejection = Rejected{"forbidden", "actor: alice may not"};
    return d;
  };
  auto r = l.Append(std::move(req));
  CHECK(r.rejection.code == "forbidden");
  CHECK(l.store->LastPosition() == 2);
  AppendResult clock;
  REQUIRE(l.store->LookupCommand("acme", "clock@1", &clock).ok());
  CHECK(clock.version == 2);
  auto events = ReadAll(*l.store);
  CHECK(std::string(events[1].event().getCommandId()) == "clock@1");
  CHECK(std::string(events[1].event().getActor()) == "system");
}

TEST_CASE("requests without tenant or id are bad requests", "[store]") {
  MemLedger l;
  auto r = l.Append(InviteRequest("", "c1"));
  CHECK(r.rejection.code == "bad_request");
  CHECK(r.rejection.message == "tenant: required");
  auto r2 = l.Append(InviteRequest("acme", ""));
  CHECK(r2.rejection.message == "id: required");
  CHECK(l.store->LastPosition() == 0);
}

TEST_CASE("read-only and secondary opens: repeated reads give the same answers", "[store][read]") {
  // On disk, closed cleanly (rows in table files), as ledgerctl check and ledger-replay
  // find it. RocksDB 7.8's row cache answered the second Get NotFound on such opens.
  TempDir dir;
  {
    StoreOptions options;
    std::unique_ptr<Store> store;
    REQUIRE(Store::Open(options, dir / "ledger", &store).ok());
    AppendResult r;
    REQUIRE(store->Append(InviteRequest("acme", "c1", 2), &r).ok());
  }
  const bool secondary = GENERATE(false, true);
  StoreOptions options;
  options.read_only = true;
  if (secondary) options.secondary_path = dir / "secondary";
  std::unique_ptr<Store> store;
  REQUIRE(Store::Open(options, dir / "ledger", &store).ToString() == "OK");
  for (int i = 0; i < 3; ++i) {
    INFO("read " << i << (secondary ? " (secondary)" : " (read-only)"));
    StreamHead head;
    REQUIRE(store->GetHead("acme", &head).ok());
    CHECK(head.version == 2);
    AppendResult known;
    CHECK(store->LookupCommand("acme", "c1", &known).ok());
    CHECK(known.version == 2);
  }
}

TEST_CASE("a secondary opened while the writer flushes sees whole batches", "[store][read]") {
  // Secondary instances (ledger-replay) and read-only ones (ledgerctl check) alike.
  const bool secondary = GENERATE(true, false);
  // A small memtable budget makes the writer flush and retire WAL files often, the moment
  // when a secondary could see one family's part of a batch (from a table) without
  // another's (in a WAL deleted while it opened). A reader gets a whole
  // view, or, when the log changed under every attempt, a clear "try again"; never half.
  TempDir dir;
  StoreOptions options;
  options.memtable_budget_bytes = 24 << 20;
  constexpr int kMaxAppends = 6000;
  std::unique_ptr<Store> writer;
  REQUIRE(Store::Open(options, dir / "ledger", &writer).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  // Stops and joins the load however the test ends.
  struct Load {
    std::atomic<bool>* stop;
    std::thread thread;
    ~Load() {
      *stop = true;
      thread.join();
    }
  } load{&stop, std::thread([&] {
           // A bounded load: 6000 commands of 20 events (~40 MB), so the ledger stays small
           // whatever the speed of the build (sanitizers); with a 24 MiB memtable budget
           // (and so ~24 MiB of live WAL, what every open replays at most) it still flushes
           // and retires WAL files while the readers open.
           for (int i = 0; !stop && i < kMaxAppends; ++i) {
             AppendResult r;
             const std::string tenant = "t" + std::to_string(i % 4);
             if (!writer->Append(InviteRequest(tenant, "c" + std::to_string(i), 20), &r).ok()) {
               return;
             }
             ++appended;
           }
         })};
  while (appended < 50) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // 40 opens (8 under sanitizers, where each takes a second or more).
  const int rounds = ledger::testing::Scaled(40, 8);
  int whole = 0;
  for (int round = 0; round < rounds; ++round) {
    INFO((secondary ? "secondary" : "read-only") << " open " << round);
    StoreOptions read;
    read.read_only = true;
    if (secondary) read.secondary_path = dir / ("secondary" + std::to_string(round));
    std::unique_ptr<Store> reader;
    const Status opened = Store::Open(read, dir / "ledger", &reader);
    if (opened.IsUnavailable()) {
      CHECK(opened.message().find("try again") != std::string::npos);
      continue;
    }
    REQUIRE(opened.ToString() == "OK");
    // Every event in the log has its stream index entry and is counted in its head.
    uint64_t indexed = 0, heads = 0;
    REQUIRE(reader
                ->ScanStreamIndex([&](std::string_view, uint64_t, uint64_t) {
                  ++indexed;
                  return true;
                })
                .ok());
    REQUIRE(reader
                ->ForEachHead([&](std::string_view, const StreamHead& h) {
                  heads += h.version;
                  return true;
                })
                .ok());
    CHECK(reader->LastPosition() > 0);
    CHECK(indexed == reader->LastPosition());
    CHECK(heads == reader->LastPosition());
    ++whole;
  }
  CHECK(whole >= rounds / 2);
  CHECK(writer->WriteHealth().ok());
}

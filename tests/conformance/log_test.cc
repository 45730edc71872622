// The log as readers see it: gap-free positions and versions, hash chains an auditor can
// recompute on their own, and readers that never see part of a command.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "conformance/conformance.h"
#include "ledger/event.capnp.h"
#include "support/test_scale.h"

using namespace conformance;
using commands::CommandResult;
using ledger::testing::Scaled;

namespace {

// What a client was told about one command it sent.
struct Told {
  std::string tenant;
  std::string id;
  CommandResult result;
};

// `threads` clients, each sending `per_thread` commands to random tenants of t0..t3 (made
// by CreateTenant): single- and multi-event commands, commands appending nothing, business
// rejections, malformed commands and retries. Returns what every accepted or duplicate
// command was told; REQUIREs each outcome to be the one its kind calls for.
std::vector<Told> MixedLoad(Backend& b, int threads, int per_thread, const std::string& run) {
  std::mutex mu;
  std::vector<Told> told;
  std::atomic<int> unexpected{0};
  std::vector<std::string> problems;
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 rng(static_cast<uint32_t>(t * 7919 + run.size()));
      std::vector<std::pair<json, CommandResult>> sent;  // accepted, for retries
      auto expect = [&](const json& c, const CommandResult& r, const std::string& status,
                        const std::string& code = "") {
        if (r.status != status || r.code != code) {
          std::lock_guard<std::mutex> lock(mu);
          ++unexpected;
          problems.push_back(c.dump() + " -> " + r.ToJson());
          return false;
        }
        return true;
      };
      for (int n = 0; n < per_thread; ++n) {
        const std::string tenant = "t" + std::to_string(rng() % 4);
        const std::string tag = run + std::to_string(t) + "-" + std::to_string(n);
        json c;
        switch (rng() % 6) {
          case 0:
            c = Invite(tenant, "w" + tag, "w" + tag + "-x1");
            break;
          case 1: {
            json rows = json::array();
            const int users = 1 + static_cast<int>(rng() % 4);
            for (int i = 0; i < users; ++i) {
              const std::string user = "m" + tag + "-" + std::to_string(i);
              rows.push_back({{"email", user + "@x.test"}, {"user", user}});
            }
            c = {{"type", "import_members"},
                 {"tenant", tenant},
                 {"actor", "olga"},
                 {"id", "m" + tag + "-x" + std::to_string(3 * users)},
                 {"rows", rows},
                 {"subscription", "S"},
                 {"group", "G"},
                 {"commit", true}};
            break;
          }
          case 2:  // the owner is already a member
            c = Invite(tenant, "olga", "r" + tag);
            expect(c, Run(b, c), "rejected", "already_member");
            continue;
          case 3:  // a command that is due nothing appends nothing
            c = {{"type", "tick"}, {"tenant", tenant}, {"actor", "system"}, {"id", "k" + tag}};
            break;
          case 4: {  // malformed: rejected before reaching the log
            c = Invite(tenant, "z" + tag, "z" + tag);
            c["seat"] = 1;
            expect(c, Run(b, c), "rejected", "bad_request");
            continue;
          }
          default: {  // a retry of an earlier command
            if (sent.empty()) continue;
            const auto& [original, first] = sent[rng() % sent.size()];
            CommandResult again = Run(b, original);
            if (expect(original, again, "duplicate") &&
                (again.version != first.version || again.position != first.position ||
                 again.events.size() != first.events.size())) {
              std::lock_guard<std::mutex> lock(mu);
              ++unexpected;
              problems.push_back("retry of " + original.dump() + ": " + again.ToJson() +
                                 " != " + first.ToJson());
            }
            continue;
          }
        }
        CommandResult r = Run(b, c);
        if (!expect(c, r, "accepted")) continue;
        sent.emplace_back(c, r);
        std::lock_guard<std::mutex> lock(mu);
        told.push_back(Told{tenant, c["id"], r});
      }
    });
  }
  for (auto& th : clients) th.join();
  INFO((problems.empty() ? "" : problems.front()));
  REQUIRE(unexpected == 0);
  return told;
}

// Checks that the log numbers its events 1..N (per partition), each stream its own 1..n, that
// heads, streams and the stream index agree with the log, and that every result a client was told
// names the events the log holds. Returns the log.
std::vector<LogEntry> CheckGapFree(Backend& b, const std::vector<Told>& told) {
  const ledger::Store& store = b.store();
  const std::vector<LogEntry> log = ReadLog(store);
  REQUIRE_FALSE(log.empty());
  std::map<std::string, std::vector<const LogEntry*>> streams;
  for (size_t i = 0; i < log.size(); ++i) {
    INFO("log entry " << i);
    REQUIRE(FollowsWithoutGap(i == 0 ? 0 : log[i - 1].position, log[i].position));
    auto& stream = streams[log[i].tenant];
    REQUIRE(log[i].version == stream.size() + 1);
    stream.push_back(&log[i]);
  }
  CHECK(EventCount(store) == log.size());
  CHECK(HalfCommand(log) == "");

  // Heads: one per stream, at its last event.
  std::map<std::string, ledger::StreamHead> heads;
  REQUIRE(store
              .ForEachHead([&](std::string_view tenant, const ledger::StreamHead& head) {
                heads.emplace(std::string(tenant), head);
                return true;
              })
              .ok());
  CHECK(heads.size() == streams.size());
  for (const auto& [tenant, events] : streams) {
    INFO("stream " << tenant);
    ledger::StreamHead head;
    REQUIRE(store.GetHead(tenant, &head).ok());
    CHECK(head.version == events.size());
    CHECK(head.position == events.back()->position);
    CHECK(heads[tenant].version == head.version);
    CHECK(heads[tenant].position == head.position);
    // The stream read on its own is the log's events of that tenant.
    const std::vector<LogEntry> stream = ReadStream(store, tenant);
    REQUIRE(stream.size() == events.size());
    for (size_t v = 0; v < stream.size(); ++v) {
      CHECK(stream[v].position == events[v]->position);
      CHECK(stream[v].version == v + 1);
    }
  }
  // The stream index maps (tenant, version) to exactly the log's positions.
  size_t indexed = 0;
  bool index_ok = true;
  REQUIRE(store
              .ScanStreamIndex([&](std::string_view tenant, uint64_t version, uint64_t position) {
                const auto& events = streams[std::string(tenant)];
                index_ok = index_ok && version >= 1 && version <= events.size() &&
                           events[version - 1]->position == position;
                ++indexed;
                return true;
              })
              .ok());
  CHECK(index_ok);
  CHECK(indexed == log.size());

  // What clients were told is what the log holds.
  std::map<uint64_t, const LogEntry*> by_position;
  for (const LogEntry& e : log) by_position[e.position] = &e;
  for (const Told& t : told) {
    INFO(t.tenant << "/" << t.id << " was told " << t.result.ToJson());
    uint64_t last_position = 0;
    for (const auto& e : t.result.events) {
      REQUIRE(by_position.count(e.position) == 1);
      const LogEntry& at = *by_position[e.position];
      CHECK(at.tenant == t.tenant);
      CHECK(at.command_id == t.id);
      CHECK(at.version == e.version);
      CHECK(at.type == e.type);
      last_position = e.position;
    }
    if (!t.result.events.empty()) {
      CHECK(t.result.position == last_position);
      CHECK(t.result.version == t.result.events.back().version);
    }
    CHECK(static_cast<int>(t.result.events.size()) == std::max(EventsInId(t.id), 0));
  }
  return log;
}

}  // namespace

TEST_CASE("the log numbers events 1..N without gaps (per partition) and each stream 1..n",
          "[conformance][log]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      DefineProduct(*b);
      for (int t = 0; t < 4; ++t) CreateTenant(*b, "t" + std::to_string(t));
      std::vector<Told> told = MixedLoad(*b, 8, Scaled(60, 15), "a");
      const size_t before_restart = CheckGapFree(*b, told).size();

      // After a restart, numbering continues where it stopped.
      REQUIRE(b->Reopen().ToString() == "OK");
      CHECK(EventCount(b->store()) == before_restart);
      auto more = MixedLoad(*b, 4, Scaled(30, 10), "b");
      told.insert(told.end(), more.begin(), more.end());
      CHECK(CheckGapFree(*b, told).size() > before_restart);
    }
  }
}

namespace {

std::string Sha256(std::string_view a, std::string_view b) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  REQUIRE(ctx != nullptr);
  const bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, a.data(), a.size()) == 1 &&
                  EVP_DigestUpdate(ctx, b.data(), b.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, out, &size) == 1;
  EVP_MD_CTX_free(ctx);
  REQUIRE(ok);
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string Bytes(capnp::Data::Reader data) {
  return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
}

std::string Bytes(const kj::Array<capnp::word>& words) {
  return std::string(reinterpret_cast<const char*>(words.begin()),
                     words.size() * sizeof(capnp::word));
}

}  // namespace

TEST_CASE("every stream's hash chain recomputes independently to the stored hashes and head",
          "[conformance][log][hash]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      DefineProduct(*b);
      for (int t = 0; t < 4; ++t) CreateTenant(*b, "t" + std::to_string(t));
      MixedLoad(*b, 4, Scaled(40, 10), "h");
      REQUIRE(b->Reopen().ToString() == "OK");

      // The auditor's computation: SHA-256(prev_hash || the event's canonical Cap'n Proto
      // bytes with the hash field zeroed), with OpenSSL and Cap'n Proto only.
      std::map<std::string, std::string> chain;  // tenant → hash of its last event
      std::map<std::string, uint64_t> versions;
      size_t events = 0;
      for (auto c = b->store().ReadLog(1); c->Valid(); c->Next()) {
        const std::string_view stored = c->event().bytes();
        REQUIRE(stored.size() % sizeof(capnp::word) == 0);
        auto words = kj::heapArray<capnp::word>(stored.size() / sizeof(capnp::word));
        std::memcpy(words.begin(), stored.data(), stored.size());
        kj::ArrayPtr<const capnp::word> segments[1] = {words.asPtr()};
        capnp::SegmentArrayMessageReader message(segments);
        const auto event = message.getRoot<ledger::schema::Event>();
        const std::string tenant = event.getTenant();
        INFO("position " << event.getPosition() << " " << tenant << " v" << event.getVersion());
        REQUIRE(event.getVersion() == ++versions[tenant]);
        // Stored as the canonical form.
        CHECK(Bytes(capnp::canonicalize(event)) == std::string(stored));

        const std::string prev = Bytes(event.getPrevHash());
        const std::string expected_prev =
            event.getVersion() == 1 ? std::string(32, '\0') : chain[tenant];
        CHECK(prev == expected_prev);
        capnp::MallocMessageBuilder zeroed;
        zeroed.setRoot(event);
        zeroed.getRoot<ledger::schema::Event>().initHash(32);
        const std::string hash = Sha256(
            prev, Bytes(capnp::canonicalize(zeroed.getRoot<ledger::schema::Event>().asReader())));
        REQUIRE(Bytes(event.getHash()) == hash);
        chain[tenant] = hash;
        ++events;
      }
      CHECK(events == EventCount(b->store()));
      CHECK(chain.size() == 5);  // the catalog and t0..t3
      for (const auto& [tenant, hash] : chain) {
        INFO("head of " << tenant);
        ledger::StreamHead head;
        REQUIRE(b->store().GetHead(tenant, &head).ok());
        CHECK(head.version == versions[tenant]);
        CHECK(std::string(ledger::AsBytes(head.hash)) == hash);
      }
    }
  }
}

TEST_CASE("readers never see part of a command while writers append multi-event commands",
          "[conformance][log][readers]") {
  for (const BackendFactory& factory : Backends()) {
    DYNAMIC_SECTION("backend " << factory.name) {
      auto b = OpenFresh(factory);
      DefineProduct(*b);
      constexpr int kWriters = 4;
      std::vector<MultiEventClient> clients;
      for (int w = 0; w < kWriters; ++w) {
        clients.emplace_back("t" + std::to_string(w));
        CreateTenant(*b, clients.back().tenant());
      }
      const int commands = Scaled(120, 24);
      std::atomic<int> done_writers{0};
      std::vector<std::atomic<int>> acked(kWriters);
      std::mutex mu;
      std::vector<std::string> problems;
      auto problem = [&](const std::string& p) {
        std::lock_guard<std::mutex> lock(mu);
        problems.push_back(p);
      };

      std::vector<std::thread> threads;
      for (int w = 0; w < kWriters; ++w) {
        threads.emplace_back([&, w] {
          for (int n = 0; n < commands; ++n) {
            CommandResult r = Run(*b, clients[w].Command(n));
            if (r.status != "accepted") problem("writer: " + r.ToJson());
            acked[w] = n + 1;
          }
          ++done_writers;
        });
      }
      std::atomic<int> log_scans{0}, stream_reads{0}, checks{0};
      // Whole-log scans: every command seen is whole.
      threads.emplace_back([&] {
        do {
          std::string error;
          const std::string half = HalfCommand(ReadLog(b->store(), &error));
          if (!error.empty()) problem("log scan failed: " + error);
          if (!half.empty()) problem("log scan: " + half);
          ++log_scans;
        } while (done_writers < kWriters);
      });
      // Streams up to their heads: the head is at the end of a whole command, and every
      // version up to it is readable.
      threads.emplace_back([&] {
        std::mt19937 rng(7);
        do {
          const std::string tenant = clients[rng() % kWriters].tenant();
          ledger::StreamHead head;
          if (!b->store().GetHead(tenant, &head).ok()) problem("GetHead failed");
          std::string error;
          const auto stream = ReadStream(b->store(), tenant, 1, head.version, &error);
          if (!error.empty()) problem("stream read failed: " + error);
          if (stream.size() != head.version) {
            problem(tenant + ": head at v" + std::to_string(head.version) + ", " +
                    std::to_string(stream.size()) + " events readable up to it");
          } else if (!stream.empty() && stream.back().position != head.position) {
            problem(tenant + ": head position differs from its last event's");
          }
          const std::string half = HalfCommand(stream);
          if (!half.empty()) problem("stream up to head: " + half);
          ++stream_reads;
        } while (done_writers < kWriters);
      });
      // Access checks on the views: an imported user holds a seat from the moment they
      // are a member, and keeps it until they are removed (never a member without it).
      threads.emplace_back([&] {
        std::mt19937 rng(11);
        do {
          const int w = static_cast<int>(rng() % kWriters);
          const int n = static_cast<int>(rng() % (acked[w] + 2));
          if (MultiEventClient::Removes(n)) continue;
          commands::AccessDecision d;
          const std::string user = MultiEventClient::User(n, 0);
          if (!b->reader().Check(clients[w].tenant(), user, kProduct, std::nullopt, &d).ok()) {
            problem("check failed");
          }
          const std::string& reason = d.reason;
          if (reason != "not_member" && reason != "invitation_pending" &&
              reason != "member_removed") {
            problem(clients[w].tenant() + "/" + user + ": " + d.ToJson());
          }
          ++checks;
        } while (done_writers < kWriters);
      });
      for (auto& th : threads) th.join();

      INFO((problems.empty() ? "" : problems.front()));
      CHECK(problems.empty());
      CHECK(log_scans > 1);
      CHECK(stream_reads > 1);
      CHECK(checks > 1);
      // And the finished log: every command whole.
      const auto log = ReadLog(b->store());
      CHECK(HalfCommand(log) == "");
      int expected = 1 + kWriters * 3;
      for (int n = 0; n < commands; ++n) expected += kWriters * MultiEventClient::Events(n);
      CHECK(log.size() == static_cast<size_t>(expected));
    }
  }
}

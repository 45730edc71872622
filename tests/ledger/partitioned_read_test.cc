// ReadLogPartitioned: every event reaches exactly one worker, each tenant's events reach
// the same worker in order, whatever the number of readers, workers and chunk size; a
// visitor's error stops the read and is returned.
#include "ledger/partitioned_read.h"

#include <rocksdb/env.h>

#include <catch2/catch.hpp>
#include <map>
#include <mutex>

#include "ledger/store.h"
#include "support/store_helpers.h"

using namespace ledger;
using ledger::testing::InviteRequest;

namespace {

// A ledger in memory with `tenants` tenants, their requests interleaved in the log.
struct Interleaved {
  std::unique_ptr<rocksdb::Env> env{rocksdb::NewMemEnv(rocksdb::Env::Default())};
  std::unique_ptr<Store> store;

  Interleaved(int tenants, int requests) {
    StoreOptions options;
    options.env = env.get();
    REQUIRE(Store::Open(options, "/ledger", &store).ToString() == "OK");
    for (int r = 0; r < requests; ++r) {
      for (int t = 0; t < tenants; ++t) {
        AppendResult result;
        REQUIRE(store
                    ->Append(InviteRequest("t" + std::to_string(t), "c" + std::to_string(r),
                                           1 + (r + t) % 3),
                             &result)
                    .ok());
      }
    }
  }
};

}  // namespace

TEST_CASE("partitioned read: each event once, per-tenant order, stable partitions",
          "[partitioned]") {
  Interleaved ledger(7, 20);
  const uint64_t last = ledger.store->LastPosition();
  REQUIRE(last > 100);
  const auto [readers, partitions, chunk] =
      GENERATE(std::make_tuple(1, 1, 1000), std::make_tuple(2, 2, 3), std::make_tuple(3, 2, 7),
               std::make_tuple(2, 3, 1), std::make_tuple(4, 1, 16));
  PartitionedReadOptions options;
  options.readers = readers;
  options.partitions = partitions;
  options.chunk_events = static_cast<uint64_t>(chunk);
  options.queue_chunks = 1;

  std::mutex mu;
  std::vector<int> seen(last + 1, 0);
  std::map<std::string, uint64_t> last_version;  // per tenant
  std::map<std::string, int> worker_of;
  bool in_order = true, same_worker = true, right_worker = true;
  Status s = ReadLogPartitioned(
      *ledger.store, options, [&](int k, schema::Event::Reader e, std::string_view) {
        std::lock_guard<std::mutex> lock(mu);
        const std::string tenant = e.getTenant();
        ++seen[e.getPosition()];
        in_order = in_order && e.getVersion() == last_version[tenant] + 1;
        last_version[tenant] = e.getVersion();
        auto [it, inserted] = worker_of.emplace(tenant, k);
        same_worker = same_worker && it->second == k;
        right_worker = right_worker && PartitionOf(tenant, partitions) == k;
        return Status::OK();
      });
  INFO("readers " << readers << " partitions " << partitions << " chunk " << chunk);
  REQUIRE(s.ToString() == "OK");
  CHECK(in_order);
  CHECK(same_worker);
  CHECK(right_worker);
  for (uint64_t p = 1; p <= last; ++p) {
    INFO("position " << p);
    REQUIRE(seen[p] == 1);
  }
  CHECK(last_version.size() == 7);
}

TEST_CASE("partitioned read: a range reads only its positions", "[partitioned]") {
  Interleaved ledger(3, 10);
  PartitionedReadOptions options;
  options.from = 5;
  options.to = 17;
  options.chunk_events = 4;
  std::mutex mu;
  std::vector<uint64_t> positions;
  REQUIRE(ReadLogPartitioned(*ledger.store, options,
                             [&](int, schema::Event::Reader e, std::string_view) {
                               std::lock_guard<std::mutex> lock(mu);
                               positions.push_back(e.getPosition());
                               return Status::OK();
                             })
              .ok());
  std::sort(positions.begin(), positions.end());
  std::vector<uint64_t> expected;
  for (uint64_t p = 5; p <= 17; ++p) expected.push_back(p);
  CHECK(positions == expected);
}

TEST_CASE("partitioned read: a visitor's error stops the read and is returned", "[partitioned]") {
  Interleaved ledger(5, 40);
  PartitionedReadOptions options;
  options.chunk_events = 5;
  options.queue_chunks = 1;
  std::atomic<int> visited{0};
  Status s = ReadLogPartitioned(*ledger.store, options,
                                [&](int, schema::Event::Reader e, std::string_view) {
                                  ++visited;
                                  if (e.getPosition() == 42)
                                    return Status::Corruption("bad event at 42");
                                  return Status::OK();
                                });
  CHECK(s.ToString() == "Corruption: bad event at 42");
  // Readers may run a few chunks ahead, never through the whole log.
  CHECK(visited.load() < static_cast<int>(ledger.store->LastPosition()));
}

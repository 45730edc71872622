#include "append_bench.h"

#include <fmt/format.h>
#include <rocksdb/db.h>

#include <thread>
#include <vector>

#include "bench_util.h"
#include "clients.h"
#include "ledger/store.h"

namespace ledger::bench {
namespace {

// A member_invited event whose stored form is about `bytes` long.
EventDraft MakeEvent(int client, long n, int bytes) {
  EventDraft d;
  auto m = d.payload().initMemberInvited();
  m.setUser(fmt::format("user-{}-{}", client, n));
  m.setEmail(fmt::format("user-{}-{}@bench.test", client, n));
  m.setRole(schema::Role::MEMBER);
  m.setName(std::string(static_cast<size_t>(std::max(0, bytes - 314)), 'x'));
  d.actor = "system";
  return d;
}

}  // namespace

AppendRequest BenchAppend(int client, long n, int event_bytes) {
  AppendRequest req;
  req.tenant = fmt::format("tenant-{}", client % 16);
  req.command_id = fmt::format("c{}-{}", client, n);
  req.request_hash = Sha256(req.command_id);
  req.actor = "system";
  req.events.push_back(MakeEvent(client, n, event_bytes));
  return req;
}

Run RunLedgerAppends(Store& store, int clients, int events, int event_bytes, bool async,
                     long first_n) {
  if (!async) {
    return RunThreads(clients, events, [&](int c, long n) {
      AppendResult r;
      return store.Append(BenchAppend(c, first_n + n, event_bytes), &r).ok() &&
             r.kind == AppendResult::Kind::kAccepted;
    });
  }
  return RunAsync(clients, events, [&](int c, long n, std::function<void(bool)> done) {
    store.AppendAsync(BenchAppend(c, first_n + n, event_bytes),
                      [done = std::move(done)](const Status& s, AppendResult& r) {
                        done(s.ok() && r.kind == AppendResult::Kind::kAccepted);
                      });
  });
}

int RunAppendBench(const AppendBenchOptions& o) {
  // The ledger: one event per command, clients spread over 16 tenants.
  size_t stored_bytes = 0;
  double avg_group = 0, write_us = 0;
  Run ledger_run;
  {
    ScratchDir dir(o.dir, "append-ledger");
    std::unique_ptr<Store> store;
    Status s = Store::Open(StoreOptions(), dir.path(), &store);
    if (!s.ok()) {
      fmt::print(stderr, "ledger-bench: {}\n", s.ToString());
      return 1;
    }
    ledger_run = RunLedgerAppends(*store, o.clients, o.events, o.event_bytes, o.async_clients);
    const StoreStats stats = store->Stats();
    avg_group = stats.groups > 0 ? double(stats.requests) / double(stats.groups) : 0;
    write_us = stats.groups > 0 ? double(stats.write_micros) / double(stats.groups) : 0;
    auto c = store->ReadLog(1, 1);
    if (c->Valid()) stored_bytes = c->event().bytes().size();
    if (store->LastPosition() != static_cast<uint64_t>(o.events)) ledger_run.ok = false;
  }

  // Raw RocksDB: the same payload bytes, one synced Put each, from the same clients.
  Run raw_run;
  if (o.skip_raw) {
    raw_run.seconds = 1e9;
  } else {
    ScratchDir dir(o.dir, "append-raw");
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, dir.path(), &raw);
    if (!s.ok()) {
      fmt::print(stderr, "ledger-bench: {}\n", s.ToString());
      return 1;
    }
    std::unique_ptr<rocksdb::DB> db(raw);
    const std::string payload(stored_bytes > 0 ? stored_bytes : 300, 'p');
    rocksdb::WriteOptions wo;
    wo.sync = true;
    raw_run = RunThreads(o.clients, o.events, [&](int c, long n) {
      return db->Put(wo, fmt::format("{:04}-{:012}", c, n), payload).ok();
    });
  }

  if (!ledger_run.ok || !raw_run.ok) {
    fmt::print(stderr, "ledger-bench: an append failed\n");
    return 1;
  }
  const double events_per_s = o.events / ledger_run.seconds;
  const double raw_per_s = o.events / raw_run.seconds;
  fmt::print(
      "{{\"bench\":\"append\",\"client_mode\":\"{}\",\"clients\":{},\"events\":{},\"event_bytes\":{"
      "},"
      "\"events_per_s\":{:.0f},\"p50_us\":{:.0f},\"p99_us\":{:.0f},"
      "\"raw_rocksdb_puts_per_s\":{:.0f},\"raw_p50_us\":{:.0f},\"raw_p99_us\":{:.0f},"
      "\"ratio\":{:.2f},\"avg_group_size\":{:.1f},\"avg_group_write_us\":{:.0f}}}\n",
      o.async_clients ? "async" : "threads", o.clients, o.events, stored_bytes, events_per_s,
      Percentile(ledger_run.latencies_us, 50), Percentile(ledger_run.latencies_us, 99), raw_per_s,
      Percentile(raw_run.latencies_us, 50), Percentile(raw_run.latencies_us, 99),
      events_per_s / raw_per_s, avg_group, write_us);
  return 0;
}

}  // namespace ledger::bench

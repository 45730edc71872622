#include "append_bench.h"

#include <fmt/format.h>
#include <rocksdb/db.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_util.h"
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

struct Run {
  double seconds = 0;
  std::vector<int64_t> latencies_us;
  bool ok = true;
};

// Each of `clients` threads does its share of `total` operations with `op(client, n)`,
// which returns false on failure.
template <typename Op>
Run RunClients(int clients, int total, Op op) {
  Run run;
  std::vector<std::vector<int64_t>> lat(static_cast<size_t>(clients));
  std::atomic<bool> ok{true};
  std::vector<std::thread> threads;
  const auto start = SteadyClock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      const int share = total / clients + (c < total % clients ? 1 : 0);
      lat[c].reserve(static_cast<size_t>(share));
      for (long n = 0; n < share; ++n) {
        const auto t0 = SteadyClock::now();
        if (!op(c, n)) {
          ok = false;
          return;
        }
        lat[c].push_back(MicrosSince(t0));
      }
    });
  }
  for (auto& t : threads) t.join();
  run.seconds = SecondsSince(start);
  for (auto& l : lat) run.latencies_us.insert(run.latencies_us.end(), l.begin(), l.end());
  run.ok = ok;
  return run;
}

// Like RunClients, but each client is a chain of asynchronous appends with one command
// outstanding: the completion of one submits the next (as a server's connections would).
Run RunAsyncClients(Store& store, int clients, int total, int event_bytes) {
  struct Client {
    int id = 0;
    long next = 0;
    long share = 0;
    SteadyClock::time_point sent;
    std::vector<int64_t> latencies;
  };
  Run run;
  std::vector<Client> state(static_cast<size_t>(clients));
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  std::atomic<bool> ok{true};
  std::function<void(Client&)> send = [&](Client& c) {
    AppendRequest req;
    req.tenant = fmt::format("tenant-{}", c.id % 16);
    req.command_id = fmt::format("c{}-{}", c.id, c.next);
    req.request_hash = Sha256(req.command_id);
    req.actor = "system";
    req.events.push_back(MakeEvent(c.id, c.next, event_bytes));
    c.sent = SteadyClock::now();
    store.AppendAsync(std::move(req), [&, client = &c](const Status& s, AppendResult& r) {
      client->latencies.push_back(MicrosSince(client->sent));
      if (!s.ok() || r.kind != AppendResult::Kind::kAccepted) ok = false;
      if (++client->next < client->share && ok) {
        send(*client);
      } else {
        std::lock_guard<std::mutex> lock(mu);
        ++finished;
        cv.notify_one();
      }
    });
  };
  const auto start = SteadyClock::now();
  for (int c = 0; c < clients; ++c) {
    state[c].id = c;
    state[c].share = total / clients + (c < total % clients ? 1 : 0);
    state[c].latencies.reserve(static_cast<size_t>(state[c].share));
    send(state[c]);
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return finished == clients; });
  }
  run.seconds = SecondsSince(start);
  for (auto& c : state) {
    run.latencies_us.insert(run.latencies_us.end(), c.latencies.begin(), c.latencies.end());
  }
  run.ok = ok;
  return run;
}

}  // namespace

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
    if (o.async_clients) {
      ledger_run = RunAsyncClients(*store, o.clients, o.events, o.event_bytes);
    } else ledger_run = RunClients(o.clients, o.events, [&](int c, long n) {
      AppendRequest req;
      req.tenant = fmt::format("tenant-{}", c % 16);
      req.command_id = fmt::format("c{}-{}", c, n);
      req.request_hash = Sha256(req.command_id);
      req.actor = "system";
      req.events.push_back(MakeEvent(c, n, o.event_bytes));
      AppendResult r;
      return store->Append(std::move(req), &r).ok() && r.kind == AppendResult::Kind::kAccepted;
    });
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
    raw_run = RunClients(o.clients, o.events, [&](int c, long n) {
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
      "{{\"bench\":\"append\",\"client_mode\":\"{}\",\"clients\":{},\"events\":{},\"event_bytes\":{},"
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

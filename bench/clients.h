// Load drivers for the benchmarks: C clients each doing its share of N operations, either
// as blocked threads or as chains of asynchronous operations (one outstanding each, as a
// server's connections would use the ledger).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace ledger::bench {

// The measured outcome of one load.
struct Run {
  double seconds = 0;
  std::vector<int64_t> latencies_us;
  bool ok = true;
};

// Operation `n` (from 0) of client `c` returns false on failure.
using SyncOp = std::function<bool(int c, long n)>;
// Operation `n` of client `c` calls `done(ok)` when it completes (on any thread).
using AsyncOp = std::function<void(int c, long n, std::function<void(bool)> done)>;

inline long ShareOf(int clients, int total, int c) {
  return total / clients + (c < total % clients ? 1 : 0);
}

// Each of `clients` threads runs its share of `total` operations, one at a time.
inline Run RunThreads(int clients, int total, const SyncOp& op) {
  Run run;
  std::vector<std::vector<int64_t>> lat(static_cast<size_t>(clients));
  std::atomic<bool> ok{true};
  std::vector<std::thread> threads;
  const auto start = SteadyClock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      const long share = ShareOf(clients, total, c);
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

// Runs submitted tasks on a few threads, like a server's I/O threads: work a client does
// before its next operation (formatting, parsing) then does not delay the thread that
// completed the previous one.
class TaskPool {
 public:
  explicit TaskPool(int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] {
        std::unique_lock<std::mutex> lock(mu_);
        while (true) {
          cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
          if (tasks_.empty()) return;
          std::vector<std::function<void()>> batch;
          batch.swap(tasks_);
          lock.unlock();
          for (auto& t : batch) t();
          lock.lock();
        }
      });
    }
  }
  ~TaskPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void Post(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> tasks_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// Each client keeps one asynchronous operation outstanding; its completion starts the
// client's next one (on `pool` when given, else inline in the completion).
inline Run RunAsync(int clients, int total, const AsyncOp& op, TaskPool* pool = nullptr) {
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
    c.sent = SteadyClock::now();
    op(c.id, c.next, [&, client = &c](bool success) {
      client->latencies.push_back(MicrosSince(client->sent));
      if (!success) ok = false;
      if (++client->next < client->share && ok) {
        if (pool != nullptr) {
          pool->Post([&send, client] { send(*client); });
        } else {
          send(*client);
        }
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
    state[c].share = ShareOf(clients, total, c);
    state[c].latencies.reserve(static_cast<size_t>(state[c].share));
  }
  for (int c = 0; c < clients; ++c) send(state[c]);
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

}  // namespace ledger::bench

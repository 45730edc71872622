// PeriodicThread: a background thread that runs a round of work every interval until it
// is destroyed — the shape of ledgerd's helpers (the lease sweeper, the checkpointer).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace ledger {

class PeriodicThread {
 public:
  // Starts the thread: `round` runs every `interval` (the first after one interval).
  // Declare the PeriodicThread after everything `round` uses, so that it stops first.
  PeriodicThread(std::chrono::milliseconds interval, std::function<void()> round)
      : interval_(interval), round_(std::move(round)), thread_([this] { Loop(); }) {}
  // Wakes the thread at once and waits for a round in progress.
  ~PeriodicThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      round_();
      lock.lock();
    }
  }

  const std::chrono::milliseconds interval_;
  const std::function<void()> round_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;     // last: starts once the members above exist
};

}  // namespace ledger

#include "server/backups.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "ledger/time.h"

namespace server {

BackupRunner::BackupRunner(ledger::Store* store, std::string default_dir)
    : store_(store), default_dir_(std::move(default_dir)) {}

BackupRunner::~BackupRunner() { Close(); }

void BackupRunner::Close() {
  std::thread last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    last = std::move(thread_);
  }
  if (last.joinable()) last.join();  // without mu_: the backup takes it to finish
}

bool BackupRunner::Start(const std::string& dir, Done done) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_ || closed_) return false;
  // The previous backup's thread has answered (running_ is false): it is ending.
  if (thread_.joinable()) thread_.join();
  running_ = true;
  thread_ = std::thread([this, dir, done = std::move(done)] {
    ledger::BackupInfo info;
    const ledger::Status s = store_->Backup(dir, &info);
    if (s.ok()) {
      fmt::print(stderr,
                 "ledgerd: backup {} into {}: positions 1-{}, {} bytes ({} copied) in {:.2f} s\n",
                 info.id, dir, info.last_position, info.size_bytes, info.new_bytes,
                 static_cast<double>(info.duration_micros) / 1e6);
    } else {
      fmt::print(stderr, "ledgerd: backup into {} failed: {}\n", dir, s.ToString());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = false;  // before answering: the caller may ask for the next one at once
    }
    done(s, info);
  });
  return true;
}

std::string BackupJson(const ledger::BackupInfo& info, const std::string& dir) {
  nlohmann::json j = {
      {"backup_id", info.id},
      {"backup_dir", dir},
      {"last_position", info.last_position},
      {"size_bytes", info.size_bytes},
      {"new_bytes", info.new_bytes},
      {"files", info.files},
      {"created_at", ledger::FormatRfc3339(info.created_at * ledger::kMicrosPerSecond)},
  };
  if (info.duration_micros > 0) j["seconds"] = static_cast<double>(info.duration_micros) / 1e6;
  return j.dump();
}

}  // namespace server

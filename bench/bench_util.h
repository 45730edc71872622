// Shared helpers of the ledger-bench programs: timing, percentiles, scratch directories.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ledger::bench {

using SteadyClock = std::chrono::steady_clock;

inline double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

inline int64_t MicrosSince(SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start).count();
}

// The p-th percentile (0..100) of `samples` (sorted in place); 0 when empty.
inline double Percentile(std::vector<int64_t>& samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t i = std::min(samples.size() - 1,
                            static_cast<size_t>(p / 100.0 * static_cast<double>(samples.size())));
  return static_cast<double>(samples[i]);
}

// A fresh directory on the real disk (not tmpfs: fsync must cost what it costs),
// removed on destruction unless `keep`; with `reuse`, the existing one, kept.
class ScratchDir {
 public:
  ScratchDir(const std::string& parent, const std::string& name, bool keep = false,
             bool reuse = false)
      : path_(parent + "/" + name), keep_(keep || reuse) {
    if (reuse) return;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    if (!keep_) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool keep_;
};

}  // namespace ledger::bench

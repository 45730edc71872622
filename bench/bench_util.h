// Shared helpers of the ledger-bench programs: timing, percentiles, scratch directories.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
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

// CPU time (user + system, every thread) that process `pid` has used so far, in
// microseconds; 0 when it cannot be read. `pid` 0 is this process.
inline double ProcessCpuMicros(pid_t pid = 0) {
  if (pid == 0) {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
  }
  // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after "(comm)".
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU time (µs) of this process's threads summed by thread name ("ledger-build",
// "rocksdb:high", ...), from /proc/self/task/*/schedstat (nanoseconds on a CPU).
inline std::map<std::string, double> ThreadCpuMicrosByName() {
  std::map<std::string, double> by_name;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::ifstream schedstat(task.path() / "schedstat");
    std::string name;
    double ns = 0;
    if (std::getline(comm, name) && (schedstat >> ns)) by_name[name] += ns / 1000.0;
  }
  return by_name;
}

// Where the CPU of one timed phase went: the server's and this process's (the load
// generator's) CPU per operation, and the rate at which the two together would keep every
// core of the machine busy — a ceiling for this machine when the phase was CPU-bound.
struct CpuShare {
  double server_us_per_op = 0;
  double client_us_per_op = 0;
  double busy_cores = 0;     // (server + client CPU) / wall time
  double ceiling_per_s = 0;  // cores × 1e6 / (server + client µs per op)
};

// Measures CpuShare over a phase: construct before, call Finish(ops, seconds) after.
class CpuMeter {
 public:
  explicit CpuMeter(pid_t server) : server_(server) {
    server_start_ = ProcessCpuMicros(server_);
    client_start_ = ProcessCpuMicros();
  }
  CpuShare Finish(double ops, double seconds) const {
    CpuShare share;
    const double server = ProcessCpuMicros(server_) - server_start_;
    const double client = ProcessCpuMicros() - client_start_;
    if (ops <= 0 || seconds <= 0) return share;
    share.server_us_per_op = server / ops;
    share.client_us_per_op = client / ops;
    share.busy_cores = (server + client) / (seconds * 1e6);
    const double per_op = share.server_us_per_op + share.client_us_per_op;
    if (per_op > 0) share.ceiling_per_s = Cores() * 1e6 / per_op;
    return share;
  }
  // The cores this process may run on.
  static unsigned Cores() { return std::max(1u, std::thread::hardware_concurrency()); }

 private:
  pid_t server_;
  double server_start_ = 0, client_start_ = 0;
};

// The machine's CPU time since boot, in µs (/proc/stat's first line): `busy_us`, what
// every process used (user, nice, system, irq, softirq) — with another process's server
// (PostgreSQL) on the machine, what a phase cost in all — and `steal_us`, what the
// hypervisor gave other guests while this one wanted to run.
struct MachineCpu {
  double busy_us = 0, steal_us = 0;
};

inline MachineCpu ReadMachineCpu() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const double us_per_tick = 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return MachineCpu{static_cast<double>(user + nice + system + irq + softirq) * us_per_tick,
                    static_cast<double>(steal) * us_per_tick};
}

// `prefix`_server_cpu_us, _client_cpu_us, _busy_cores, _cpu_ceiling_per_s as JSON members.
inline std::string CpuShareJson(const std::string& prefix, const CpuShare& c) {
  char buf[320];
  std::snprintf(buf, sizeof(buf),
                "\"%s_server_cpu_us\":%.1f,\"%s_client_cpu_us\":%.1f,\"%s_busy_cores\":%.2f,"
                "\"%s_cpu_ceiling_per_s\":%.0f",
                prefix.c_str(), c.server_us_per_op, prefix.c_str(), c.client_us_per_op,
                prefix.c_str(), c.busy_cores, prefix.c_str(), c.ceiling_per_s);
  return buf;
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

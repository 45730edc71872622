// A RocksDB Logger on stdio that ignores write errors (see info_log.h).
#include "info_log.h"

#include <sys/time.h>

#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>

namespace ledger {
namespace {

class InfoLog final : public rocksdb::Logger {
 public:
  explicit InfoLog(std::FILE* file) : file_(file) {}
  ~InfoLog() override { CloseFile(); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char stamp[64];
    timeval now{};
    ::gettimeofday(&now, nullptr);
    std::tm t{};
    ::localtime_r(&now.tv_sec, &t);
    std::snprintf(stamp, sizeof stamp, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld ", t.tm_year + 1900,
                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                  static_cast<long>(now.tv_usec));
    std::lock_guard<std::mutex> lock(mu_);
    if (file_ == nullptr) return;
    // Errors (a full disk) lose the line and nothing else; the next line tries again.
    std::fputs(stamp, file_);
    std::vfprintf(file_, format, ap);
    std::fputc('\n', file_);
    std::fflush(file_);
    std::clearerr(file_);
  }

 protected:
  rocksdb::Status CloseImpl() override {
    CloseFile();
    return rocksdb::Status::OK();
  }

 private:
  void CloseFile() {
    std::lock_guard<std::mutex> lock(mu_);
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
  }

  std::mutex mu_;
  std::FILE* file_;  // guarded by mu_
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewInfoLog(const std::string& db_dir) {
  std::error_code ec;
  std::filesystem::create_directories(db_dir, ec);
  const std::filesystem::path log = std::filesystem::path(db_dir) / "LOG";
  if (std::filesystem::exists(log, ec)) {
    std::filesystem::rename(log, std::filesystem::path(db_dir) / "LOG.old", ec);
  }
  std::FILE* file = std::fopen(log.c_str(), "a");
  if (file == nullptr) return nullptr;
  return std::make_shared<InfoLog>(file);
}

}  // namespace ledger

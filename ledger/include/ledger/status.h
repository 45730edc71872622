// Status: the outcome of an operation that can fail for reasons outside the caller's
// control (I/O, corruption). Business outcomes (a rejected command) are values, not
// Status errors. Modelled on rocksdb::Status. Thread-compatible value type.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace ledger {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kCorruption,
    kInvalidArgument,
    kIOError,
    kUnavailable,  // the store refuses writes after an earlier failure, or is closing
    kFenced,          // another writer holds the log partition; this writer must reload
    kOutcomeUnknown,  // a commit's answer was lost: it may or may not have committed
  };

  // An OK status.
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status Unavailable(std::string_view msg) { return Status(Code::kUnavailable, msg); }
  static Status Fenced(std::string_view msg) { return Status(Code::kFenced, msg); }
  static Status OutcomeUnknown(std::string_view msg) { return Status(Code::kOutcomeUnknown, msg); }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  bool IsFenced() const { return code_ == Code::kFenced; }
  bool IsOutcomeUnknown() const { return code_ == Code::kOutcomeUnknown; }

  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Marks a status as deliberately ignored (it is [[nodiscard]] otherwise).
  void PermitUncheckedError() const {}

  // "OK" or "<code name>: <message>".
  std::string ToString() const;

 private:
  Status(Code code, std::string_view msg) : code_(code), message_(msg) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace ledger

// Thin ledger-side helpers over libpq (internal): owned results, binary parameters and
// one-dimensional binary arrays (for multi-row INSERT ... SELECT FROM unnest), binary
// result fields, and PostgreSQL errors as ledger::Status. Not thread-safe.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/coding.h"
#include "ledger/status.h"

namespace ledger::pg {

// Type OIDs from PostgreSQL's catalog (pg_type.dat); fixed across versions.
inline constexpr Oid kInt4 = 23;
inline constexpr Oid kInt8 = 20;
inline constexpr Oid kText = 25;
inline constexpr Oid kBytea = 17;
inline constexpr Oid kInt8Array = 1016;
inline constexpr Oid kTextArray = 1009;
inline constexpr Oid kByteaArray = 1001;

// SQLSTATE ledger_advance raises when the fence refuses a group.
inline constexpr char kFencedState[] = "LF001";
// lock_not_available: a lock not granted within lock_timeout (pg::ErrorStatus: Unavailable).
inline constexpr char kLockNotAvailableState[] = "55P03";

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// A one-dimensional array without NULLs in PostgreSQL's binary array format.
class ArrayParam {
 public:
  explicit ArrayParam(Oid element) : element_(element) {}
  void AddBytes(std::string_view v) {
    coding::PutFixed32(&body_, static_cast<uint32_t>(v.size()));
    body_.append(v);
    ++count_;
  }
  void AddInt8(uint64_t v) {
    coding::PutFixed32(&body_, 8);
    coding::PutFixed64(&body_, v);
    ++count_;
  }
  void AddInt4(uint32_t v) {
    coding::PutFixed32(&body_, 4);
    coding::PutFixed32(&body_, v);
    ++count_;
  }
  size_t size() const { return count_; }
  // The encoded array: ndim, has-nulls flag, element type, then (if any) the dimension
  // and its lower bound, then each element as length and bytes.
  std::string Encode() const {
    std::string out;
    coding::PutFixed32(&out, count_ == 0 ? 0 : 1);
    coding::PutFixed32(&out, 0);
    coding::PutFixed32(&out, element_);
    if (count_ > 0) {
      coding::PutFixed32(&out, static_cast<uint32_t>(count_));
      coding::PutFixed32(&out, 1);
    }
    out.append(body_);
    return out;
  }

 private:
  const Oid element_;
  std::string body_;
  size_t count_ = 0;
};

// Parameters of one statement, all in binary format.
class Params {
 public:
  void Int4(uint32_t v) {
    std::string s;
    coding::PutFixed32(&s, v);
    Add(std::move(s));
  }
  void Int8(uint64_t v) { Add(coding::Fixed64(v)); }
  void Bytes(std::string_view v) { Add(std::string(v)); }
  void Bool(bool v) { Add(std::string(1, v ? '\1' : '\0')); }
  void Array(const ArrayParam& a) { Add(a.Encode()); }

  int count() const { return static_cast<int>(values_.size()); }
  // Pointers into the values: valid until the next Add.
  const char* const* values() {
    pointers_.clear();
    for (const std::string& v : values_) pointers_.push_back(v.data());
    return pointers_.data();
  }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  void Add(std::string v) {
    lengths_.push_back(static_cast<int>(v.size()));
    formats_.push_back(1);
    values_.push_back(std::move(v));
  }
  std::vector<std::string> values_;
  std::vector<const char*> pointers_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// Field (row, col) of a binary result as bytes.
inline std::string_view Field(const PGresult* r, int row, int col) {
  return {PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col))};
}
// Field (row, col) of a binary int8 / int4 result.
inline uint64_t FieldInt8(const PGresult* r, int row, int col) {
  return coding::DecodeFixed64(PQgetvalue(r, row, col));
}
inline uint32_t FieldInt4(const PGresult* r, int row, int col) {
  return coding::DecodeFixed32(PQgetvalue(r, row, col));
}

// True for errors that say the connection (not the statement) failed: SQLSTATE class 08,
// the server shutting down or terminating the backend (57P0x), or no SQLSTATE at all
// (libpq's own "server closed the connection unexpectedly").
bool IsConnectionError(const PGresult* r);

// A failed result (or none) as a Status: Fenced for the fence's SQLSTATE, InvalidArgument
// for unique violations (the statement repeats a key the log holds), Unavailable for a
// lock not granted within lock_timeout, IOError otherwise.
// `what` names the operation.
Status ErrorStatus(const PGresult* r, PGconn* conn, std::string_view what);

}  // namespace ledger::pg

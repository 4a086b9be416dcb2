// Status and Result<T>: how every mvdb function that can fail reports it.
//
// mvdb throws no exceptions across its API. A function that can fail returns
// a [[nodiscard]] Status, or a Result<T> that holds either a T or a non-OK
// Status. The code says what kind of failure it was, so a caller can decide
// what to do without parsing the message:
//
//   kNotFound         the key, tree or file does not exist.
//   kInvalidArgument  the caller passed something mvdb cannot accept.
//   kCorruption       bytes read from disk fail a check (checksum, bounds,
//                     format). The message names the file, page and offset.
//   kIOError          the operating system refused a read, write or fsync
//                     (EIO, ENOSPC, ...). The message carries errno's text.
//   kConflict         a serialization failure (SQLSTATE 40001). Retryable.
//   kDeadlock         chosen as a deadlock victim (40P01). Retryable.
//   kLockTimeout      waited for a lock longer than allowed (55P03).
//                     Retryable: the holder will have moved on.
//   kSnapshotTooOld   the snapshot was reclaimed to bound memory. Retryable.
//   kBusy             a resource is held by someone else (another process
//                     holds the database, every buffer frame is pinned, a
//                     Close while transactions are open).
//   kNotSupported     the operation is not available in this build or kernel.
//   kAborted          the transaction can no longer do anything but roll back.
//
// Threading: Status and Result are values; distinct objects may be used on
// distinct threads freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "mvdb/export.h"

namespace mvdb {

enum class StatusCode : uint8_t {
  kOk = 0,
  kNotFound,
  kInvalidArgument,
  kCorruption,
  kIOError,
  kConflict,
  kDeadlock,
  kLockTimeout,
  kSnapshotTooOld,
  kBusy,
  kNotSupported,
  kAborted,
};

// The name of a code as it appears in Status::ToString(), e.g. "Corruption".
MVDB_EXPORT std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] MVDB_EXPORT Status {
 public:
  Status() = default;  // OK

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return {StatusCode::kNotFound, msg}; }
  static Status InvalidArgument(std::string_view msg) {
    return {StatusCode::kInvalidArgument, msg};
  }
  static Status Corruption(std::string_view msg) { return {StatusCode::kCorruption, msg}; }
  static Status IOError(std::string_view msg) { return {StatusCode::kIOError, msg}; }
  // An I/O error built from an errno value: "<context>: <strerror(err)>".
  static Status FromErrno(std::string_view context, int err);
  static Status Conflict(std::string_view msg) { return {StatusCode::kConflict, msg}; }
  static Status Deadlock(std::string_view msg) { return {StatusCode::kDeadlock, msg}; }
  static Status LockTimeout(std::string_view msg) { return {StatusCode::kLockTimeout, msg}; }
  static Status SnapshotTooOld(std::string_view msg) { return {StatusCode::kSnapshotTooOld, msg}; }
  static Status Busy(std::string_view msg) { return {StatusCode::kBusy, msg}; }
  static Status NotSupported(std::string_view msg) { return {StatusCode::kNotSupported, msg}; }
  static Status Aborted(std::string_view msg) { return {StatusCode::kAborted, msg}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  std::string_view message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsIOError() const { return code_ == StatusCode::kIOError; }
  bool IsBusy() const { return code_ == StatusCode::kBusy; }
  bool IsConflict() const { return code_ == StatusCode::kConflict; }
  bool IsDeadlock() const { return code_ == StatusCode::kDeadlock; }
  bool IsLockTimeout() const { return code_ == StatusCode::kLockTimeout; }
  bool IsSnapshotTooOld() const { return code_ == StatusCode::kSnapshotTooOld; }
  bool IsAborted() const { return code_ == StatusCode::kAborted; }
  // True for failures that go away when the whole transaction is retried:
  // conflicts, deadlocks, lock timeouts and snapshots too old.
  bool IsRetryable() const {
    return code_ == StatusCode::kConflict || code_ == StatusCode::kDeadlock ||
           code_ == StatusCode::kLockTimeout || code_ == StatusCode::kSnapshotTooOld;
  }

  // "OK", or "<CodeName>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>"; OK stays OK.
  Status WithContext(std::string_view prefix) const;

 private:
  Status(StatusCode code, std::string_view msg) : code_(code), message_(msg) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Prints "mvdb: value() of a Result holding <status>" to standard error and
// aborts: what Result's accessors do when there is no value.
[[noreturn]] MVDB_EXPORT void AbortOnErrorValue(const Status& status);

// Either a value or a non-OK Status. Constructing a Result from an OK Status
// is a programming error and is turned into an InvalidArgument status.
// Reaching for the value of a Result that holds an error (value(), *, ->)
// is one too: it aborts the process, printing the status to standard
// error, rather than hand out a value that is not there.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status)                          // NOLINT(google-explicit-constructor)
      : status_(status.ok() ? Status::InvalidArgument("Result built from an OK status")
                            : std::move(status)) {}

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok(); otherwise aborts with the status's message.
  T& value() & { return *Checked(); }
  const T& value() const& { return *Checked(); }
  T&& value() && { return std::move(*Checked()); }
  T& operator*() & { return *Checked(); }
  const T& operator*() const& { return *Checked(); }
  T&& operator*() && { return std::move(*Checked()); }
  T* operator->() { return &*Checked(); }
  const T* operator->() const { return &*Checked(); }

 private:
  std::optional<T>& Checked() {
    if (!value_.has_value()) AbortOnErrorValue(status_);
    return value_;
  }
  const std::optional<T>& Checked() const {
    if (!value_.has_value()) AbortOnErrorValue(status_);
    return value_;
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace mvdb

#define MVDB_CONCAT_INNER_(a, b) a##b
#define MVDB_CONCAT_(a, b) MVDB_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define MVDB_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::mvdb::Status mvdb_status_ = (expr);        \
    if (!mvdb_status_.ok()) return mvdb_status_; \
  } while (0)

// `lhs = value of expr` (a Result), or return its Status from the enclosing
// function. lhs may be a declaration: MVDB_ASSIGN_OR_RETURN(auto x, F());
#define MVDB_ASSIGN_OR_RETURN(lhs, expr) \
  MVDB_ASSIGN_OR_RETURN_IMPL_(MVDB_CONCAT_(mvdb_result_, __LINE__), lhs, expr)
#define MVDB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

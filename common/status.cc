#include "mvdb/status.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mvdb {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case StatusCode::kCorruption:
      return "Corruption";
    case StatusCode::kIOError:
      return "IOError";
    case StatusCode::kConflict:
      return "Conflict";
    case StatusCode::kDeadlock:
      return "Deadlock";
    case StatusCode::kLockTimeout:
      return "LockTimeout";
    case StatusCode::kSnapshotTooOld:
      return "SnapshotTooOld";
    case StatusCode::kBusy:
      return "Busy";
    case StatusCode::kNotSupported:
      return "NotSupported";
    case StatusCode::kAborted:
      return "Aborted";
  }
  return "Unknown";
}

Status Status::FromErrno(std::string_view context, int err) {
  char buf[128];
  // GNU strerror_r returns the message pointer, which may not be buf.
  const char* text = strerror_r(err, buf, sizeof(buf));
  std::string msg(context);
  msg += ": ";
  msg += text;
  return Status(StatusCode::kIOError, msg);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithContext(std::string_view prefix) const {
  if (ok()) return *this;
  std::string msg(prefix);
  msg += ": ";
  msg += message_;
  return Status(code_, msg);
}

void AbortOnErrorValue(const Status& status) {
  std::fprintf(stderr, "mvdb: value() of a Result holding %s\n", status.ToString().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace mvdb

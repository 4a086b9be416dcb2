// Picks the backend at run time (see NewDefaultFileSystem in file.h) and
// says which one it took, so a slow run can be traced to a POSIX fallback.
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "common/logging.h"
#include "io/file.h"

namespace mvdb {
namespace {

// kAuto as overridden by MVDB_IO; InvalidArgument for an unknown value,
// since silently ignoring a typo would run a benchmark on the wrong backend.
Result<IoBackend> BackendFromEnvironment() {
  const char* env = std::getenv("MVDB_IO");
  if (env == nullptr || *env == '\0') return IoBackend::kAuto;
  std::string_view value = env;
  if (value == "posix") return IoBackend::kPosix;
  if (value == "uring" || value == "io_uring") return IoBackend::kUring;
  return Status::InvalidArgument("MVDB_IO must be 'posix' or 'uring', got '" + std::string(value) +
                                 "'");
}

}  // namespace

Result<std::unique_ptr<FileSystem>> NewDefaultFileSystem(IoBackend backend) {
  std::string why;
  if (backend == IoBackend::kAuto) {
    MVDB_ASSIGN_OR_RETURN(backend, BackendFromEnvironment());
    if (backend != IoBackend::kAuto) why = " (MVDB_IO)";
  }
  if (backend == IoBackend::kPosix) {
    Log(LogLevel::kInfo, "I/O backend: posix" + why);
    return NewPosixFileSystem();
  }
  Result<std::unique_ptr<FileSystem>> uring = NewUringFileSystem();
  if (uring.ok()) {
    Log(LogLevel::kInfo, "I/O backend: io_uring" + why);
    return uring;
  }
  if (backend == IoBackend::kUring) return uring.status();
  Log(LogLevel::kInfo, "I/O backend: posix (" + std::string(uring.status().message()) + ")");
  return NewPosixFileSystem();
}

}  // namespace mvdb

// The file-system interface every byte mvdb stores goes through.
//
// Three implementations share it (model: LevelDB's Env):
//   - io_uring (io/uring_file_system.cc): batched reads and writes through
//     liburing; chosen at run time when the kernel allows it.
//   - POSIX (io/posix_file_system.cc): pread/pwrite/fdatasync, the fallback.
//   - fault injection (io/fault_injection_file_system.h): wraps another file
//     system for tests; fails the Nth write or sync, forgets writes that were
//     never synced, tears pages, so crash tests are fast and deterministic.
//
// Threading: a FileSystem and the Files it opens may be used from many
// threads at once; calls on one File at disjoint offsets may run
// concurrently. A File must not outlive the FileSystem that opened it. A
// child made by fork() must not use a FileSystem it inherited (io_uring
// rings are memory shared with the parent); it opens its own.
//
// Errors: a failed system call is an IOError whose message names the file
// and carries errno's text (ENOSPC reads "No space left on device"). A read
// that ends early because the file is too short is a Corruption naming the
// file, offset and lengths: a caller asked for bytes the file does not have.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/status.h"

namespace mvdb {

// One read or write in a batch. For a read, `data` receives exactly
// `data.size()` bytes; for a write, `data` is what is written.
struct IoRequest {
  enum class Op : uint8_t { kRead, kWrite };
  Op op = Op::kRead;
  uint64_t offset = 0;
  std::span<std::byte> data;
  Status result;  // set by SubmitBatch for every request
};

class File {
 public:
  virtual ~File() = default;

  // Reads exactly buf.size() bytes at `offset`.
  virtual Status ReadAt(uint64_t offset, std::span<std::byte> buf) = 0;
  // Writes all of `data` at `offset`, extending the file if needed.
  virtual Status WriteAt(uint64_t offset, std::span<const std::byte> data) = 0;
  // Runs every request, concurrently where the backend can (io_uring submits
  // them as one batch), and returns when all are done. Each request's
  // `result` says how it went; the returned Status is the first failure.
  virtual Status SubmitBatch(std::span<IoRequest> requests) = 0;
  // Makes every completed write durable (fdatasync).
  virtual Status Sync() = 0;
  virtual Result<uint64_t> Size() = 0;
  virtual Status Truncate(uint64_t size) = 0;

  const std::string& path() const { return path_; }

 protected:
  explicit File(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

// Held while a database directory is open; releasing it (destruction)
// unlocks. The lock is advisory (flock) and belongs to the open file, not
// the process: a second LockFile on the same path fails even in the process
// that holds the first.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

struct OpenOptions {
  bool create = false;     // create the file if it does not exist
  bool read_only = false;  // open for reading only
  bool direct_io = false;  // O_DIRECT; buffers and offsets must then be 4096-aligned
  // Serve reads from a read-only shared mapping of the file (no system call
  // once the kernel has mapped the page), falling back to pread/io_uring
  // for bytes beyond the end the file had when it was last mapped, or when
  // mmap fails. Ignored with direct_io (the point of which is to bypass the
  // page cache the mapping reads). A mapped read of a page the device
  // cannot deliver (a media error) or that another process's truncation
  // removed raises SIGBUS; the copy runs under a guard whose handler
  // (installed once per process, chaining to any handler installed before)
  // turns that into the system-call path, which reports the error, so the
  // caller sees an IOError or Corruption, never a crash. The data file of a
  // TreeStore opts in; logs, which are truncated, do not. The pages a
  // mapped read touched count in the process's RSS as shared file pages
  // (RssFile), as LMDB's do: page cache the kernel can drop at any time,
  // not memory the engine holds.
  bool map_reads = false;
};

struct FileSystemStats {
  uint64_t reads = 0;    // read requests completed
  uint64_t writes = 0;   // write requests completed
  uint64_t syncs = 0;    // Sync calls completed
  uint64_t batches = 0;  // SubmitBatch calls
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // "io_uring", "posix" or "fault(<base>)": which backend does the I/O.
  virtual std::string_view name() const = 0;

  // NotFound if the file does not exist and options.create is false.
  virtual Result<std::unique_ptr<File>> Open(const std::string& path,
                                             const OpenOptions& options) = 0;
  // Removes a file, or a directory if it is empty. NotFound if missing.
  virtual Status Remove(const std::string& path) = 0;
  // Replaces `to` atomically if it exists. NotFound if `from` is missing.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Result<bool> Exists(const std::string& path) = 0;
  // Creates the directory if missing (not its parents); OK if it exists.
  virtual Status CreateDir(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // Makes creations, renames and removals inside `dir` durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Takes an exclusive lock on `path` (created if missing) without waiting.
  // Busy if it is held (by another process, or through another LockFile of
  // this one); the message names the holder's pid when the lock file records
  // one: "<path> is locked by process <pid>".
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  // The same lock, taken through a read-only descriptor of an existing
  // `path`: it neither creates nor writes the file, so a reader (`mvdb
  // check`) can take it on read-only media. NotFound if `path` is missing;
  // Busy as LockFile (without a pid when the holder is such a reader). The
  // default, for file systems that have no such lock, is NotSupported.
  virtual Result<std::unique_ptr<FileLock>> LockFileReadOnly(const std::string& path) {
    return Status::NotSupported(std::string(name()) + " cannot lock " + path + " read-only");
  }

  virtual FileSystemStats stats() const = 0;
};

// The POSIX backend: pread, pwrite, fdatasync.
std::unique_ptr<FileSystem> NewPosixFileSystem();

// The io_uring backend. NotSupported when the kernel refuses io_uring
// (too old, disabled by sysctl kernel.io_uring_disabled, or blocked by a
// seccomp filter).
Result<std::unique_ptr<FileSystem>> NewUringFileSystem(unsigned queue_depth = 64);

// Which backend NewDefaultFileSystem picks.
enum class IoBackend { kAuto, kUring, kPosix };

// kAuto: io_uring when NewUringFileSystem succeeds, POSIX otherwise. The
// environment variable MVDB_IO=posix|uring overrides kAuto. Logs the choice
// at info level; FileSystem::name() tells it afterwards.
Result<std::unique_ptr<FileSystem>> NewDefaultFileSystem(IoBackend backend = IoBackend::kAuto);

}  // namespace mvdb

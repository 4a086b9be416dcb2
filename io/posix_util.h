// Pieces the POSIX and io_uring backends share (internal to io/).
//
// Both backends open files with open(2) and keep a plain descriptor; they
// differ only in how reads, writes and syncs reach the kernel. So the
// descriptor, Size/Truncate, the directory operations, LockFile and the
// statistics live here once, and each backend adds its data path:
//   - FdFile: a File over an owned descriptor (fstat, ftruncate).
//   - PosixFileSystemBase: a FileSystem with everything but Open and name().
//   - PreadFully/PwriteFully/FdatasyncFd: the synchronous data path, with
//     the error messages both backends must agree on.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/file.h"
#include "mvdb/status.h"

namespace mvdb::io_internal {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();
  void Reset();

 private:
  int fd_ = -1;
};

// The counters behind FileSystem::stats(). Relaxed atomics: each counter is
// exact, but a snapshot taken during I/O may mix counts from before and
// after a request.
class IoStatsCounters {
 public:
  void AddRead(uint64_t bytes);
  void AddWrite(uint64_t bytes);
  void AddSync();
  void AddBatch();
  FileSystemStats Snapshot() const;

 private:
  std::atomic<uint64_t> reads_{0};
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> bytes_read_{0};
  std::atomic<uint64_t> bytes_written_{0};
};

// An errno turned into a Status: NotFound for ENOENT (callers test for a
// missing file), IOError otherwise. Message: "<context>: <strerror(err)>".
Status ErrnoStatus(std::string_view context, int err);

// "<op> <path> at <offset>", the context of a failed read or write.
std::string IoContext(std::string_view op, const std::string& path, uint64_t offset);

// The Corruption for a read that found end of file after `got` of `wanted`
// bytes at `offset`.
Status ReadPastEof(const std::string& path, uint64_t offset, size_t wanted, size_t got);

// Opens `path` per `options` with O_CLOEXEC (and O_DIRECT for direct_io).
Result<UniqueFd> OpenFd(const std::string& path, const OpenOptions& options);

// pread/pwrite until every byte moved, retrying EINTR and short transfers.
Status PreadFully(int fd, const std::string& path, uint64_t offset, std::span<std::byte> buf);
Status PwriteFully(int fd, const std::string& path, uint64_t offset,
                   std::span<const std::byte> data);
Status FdatasyncFd(int fd, const std::string& path);

// A File over an owned descriptor. Subclasses supply the data path.
// `stats` belongs to the FileSystem, which outlives its files.
class FdFile : public File {
 public:
  FdFile(std::string path, UniqueFd fd, IoStatsCounters* stats)
      : File(std::move(path)), fd_(std::move(fd)), stats_(stats) {}

  Result<uint64_t> Size() override;
  Status Truncate(uint64_t size) override;

 protected:
  int fd() const { return fd_.get(); }
  IoStatsCounters* stats() const { return stats_; }

 private:
  UniqueFd fd_;
  IoStatsCounters* stats_;
};

// A FileSystem whose namespace operations and locks are plain POSIX calls.
class PosixFileSystemBase : public FileSystem {
 public:
  // Removes a file, or a directory when it is empty.
  Status Remove(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Result<bool> Exists(const std::string& path) override;
  Status CreateDir(const std::string& path) override;
  // Entry names without "." and "..", sorted so callers see a stable order.
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> LockFileReadOnly(const std::string& path) override;
  FileSystemStats stats() const override { return stats_.Snapshot(); }

 protected:
  IoStatsCounters* counters() { return &stats_; }

 private:
  IoStatsCounters stats_;
};

}  // namespace mvdb::io_internal

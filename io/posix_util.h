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
#include <mutex>
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

// Reads of a file through a read-only MAP_SHARED mapping of it
// (OpenOptions::map_reads): a copy out of the page cache without a system
// call, which on a virtual machine costs more than the copy (a pread of
// 8 KiB cached bytes: about 5 us here, a copy from the mapping: under 2).
//
// The mapping covers at least the bytes the file held when it was made
// (valid_end); a read ending beyond valid_end first asks fstat, and beyond
// the mapping maps the file again, larger (twice the size, at least
// 64 MiB: the address space is only reserved, a page costs nothing until
// read). Older mappings stay until the file is closed, so a reader that
// loaded one may still copy from it. Reads the mapping cannot serve return
// false and take the system-call path.
//
// Threading: Read may run concurrently with itself and with NoteSize;
// Shrink must not run concurrently with a Read of the bytes it removes
// (File's rule for a truncation anyway).
class ReadMap {
 public:
  explicit ReadMap(int fd) : fd_(fd) {}
  ~ReadMap();
  ReadMap(const ReadMap&) = delete;
  ReadMap& operator=(const ReadMap&) = delete;

  // Copies buf.size() bytes at `offset` into `buf` when the file holds them.
  bool Read(uint64_t offset, std::span<std::byte> buf);
  // The file now holds at least `end` bytes (a write completed).
  void NoteSize(uint64_t end);
  // The file is about to shrink to `size` bytes.
  void Shrink(uint64_t size);

 private:
  struct Mapping {
    const std::byte* base = nullptr;
    uint64_t length = 0;
  };

  // Makes valid_end and the mapping cover `end` if the file reaches it.
  bool Cover(uint64_t end);

  const int fd_;
  std::atomic<const Mapping*> current_{nullptr};
  std::atomic<uint64_t> valid_end_{0};
  std::mutex mu_;  // guards mappings_ and failed_
  std::vector<std::unique_ptr<Mapping>> mappings_;
  bool failed_ = false;  // mmap refused once: stop trying
};

// A File over an owned descriptor. Subclasses supply the data path.
// `stats` belongs to the FileSystem, which outlives its files.
class FdFile : public File {
 public:
  FdFile(std::string path, UniqueFd fd, IoStatsCounters* stats)
      : File(std::move(path)), fd_(std::move(fd)), stats_(stats) {}

  Result<uint64_t> Size() override;
  Status Truncate(uint64_t size) override;

  // Serves reads from a mapping from now on (OpenOptions::map_reads);
  // called by Open before the file is handed out.
  void EnableReadMap() { read_map_ = std::make_unique<ReadMap>(fd_.get()); }

 protected:
  int fd() const { return fd_.get(); }
  IoStatsCounters* stats() const { return stats_; }
  // Copies a read from the mapping when there is one and it covers the
  // bytes (counting it); false: read with a system call.
  bool MappedRead(uint64_t offset, std::span<std::byte> buf);
  // Tells the mapping a write of [offset, offset + size) completed.
  void NoteWritten(uint64_t offset, size_t size) {
    if (read_map_ != nullptr) read_map_->NoteSize(offset + size);
  }

 private:
  UniqueFd fd_;
  IoStatsCounters* stats_;
  std::unique_ptr<ReadMap> read_map_;
};

// Opens the file as OpenFd does and wraps it in a FileT (an FdFile),
// mapped for reads when `options` ask for it.
template <typename FileT, typename... Args>
Result<std::unique_ptr<File>> OpenFdFile(const std::string& path, const OpenOptions& options,
                                         IoStatsCounters* stats, Args... args);

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

template <typename FileT, typename... Args>
Result<std::unique_ptr<File>> OpenFdFile(const std::string& path, const OpenOptions& options,
                                         IoStatsCounters* stats, Args... args) {
  MVDB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFd(path, options));
  auto file = std::make_unique<FileT>(path, std::move(fd), stats, args...);
  if (options.map_reads && !options.direct_io) file->EnableReadMap();
  return std::unique_ptr<File>(std::move(file));
}

}  // namespace mvdb::io_internal

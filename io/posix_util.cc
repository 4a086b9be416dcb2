#include "io/posix_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csetjmp>
#include <csignal>
#include <mutex>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>

namespace mvdb::io_internal {
namespace {

// Linux moves at most 0x7ffff000 bytes per read or write call; asking for
// less keeps every request inside ssize_t on any platform.
constexpr size_t kMaxTransfer = size_t{1} << 30;

// A flock(2) lock: released when the descriptor (the open file
// description) closes.
class FlockFileLock : public FileLock {
 public:
  FlockFileLock(UniqueFd fd, bool wrote_pid) : fd_(std::move(fd)), wrote_pid_(wrote_pid) {}
  ~FlockFileLock() override {
    // Clearing the pid while still holding the lock means a later reader
    // never sees a stale holder. A failure only leaves a stale pid, which
    // the next holder overwrites, so it is ignored.
    if (wrote_pid_) (void)::ftruncate(fd_.get(), 0);
  }

 private:
  UniqueFd fd_;
  bool wrote_pid_;
};

// The pid recorded in a lock file, or "" when it holds none (the holder may
// not have written it yet).
std::string ReadLockHolder(int fd) {
  char buf[32];
  ssize_t n;
  do {
    n = ::pread(fd, buf, sizeof(buf), 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return "";
  int64_t pid = 0;
  auto [end, ec] = std::from_chars(buf, buf + n, pid);
  if (ec != std::errc() || end == buf || pid <= 0) return "";
  return std::to_string(pid);
}

// flock(LOCK_EX | LOCK_NB) on `fd`, opened on `path`. Busy, naming the
// holder's pid when the file records one, if another descriptor holds it.
// NotFound if `path` no longer names the locked file (a failed open of a new
// database removes the LOCK file it created while holding the lock, and a
// locker that opened it just before must not hold a lock nobody else sees).
Status FlockExclusive(int fd, const std::string& path) {
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (errno != EWOULDBLOCK) return Status::FromErrno("flock " + path, errno);
    std::string holder = ReadLockHolder(fd);
    if (holder.empty()) return Status::Busy(path + " is locked by another process");
    return Status::Busy(path + " is locked by process " + holder);
  }
  struct stat held {};
  struct stat named {};
  if (::fstat(fd, &held) < 0) return Status::FromErrno("fstat " + path, errno);
  if (::stat(path.c_str(), &named) < 0 || named.st_ino != held.st_ino ||
      named.st_dev != held.st_dev) {
    return Status::NotFound(path + " was removed while it was being locked");
  }
  return Status::OK();
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = other.Release();
  }
  return *this;
}

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::Reset() {
  // close(2) must not be retried on EINTR on Linux: the descriptor is
  // already gone, and a retry could close one another thread just opened.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void IoStatsCounters::AddRead(uint64_t bytes) {
  reads_.fetch_add(1, std::memory_order_relaxed);
  bytes_read_.fetch_add(bytes, std::memory_order_relaxed);
}

void IoStatsCounters::AddWrite(uint64_t bytes) {
  writes_.fetch_add(1, std::memory_order_relaxed);
  bytes_written_.fetch_add(bytes, std::memory_order_relaxed);
}

void IoStatsCounters::AddSync() { syncs_.fetch_add(1, std::memory_order_relaxed); }
void IoStatsCounters::AddBatch() { batches_.fetch_add(1, std::memory_order_relaxed); }

FileSystemStats IoStatsCounters::Snapshot() const {
  FileSystemStats s;
  s.reads = reads_.load(std::memory_order_relaxed);
  s.writes = writes_.load(std::memory_order_relaxed);
  s.syncs = syncs_.load(std::memory_order_relaxed);
  s.batches = batches_.load(std::memory_order_relaxed);
  s.bytes_read = bytes_read_.load(std::memory_order_relaxed);
  s.bytes_written = bytes_written_.load(std::memory_order_relaxed);
  return s;
}

Status ErrnoStatus(std::string_view context, int err) {
  Status s = Status::FromErrno(context, err);
  if (err == ENOENT) return Status::NotFound(s.message());
  return s;
}

std::string IoContext(std::string_view op, const std::string& path, uint64_t offset) {
  std::string out(op);
  out += ' ';
  out += path;
  out += " at ";
  out += std::to_string(offset);
  return out;
}

Status ReadPastEof(const std::string& path, uint64_t offset, size_t wanted, size_t got) {
  return Status::Corruption("read past end of file " + path + " at " + std::to_string(offset) +
                            ": wanted " + std::to_string(wanted) + " bytes, got " +
                            std::to_string(got));
}

Result<UniqueFd> OpenFd(const std::string& path, const OpenOptions& options) {
  int flags = O_CLOEXEC | (options.read_only ? O_RDONLY : O_RDWR);
  if (options.create) flags |= O_CREAT;
  if (options.direct_io) flags |= O_DIRECT;
  int fd;
  do {
    fd = ::open(path.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  return UniqueFd(fd);
}

Status PreadFully(int fd, const std::string& path, uint64_t offset, std::span<std::byte> buf) {
  size_t done = 0;
  while (done < buf.size()) {
    size_t want = std::min(buf.size() - done, kMaxTransfer);
    ssize_t n = ::pread(fd, buf.data() + done, want, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(IoContext("pread", path, offset + done), errno);
    }
    if (n == 0) return ReadPastEof(path, offset, buf.size(), done);
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status PwriteFully(int fd, const std::string& path, uint64_t offset,
                   std::span<const std::byte> data) {
  size_t done = 0;
  while (done < data.size()) {
    size_t want = std::min(data.size() - done, kMaxTransfer);
    ssize_t n = ::pwrite(fd, data.data() + done, want, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(IoContext("pwrite", path, offset + done), errno);
    }
    // pwrite returns 0 only when it cannot make progress; looping would spin.
    if (n == 0) return Status::FromErrno(IoContext("pwrite", path, offset + done), EIO);
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status FdatasyncFd(int fd, const std::string& path) {
  int rc;
  do {
    rc = ::fdatasync(fd);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Status::FromErrno("fdatasync " + path, errno);
  return Status::OK();
}

bool FdFile::MappedRead(uint64_t offset, std::span<std::byte> buf) {
  if (read_map_ == nullptr || !read_map_->Read(offset, buf)) return false;
  stats_->AddRead(buf.size());
  return true;
}

namespace {

// A mapped read of a page the file no longer holds (another process
// truncated it) or the device cannot deliver raises SIGBUS. The copy runs
// under a guard: the handler jumps back to it, and the read takes the
// system-call path, which reports what is wrong. A SIGBUS outside a guarded
// copy goes to the handler that was there before (or kills, as it would
// have without mvdb).
thread_local sigjmp_buf* t_bus_guard = nullptr;
struct sigaction g_previous_bus {};
std::once_flag g_bus_handler_once;

void OnSigbus(int sig, siginfo_t* info, void* context) {
  if (t_bus_guard != nullptr) siglongjmp(*t_bus_guard, 1);
  if ((g_previous_bus.sa_flags & SA_SIGINFO) != 0 && g_previous_bus.sa_sigaction != nullptr) {
    g_previous_bus.sa_sigaction(sig, info, context);
    return;
  }
  if ((g_previous_bus.sa_flags & SA_SIGINFO) == 0 && g_previous_bus.sa_handler != SIG_DFL &&
      g_previous_bus.sa_handler != SIG_IGN) {
    g_previous_bus.sa_handler(sig);
    return;
  }
  // The default action: the faulting instruction runs again and kills.
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  ::sigaction(SIGBUS, &fallback, nullptr);
}

void InstallSigbusHandler() {
  std::call_once(g_bus_handler_once, [] {
    struct sigaction action {};
    action.sa_sigaction = OnSigbus;
    // SA_NODEFER: the jump out of the handler leaves SIGBUS unblocked
    // (sigsetjmp below saves no mask, which keeps the guard cheap).
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, &g_previous_bus);
  });
}

// memcpy, but false instead of a fault when the source page is gone.
bool GuardedCopy(std::byte* dst, const std::byte* src, size_t n) {
  sigjmp_buf guard;
  if (sigsetjmp(guard, 0) != 0) {
    t_bus_guard = nullptr;
    return false;
  }
  t_bus_guard = &guard;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  std::memcpy(dst, src, n);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_bus_guard = nullptr;
  return true;
}

}  // namespace

ReadMap::~ReadMap() {
  for (const auto& mapping : mappings_) {
    ::munmap(const_cast<std::byte*>(mapping->base), mapping->length);
  }
}

bool ReadMap::Read(uint64_t offset, std::span<std::byte> buf) {
  const uint64_t end = offset + buf.size();
  if (end < offset) return false;
  const Mapping* mapping = current_.load(std::memory_order_acquire);
  if (mapping == nullptr || end > valid_end_.load(std::memory_order_acquire) ||
      end > mapping->length) {
    if (!Cover(end)) return false;
    mapping = current_.load(std::memory_order_acquire);
  }
  return GuardedCopy(buf.data(), mapping->base + offset, buf.size());
}

void ReadMap::NoteSize(uint64_t end) {
  uint64_t known = valid_end_.load(std::memory_order_relaxed);
  while (known < end && !valid_end_.compare_exchange_weak(known, end, std::memory_order_acq_rel)) {
  }
}

void ReadMap::Shrink(uint64_t size) {
  std::lock_guard lock(mu_);
  if (valid_end_.load(std::memory_order_relaxed) > size) {
    valid_end_.store(size, std::memory_order_release);
  }
}

bool ReadMap::Cover(uint64_t end) {
  std::lock_guard lock(mu_);
  if (failed_) return false;
  if (end > valid_end_.load(std::memory_order_acquire)) {
    struct stat st {};
    if (::fstat(fd_, &st) < 0) return false;
    NoteSize(static_cast<uint64_t>(st.st_size));
    if (end > valid_end_.load(std::memory_order_acquire)) return false;
  }
  const Mapping* mapping = current_.load(std::memory_order_acquire);
  if (mapping != nullptr && end <= mapping->length) return true;
  constexpr uint64_t kMinMapping = uint64_t{64} << 20;
  constexpr uint64_t kGranule = uint64_t{2} << 20;
  uint64_t length = std::max(kMinMapping, 2 * valid_end_.load(std::memory_order_acquire));
  length = (length + kGranule - 1) / kGranule * kGranule;
  InstallSigbusHandler();
  void* base = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd_, 0);
  if (base == MAP_FAILED) {
    failed_ = true;
    return false;
  }
  auto fresh = std::make_unique<Mapping>();
  fresh->base = static_cast<const std::byte*>(base);
  fresh->length = length;
  current_.store(fresh.get(), std::memory_order_release);
  if (mapping != nullptr) {
    // The superseded mapping stays (a reader may be copying from it), but
    // its page-table entries go, so the file's pages are not counted in
    // RSS once per mapping. Safe for a shared file mapping: a reader still
    // in it faults the page in again from the page cache.
    (void)::madvise(const_cast<std::byte*>(mapping->base), mapping->length, MADV_DONTNEED);
  }
  mappings_.push_back(std::move(fresh));
  return true;
}

Result<uint64_t> FdFile::Size() {
  struct stat st {};
  if (::fstat(fd(), &st) < 0) return Status::FromErrno("fstat " + path(), errno);
  return static_cast<uint64_t>(st.st_size);
}

Status FdFile::Truncate(uint64_t size) {
  if (size > static_cast<uint64_t>(LLONG_MAX)) {
    return Status::InvalidArgument("truncate " + path() + ": size " + std::to_string(size) +
                                   " is too large");
  }
  if (read_map_ != nullptr) read_map_->Shrink(size);
  int rc;
  do {
    rc = ::ftruncate(fd(), static_cast<off_t>(size));
  } while (rc < 0 && errno == EINTR);
  if (rc < 0)
    return Status::FromErrno("ftruncate " + path() + " to " + std::to_string(size), errno);
  return Status::OK();
}

Status PosixFileSystemBase::Remove(const std::string& path) {
  if (::unlink(path.c_str()) == 0) return Status::OK();
  // Linux reports EISDIR for a directory (POSIX allows EPERM).
  if (errno != EISDIR && errno != EPERM) return ErrnoStatus("unlink " + path, errno);
  if (::rmdir(path.c_str()) < 0) return ErrnoStatus("rmdir " + path, errno);
  return Status::OK();
}

Status PosixFileSystemBase::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) < 0) {
    return ErrnoStatus("rename " + from + " to " + to, errno);
  }
  return Status::OK();
}

Result<bool> PosixFileSystemBase::Exists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  return Status::FromErrno("stat " + path, errno);
}

Status PosixFileSystemBase::CreateDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return Status::OK();
  int err = errno;
  struct stat st {};
  if (err == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::OK();
  return ErrnoStatus("mkdir " + path, err);
}

Result<std::vector<std::string>> PosixFileSystemBase::ListDir(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
  if (dir == nullptr) return ErrnoStatus("opendir " + path, errno);
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno != 0) return Status::FromErrno("readdir " + path, errno);
      break;
    }
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status PosixFileSystemBase::SyncDir(const std::string& dir) {
  MVDB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFd(dir, OpenOptions{.read_only = true}));
  int rc;
  do {
    rc = ::fsync(fd.get());
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Status::FromErrno("fsync directory " + dir, errno);
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> PosixFileSystemBase::LockFile(const std::string& path) {
  UniqueFd fd;
  for (int attempt = 0;; ++attempt) {
    MVDB_ASSIGN_OR_RETURN(fd, OpenFd(path, OpenOptions{.create = true}));
    const Status locked = FlockExclusive(fd.get(), path);
    if (locked.ok()) break;
    // Removed under us: lock the file that the path names now.
    if (!locked.IsNotFound() || attempt == 3) return locked;
  }
  // The pid only serves the message of a refused opener, but failing to
  // record it is still reported: a directory we cannot write is unusable.
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) < 0) return Status::FromErrno("ftruncate " + path, errno);
  MVDB_RETURN_IF_ERROR(PwriteFully(fd.get(), path, 0, std::as_bytes(std::span(pid))));
  return std::unique_ptr<FileLock>(std::make_unique<FlockFileLock>(std::move(fd), true));
}

Result<std::unique_ptr<FileLock>> PosixFileSystemBase::LockFileReadOnly(const std::string& path) {
  MVDB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFd(path, OpenOptions{.read_only = true}));
  MVDB_RETURN_IF_ERROR(FlockExclusive(fd.get(), path));
  return std::unique_ptr<FileLock>(std::make_unique<FlockFileLock>(std::move(fd), false));
}

}  // namespace mvdb::io_internal

// FaultInjectionFileSystem: a FileSystem for tests that fails on command and
// forgets what was never made durable (model: LevelDB's
// FaultInjectionTestEnv, SQLite's crash VFS).
//
// What a crash means here. A process "crashes" either when the test says so
// (DropUnsyncedData) or at a chosen point of a workload (SetCrashAfter: after
// k more write or sync operations every operation fails, as if the process
// were dead). The test then calls DropUnsyncedData, which turns the files on
// disk into what a power loss at that moment could leave, and reopens the
// database on the same directory. Enumerating k from 0 to the number of
// operations of a workload visits every write and sync point of it.
//
// What is modeled, per file (identified by the path it was opened with, and
// followed through Rename):
//   1. Data: a write or Truncate is durable only once a Sync of that file
//      succeeds (through any handle). Until then the old bytes and the old
//      size are kept, and DropUnsyncedData puts them back, newest first, so
//      the file reads exactly as at its last successful Sync. A failed Sync
//      makes nothing durable.
//   2. Torn pages: with CrashOptions::tear_last_write, when the most recent
//      unsynced operation on a file is a write, its first bytes (half of it
//      by default) survive and the rest is undone, as when power fails while
//      a page is half on disk.
//   3. Names: a file created through Open(create) is durable only once
//      SyncDir of its directory succeeds; otherwise DropUnsyncedData removes
//      it. Renaming an undurable file keeps it undurable under its new name.
//      The directory is the path up to its last '/', compared as a string:
//      spell it the same way in Open and SyncDir.
// What is not modeled: Rename and Remove of durable files and CreateDir are
// durable at once (a crash never brings back an old name); every operation
// is atomic with respect to another (no reordering within a write other than
// the tear); files changed behind this wrapper's back are not tracked; the
// lock of LockFile is not released by a crash (the test process lives on).
// OpenOptions::direct_io is ignored: files go through the page cache.
//
// Counting and faults. Write requests are WriteAt calls and the writes of a
// SubmitBatch, one each (a batch is run request by request through the same
// path as WriteAt, so faults hit batched writes too); syncs are File::Sync
// and SyncDir calls. Every such request issued counts, failed ones included.
//
// Threading: every method may be called from any thread; one mutex
// serialises all of them, base file system calls included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "io/file.h"
#include "mvdb/status.h"

namespace mvdb {

struct CrashOptions {
  // Keep the head of each file's most recent unsynced write (invariant 2).
  bool tear_last_write = false;
  // How many bytes of that write survive; 0 means half of it (rounded down).
  // Clamped to the write's length.
  size_t torn_bytes = 0;
};

class FaultInjectionFileSystem final : public FileSystem {
 public:
  // `base` does the I/O and must outlive this object and its files.
  explicit FaultInjectionFileSystem(FileSystem* base);
  ~FaultInjectionFileSystem() override;

  std::string_view name() const override { return name_; }
  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& options) override;
  Status Remove(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Result<bool> Exists(const std::string& path) override;
  Status CreateDir(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> LockFileReadOnly(const std::string& path) override;
  // Requests as seen by this wrapper (batches included); the base file
  // system's own stats also count the work of DropUnsyncedData.
  FileSystemStats stats() const override;

  // Write requests and syncs issued so far, since construction.
  uint64_t write_count() const;
  uint64_t sync_count() const;

  // The n-th write request from now (1 = the next) fails with IOError from
  // errno `err` (EIO, ENOSPC, ...) and writes nothing; if `sticky`, so does
  // every later one until ClearFaults. n == 0 is treated as 1. Replaces an
  // earlier FailWrite.
  void FailWrite(uint64_t n, int err, bool sticky);
  // The same for syncs (File::Sync and SyncDir).
  void FailSync(uint64_t n, int err, bool sticky);
  // After `k` more write or sync requests (0: now) the file system is dead:
  // every operation fails with IOError("simulated crash") until
  // DropUnsyncedData.
  void SetCrashAfter(uint64_t k);
  // Disarms FailWrite, FailSync and a pending SetCrashAfter. Does not revive
  // a file system that already crashed: DropUnsyncedData does.
  void ClearFaults();
  bool crashed() const;

  // Simulates power loss (invariants 1-3 above), then revives the file
  // system with nothing unsynced. Works whether or not files are still open;
  // handles stay usable. Faults armed with FailWrite/FailSync stay armed.
  Status DropUnsyncedData(const CrashOptions& options = {});

 private:
  class FaultFile;
  friend class FaultFile;
  struct FileState;  // what is unsynced about one file

  // A fault that fires on the n-th request of its kind.
  struct Fault {
    bool armed = false;
    uint64_t remaining = 0;  // requests until it fires, counting the firing one
    int err = 0;
    bool sticky = false;
    bool fired = false;

    static Fault Arm(uint64_t n, int err, bool sticky);
  };

  // REQUIRES: mu_ held. Each is called once per request of its kind, before
  // doing it: counts it, then returns the status it must fail with (OK to
  // go ahead). AfterOp runs once the request is done, to arm the crash.
  Status CheckAlive() const;
  Status BeginWrite(const std::string& path, uint64_t offset);
  Status BeginSync(const std::string& what);
  void AfterOp();
  static Status Trip(Fault& fault, const std::string& context);

  Status UndoFile(const std::string& path, FileState& state, const CrashOptions& options);

  FileSystem* base_;
  std::string name_;

  mutable std::mutex mu_;
  FileSystemStats stats_;
  uint64_t write_count_ = 0;
  uint64_t sync_count_ = 0;
  Fault write_fault_;
  Fault sync_fault_;
  bool crash_armed_ = false;
  uint64_t ops_until_crash_ = 0;
  bool crashed_ = false;
  // Files seen through Open, by current path. Handles share the state.
  std::map<std::string, std::shared_ptr<FileState>> files_;
};

}  // namespace mvdb

// Helpers shared by the write-ahead log tests: temporary directories,
// seeds, payloads, reading a whole log back, and a file system wrapper that
// lets a test slow down, hold back or skip fdatasync.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/file.h"
#include "tests/testing/temp_dir.h"
#include "wal/log_reader.h"
#include "wal/wal.h"

namespace mvdb::testing_wal {

class TempDir : public testing::TempDir {
 public:
  TempDir() : testing::TempDir("wal") {}
};

inline uint64_t TestSeed() { return testing::TestSeed(20240611); }

// `n` bytes that depend on `tag` and their position.
inline std::vector<std::byte> Payload(size_t n, uint64_t tag) {
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<std::byte>((i * 131 + tag * 977 + (tag >> 8) * 13 + 7) % 251);
  }
  return out;
}

struct ReadRecord {
  Lsn lsn = 0;
  uint8_t type = 0;
  std::vector<std::byte> payload;
};

struct ReadLog {
  std::vector<ReadRecord> records;
  LogEnd end;
};

// Every record from `start` to the end of the log in `dir`.
inline Result<ReadLog> ReadWholeLog(FileSystem* fs, const std::string& dir, Lsn start) {
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader, LogReader::Open(fs, dir, start));
  ReadLog out;
  LogRecord record;
  while (true) {
    MVDB_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) break;
    out.records.push_back(
        {record.lsn, record.type, {record.payload.begin(), record.payload.end()}});
  }
  out.end = reader->end();
  return out;
}

// Forwards everything to `base`, except that File::Sync can be made to
// skip the real fdatasync (for tests that sync thousands of times over a
// fault-injecting layer, which models durability itself), to sleep, or to
// block while a gate is closed. Counts File::Sync calls.
class SyncControlFileSystem final : public FileSystem {
 public:
  SyncControlFileSystem(FileSystem* base, bool real_syncs) : base_(base), real_syncs_(real_syncs) {}

  void SetSyncDelay(std::chrono::microseconds delay) {
    std::lock_guard<std::mutex> lock(mu_);
    delay_ = delay;
  }
  // While the gate is closed, every File::Sync waits (counted in blocked()).
  void CloseGate() {
    std::lock_guard<std::mutex> lock(mu_);
    gate_closed_ = true;
  }
  void OpenGate() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      gate_closed_ = false;
    }
    cv_.notify_all();
  }
  uint64_t file_syncs() const {
    std::lock_guard<std::mutex> lock(mu_);
    return file_syncs_;
  }
  uint64_t blocked() const {
    std::lock_guard<std::mutex> lock(mu_);
    return blocked_;
  }

  std::string_view name() const override { return "sync-control"; }
  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& options) override {
    MVDB_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base_->Open(path, options));
    return std::unique_ptr<File>(new ControlledFile(this, std::move(file)));
  }
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  Result<bool> Exists(const std::string& path) override { return base_->Exists(path); }
  Status CreateDir(const std::string& path) override { return base_->CreateDir(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  Status SyncDir(const std::string& dir) override {
    return real_syncs_ ? base_->SyncDir(dir) : Status::OK();
  }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }
  FileSystemStats stats() const override { return base_->stats(); }

 private:
  class ControlledFile final : public File {
   public:
    ControlledFile(SyncControlFileSystem* fs, std::unique_ptr<File> base)
        : File(base->path()), fs_(fs), base_(std::move(base)) {}
    Status ReadAt(uint64_t offset, std::span<std::byte> buf) override {
      return base_->ReadAt(offset, buf);
    }
    Status WriteAt(uint64_t offset, std::span<const std::byte> data) override {
      return base_->WriteAt(offset, data);
    }
    Status SubmitBatch(std::span<IoRequest> requests) override {
      return base_->SubmitBatch(requests);
    }
    Status Sync() override {
      std::chrono::microseconds delay;
      {
        std::unique_lock<std::mutex> lock(fs_->mu_);
        ++fs_->file_syncs_;
        ++fs_->blocked_;
        fs_->cv_.wait(lock, [this] { return !fs_->gate_closed_; });
        --fs_->blocked_;
        delay = fs_->delay_;
      }
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      return fs_->real_syncs_ ? base_->Sync() : Status::OK();
    }
    Result<uint64_t> Size() override { return base_->Size(); }
    Status Truncate(uint64_t size) override { return base_->Truncate(size); }

   private:
    SyncControlFileSystem* fs_;
    std::unique_ptr<File> base_;
  };

  FileSystem* base_;
  const bool real_syncs_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::microseconds delay_{0};
  bool gate_closed_ = false;
  uint64_t file_syncs_ = 0;
  uint64_t blocked_ = 0;
};

// Polls `done` until it holds or `timeout` passes; returns whether it held.
template <typename Pred>
bool WaitUntil(Pred done, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// True when `s` failed with a message containing `text`.
inline bool Contains(const Status& s, const std::string& text) {
  return std::string(s.message()).find(text) != std::string::npos;
}

}  // namespace mvdb::testing_wal

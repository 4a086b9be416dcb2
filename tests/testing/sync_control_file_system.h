// A FileSystem wrapper for tests that must control fdatasync: skip it, slow
// it down, or hold it back behind a gate until the test lets it go (the
// WAL tests hold every sync; the transaction failure tests hold the log's
// alone, to line a commit up behind one that is in its fsync).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "io/file.h"

namespace mvdb::testing {

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
  // While the gate is closed, every File::Sync of a file whose path
  // contains `path_part` (of every file by default) waits, counted in
  // blocked().
  void CloseGate(std::string path_part = "") {
    std::lock_guard<std::mutex> lock(mu_);
    gate_closed_ = true;
    gated_path_part_ = std::move(path_part);
  }
  void OpenGate() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      gate_closed_ = false;
    }
    cv_.notify_all();
  }
  // True once a File::Sync waits at the closed gate; false if none does
  // within `timeout`.
  bool WaitUntilBlocked(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return blocked_ > 0; });
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
        const auto gated = [this] {
          return fs_->gate_closed_ && path().find(fs_->gated_path_part_) != std::string::npos;
        };
        if (gated()) {
          ++fs_->blocked_;
          fs_->cv_.notify_all();  // for WaitUntilBlocked
          fs_->cv_.wait(lock, [&] { return !gated(); });
          --fs_->blocked_;
        }
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
  std::string gated_path_part_;
  uint64_t file_syncs_ = 0;
  uint64_t blocked_ = 0;
};

}  // namespace mvdb::testing

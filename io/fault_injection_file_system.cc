#include "io/fault_injection_file_system.h"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "io/posix_util.h"

namespace mvdb {
namespace {

constexpr std::string_view kCrashMessage = "simulated crash";

// The directory part of a path ("." when there is none), and a directory
// name without trailing slashes, so the two compare as strings.
std::string ParentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string NormalizeDir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir.empty() ? "." : dir;
}

}  // namespace

struct FaultInjectionFileSystem::FileState {
  // How to put one unsynced write or truncate back: restore the size the
  // file had before it, then the bytes it overwrote.
  struct Undo {
    uint64_t old_size = 0;
    uint64_t offset = 0;
    std::vector<std::byte> old_bytes;  // bytes [offset, offset + size) before
    bool is_write = false;
    size_t write_length = 0;  // for tearing: how long the write was
  };

  uint64_t size = 0;         // the file's size as this wrapper made it
  bool name_durable = true;  // false: created since its directory's SyncDir
  std::vector<Undo> undo;    // since the last successful Sync, oldest first
};

// A File whose every operation goes through the wrapper's bookkeeping,
// under the wrapper's mutex.
class FaultInjectionFileSystem::FaultFile final : public File {
 public:
  FaultFile(FaultInjectionFileSystem* fs, std::shared_ptr<FileState> state,
            std::unique_ptr<File> base)
      : File(base->path()), fs_(fs), state_(std::move(state)), base_(std::move(base)) {}

  Status ReadAt(uint64_t offset, std::span<std::byte> buf) override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    return ReadLocked(offset, buf);
  }

  Status WriteAt(uint64_t offset, std::span<const std::byte> data) override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    return WriteLocked(offset, data);
  }

  Status SubmitBatch(std::span<IoRequest> requests) override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    fs_->stats_.batches++;
    Status first;
    for (IoRequest& r : requests) {
      r.result = r.op == IoRequest::Op::kRead ? ReadLocked(r.offset, r.data)
                                              : WriteLocked(r.offset, r.data);
      if (first.ok()) first = r.result;
    }
    return first;
  }

  Status Sync() override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    Status s = fs_->BeginSync("fdatasync " + path());
    if (s.ok()) s = base_->Sync();
    if (s.ok()) {
      state_->undo.clear();
      fs_->stats_.syncs++;
    }
    fs_->AfterOp();
    return s;
  }

  Result<uint64_t> Size() override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    MVDB_RETURN_IF_ERROR(fs_->CheckAlive());
    return base_->Size();
  }

  Status Truncate(uint64_t size) override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    MVDB_RETURN_IF_ERROR(fs_->CheckAlive());
    FileState::Undo undo;
    undo.old_size = state_->size;
    undo.offset = size;
    if (size < state_->size) {
      undo.old_bytes.resize(state_->size - size);
      MVDB_RETURN_IF_ERROR(base_->ReadAt(size, undo.old_bytes));
    }
    state_->undo.push_back(std::move(undo));
    Status s = base_->Truncate(size);
    if (s.ok()) state_->size = size;
    return s;
  }

 private:
  Status ReadLocked(uint64_t offset, std::span<std::byte> buf) {
    MVDB_RETURN_IF_ERROR(fs_->CheckAlive());
    MVDB_RETURN_IF_ERROR(base_->ReadAt(offset, buf));
    fs_->stats_.reads++;
    fs_->stats_.bytes_read += buf.size();
    return Status::OK();
  }

  Status WriteLocked(uint64_t offset, std::span<const std::byte> data) {
    Status s = fs_->BeginWrite(path(), offset);
    if (s.ok()) s = RecordAndWrite(offset, data);
    fs_->AfterOp();
    return s;
  }

  // Keeps what the write overwrites (invariant 1), then does it.
  Status RecordAndWrite(uint64_t offset, std::span<const std::byte> data) {
    if (data.empty()) return Status::OK();
    FileState::Undo undo;
    undo.old_size = state_->size;
    undo.offset = offset;
    undo.is_write = true;
    undo.write_length = data.size();
    if (offset < state_->size) {
      undo.old_bytes.resize(std::min<uint64_t>(data.size(), state_->size - offset));
      MVDB_RETURN_IF_ERROR(base_->ReadAt(offset, undo.old_bytes));
    }
    state_->undo.push_back(std::move(undo));
    Status s = base_->WriteAt(offset, data);
    if (!s.ok()) {
      // Part of it may have landed; the undo record covers that, but the
      // size must come from the file again.
      Result<uint64_t> size = base_->Size();
      if (size.ok()) state_->size = *size;
      return s;
    }
    state_->size = std::max<uint64_t>(state_->size, offset + data.size());
    fs_->stats_.writes++;
    fs_->stats_.bytes_written += data.size();
    return Status::OK();
  }

  FaultInjectionFileSystem* fs_;
  std::shared_ptr<FileState> state_;
  std::unique_ptr<File> base_;
};

FaultInjectionFileSystem::FaultInjectionFileSystem(FileSystem* base)
    : base_(base), name_("fault(" + std::string(base->name()) + ")") {}

FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

Result<std::unique_ptr<File>> FaultInjectionFileSystem::Open(const std::string& path,
                                                             const OpenOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  MVDB_RETURN_IF_ERROR(CheckAlive());
  auto it = files_.find(path);
  bool creates = false;
  if (options.create && it == files_.end()) {
    MVDB_ASSIGN_OR_RETURN(bool exists, base_->Exists(path));
    creates = !exists;
  }
  // Undo records are read and written with ordinary buffers, which O_DIRECT
  // would refuse; crashes are simulated anyway, so the page cache is fine.
  OpenOptions base_options = options;
  base_options.direct_io = false;
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base_->Open(path, base_options));
  if (it == files_.end()) {
    auto state = std::make_shared<FileState>();
    MVDB_ASSIGN_OR_RETURN(state->size, file->Size());
    state->name_durable = !creates;
    it = files_.emplace(path, std::move(state)).first;
  }
  return std::unique_ptr<File>(new FaultFile(this, it->second, std::move(file)));
}

Status FaultInjectionFileSystem::Remove(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  MVDB_RETURN_IF_ERROR(CheckAlive());
  MVDB_RETURN_IF_ERROR(base_->Remove(path));
  files_.erase(path);
  return Status::OK();
}

Status FaultInjectionFileSystem::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  MVDB_RETURN_IF_ERROR(CheckAlive());
  MVDB_RETURN_IF_ERROR(base_->Rename(from, to));
  auto it = files_.find(from);
  if (it == files_.end()) {
    files_.erase(to);  // replaced by a file this wrapper does not track
    return Status::OK();
  }
  std::shared_ptr<FileState> state = std::move(it->second);
  files_.erase(it);
  files_[to] = std::move(state);
  return Status::OK();
}

Result<bool> FaultInjectionFileSystem::Exists(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  MVDB_RETURN_IF_ERROR(CheckAlive());
  return base_->Exists(path);
}

Status FaultInjectionFileSystem::CreateDir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  MVDB_RETURN_IF_ERROR(CheckAlive());
  return base_->CreateDir(path);
}

Result<std::vector<std::string>> FaultInjectionFileSystem::ListDir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  MVDB_RETURN_IF_ERROR(CheckAlive());
  return base_->ListDir(path);
}

Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = BeginSync("fsync directory " + dir);
  if (s.ok()) s = base_->SyncDir(dir);
  if (s.ok()) {
    const std::string normalized = NormalizeDir(dir);
    for (auto& [path, state] : files_) {
      if (ParentDir(path) == normalized) state->name_durable = true;
    }
  }
  AfterOp();
  return s;
}

Result<std::unique_ptr<FileLock>> FaultInjectionFileSystem::LockFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  MVDB_RETURN_IF_ERROR(CheckAlive());
  return base_->LockFile(path);
}

Result<std::unique_ptr<FileLock>> FaultInjectionFileSystem::LockFileReadOnly(
    const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  MVDB_RETURN_IF_ERROR(CheckAlive());
  return base_->LockFileReadOnly(path);
}

FileSystemStats FaultInjectionFileSystem::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

uint64_t FaultInjectionFileSystem::write_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return write_count_;
}

uint64_t FaultInjectionFileSystem::sync_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sync_count_;
}

void FaultInjectionFileSystem::FailWrite(uint64_t n, int err, bool sticky) {
  std::lock_guard<std::mutex> lock(mu_);
  write_fault_ = Fault::Arm(n, err, sticky);
}

void FaultInjectionFileSystem::FailSync(uint64_t n, int err, bool sticky) {
  std::lock_guard<std::mutex> lock(mu_);
  sync_fault_ = Fault::Arm(n, err, sticky);
}

void FaultInjectionFileSystem::SetCrashAfter(uint64_t k) {
  std::lock_guard<std::mutex> lock(mu_);
  crash_armed_ = k > 0;
  ops_until_crash_ = k;
  if (k == 0) crashed_ = true;
}

void FaultInjectionFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  write_fault_ = Fault{};
  sync_fault_ = Fault{};
  crash_armed_ = false;
}

bool FaultInjectionFileSystem::crashed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return crashed_;
}

Status FaultInjectionFileSystem::CheckAlive() const {
  if (crashed_) return Status::IOError(kCrashMessage);
  return Status::OK();
}

Status FaultInjectionFileSystem::BeginWrite(const std::string& path, uint64_t offset) {
  write_count_++;
  MVDB_RETURN_IF_ERROR(CheckAlive());
  return Trip(write_fault_, io_internal::IoContext("pwrite", path, offset));
}

Status FaultInjectionFileSystem::BeginSync(const std::string& what) {
  sync_count_++;
  MVDB_RETURN_IF_ERROR(CheckAlive());
  return Trip(sync_fault_, what);
}

void FaultInjectionFileSystem::AfterOp() {
  if (crash_armed_ && --ops_until_crash_ == 0) {
    crash_armed_ = false;
    crashed_ = true;
  }
}

FaultInjectionFileSystem::Fault FaultInjectionFileSystem::Fault::Arm(uint64_t n, int err,
                                                                     bool sticky) {
  Fault fault;
  fault.armed = true;
  fault.remaining = std::max<uint64_t>(n, 1);
  fault.err = err;
  fault.sticky = sticky;
  return fault;
}

Status FaultInjectionFileSystem::Trip(Fault& fault, const std::string& context) {
  if (!fault.armed) return Status::OK();
  if (!fault.fired) {
    if (--fault.remaining > 0) return Status::OK();
    fault.fired = true;
    if (!fault.sticky) fault.armed = false;
  }
  return Status::FromErrno(context + " (injected fault)", fault.err);
}

Status FaultInjectionFileSystem::DropUnsyncedData(const CrashOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  Status first;
  for (auto it = files_.begin(); it != files_.end();) {
    FileState& state = *it->second;
    if (state.name_durable) {
      Status s = UndoFile(it->first, state, options);
      if (first.ok()) first = s;
      ++it;
      continue;
    }
    // Invariant 3: the name never reached the disk, so neither did the file.
    Status s = base_->Remove(it->first);
    if (!s.ok() && !s.IsNotFound() && first.ok()) first = s;
    state = FileState{};  // open handles now write to an untracked orphan
    it = files_.erase(it);
  }
  crashed_ = false;
  crash_armed_ = false;
  return first;
}

Status FaultInjectionFileSystem::UndoFile(const std::string& path, FileState& state,
                                          const CrashOptions& options) {
  if (state.undo.empty()) return Status::OK();
  Result<std::unique_ptr<File>> opened = base_->Open(path, OpenOptions{});
  if (!opened.ok()) {
    state.undo.clear();
    return opened.status().IsNotFound() ? Status::OK() : opened.status();
  }
  File& file = **opened;
  // Invariant 2: the head of the newest write survives; read it before the
  // undo below puts the old bytes back.
  std::vector<std::byte> torn_head;
  uint64_t torn_offset = 0;
  const FileState::Undo& last = state.undo.back();
  if (options.tear_last_write && last.is_write) {
    size_t keep = options.torn_bytes == 0 ? last.write_length / 2
                                          : std::min(options.torn_bytes, last.write_length);
    torn_head.resize(keep);
    torn_offset = last.offset;
    MVDB_RETURN_IF_ERROR(file.ReadAt(torn_offset, torn_head));
  }
  for (auto undo = state.undo.rbegin(); undo != state.undo.rend(); ++undo) {
    MVDB_RETURN_IF_ERROR(file.Truncate(undo->old_size));
    if (!undo->old_bytes.empty()) MVDB_RETURN_IF_ERROR(file.WriteAt(undo->offset, undo->old_bytes));
  }
  if (!torn_head.empty()) MVDB_RETURN_IF_ERROR(file.WriteAt(torn_offset, torn_head));
  state.undo.clear();
  MVDB_ASSIGN_OR_RETURN(state.size, file.Size());
  return Status::OK();
}

}  // namespace mvdb

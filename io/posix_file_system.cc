// The POSIX backend: every request is one pread/pwrite loop on the calling
// thread, so a batch runs its requests one after another. It is the
// fallback when io_uring is unavailable and the reference the io_uring
// backend is tested against.
#include <memory>
#include <string>
#include <string_view>

#include "io/file.h"
#include "io/posix_util.h"

namespace mvdb {
namespace {

using io_internal::FdFile;
using io_internal::UniqueFd;

class PosixFile final : public FdFile {
 public:
  using FdFile::FdFile;

  Status ReadAt(uint64_t offset, std::span<std::byte> buf) override {
    if (MappedRead(offset, buf)) return Status::OK();
    MVDB_RETURN_IF_ERROR(io_internal::PreadFully(fd(), path(), offset, buf));
    stats()->AddRead(buf.size());
    return Status::OK();
  }

  Status WriteAt(uint64_t offset, std::span<const std::byte> data) override {
    MVDB_RETURN_IF_ERROR(io_internal::PwriteFully(fd(), path(), offset, data));
    NoteWritten(offset, data.size());
    stats()->AddWrite(data.size());
    return Status::OK();
  }

  Status SubmitBatch(std::span<IoRequest> requests) override {
    stats()->AddBatch();
    Status first;
    for (IoRequest& r : requests) {
      r.result =
          r.op == IoRequest::Op::kRead ? ReadAt(r.offset, r.data) : WriteAt(r.offset, r.data);
      if (first.ok()) first = r.result;
    }
    return first;
  }

  Status Sync() override {
    MVDB_RETURN_IF_ERROR(io_internal::FdatasyncFd(fd(), path()));
    stats()->AddSync();
    return Status::OK();
  }
};

class PosixFileSystem final : public io_internal::PosixFileSystemBase {
 public:
  std::string_view name() const override { return "posix"; }

  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& options) override {
    return io_internal::OpenFdFile<PosixFile>(path, options, counters());
  }
};

}  // namespace

std::unique_ptr<FileSystem> NewPosixFileSystem() { return std::make_unique<PosixFileSystem>(); }

}  // namespace mvdb

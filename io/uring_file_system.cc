// The io_uring backend: reads, writes and syncs go through liburing, and a
// batch is put in the submission queue as a whole so the kernel works on
// all of its requests at once.
//
// Rings and threads. The file system owns a fixed pool of rings (two per
// CPU, between 4 and 16), each with its own mutex. A thread starts at a ring
// chosen by hashing its id, takes the first free one from there, and waits
// on its own ring only when every ring is busy. The alternative, one ring per
// thread created lazily, ties a ring's lifetime to both a thread and a
// FileSystem, which end independently; the pool dies with its FileSystem and
// is bounded no matter how many threads come and go.
//
// Invariants:
//   1. A ring is used by one batch at a time: its mutex is held from the
//      first submission queue entry (SQE) prepared until the last completion
//      (CQE) reaped. So every CQE on a ring belongs to the batch holding it,
//      and a CQE's user_data is simply the index of its request.
//   2. At most `depth` requests per ring are outstanding (prepared and not
//      yet reaped). The submission queue has `depth` slots, so getting an SQE
//      never fails, and the completion queue has 2 * depth, so it never
//      overflows and no completion is lost.
//   3. A batch returns only when none of its requests is left in the kernel:
//      the kernel never writes into, or reads from, a caller's buffer after
//      the call returned. If io_uring_enter fails for good, the requests the
//      kernel took are drained, and a ring with SQEs the kernel never took is
//      re-created, so those SQEs (pointing at the caller's buffers) can never
//      be submitted later.
//   4. Every request moves all its bytes or fails: a short transfer, -EAGAIN
//      and -EINTR resubmit the remainder; a read that returns 0 bytes hit end
//      of file (Corruption, as in the POSIX backend); a write that returns 0
//      is EIO rather than an endless retry.
//
// Rings are shared memory with the kernel: a child made by fork() must not
// use a FileSystem it inherited (it would corrupt the parent's rings).
// Namespace operations and LockFile are the POSIX ones (posix_util.h).
#include <liburing.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "io/file.h"
#include "io/posix_util.h"

namespace mvdb {
namespace {

using io_internal::FdFile;
using io_internal::UniqueFd;

// Larger requests are split; each piece is resubmitted as a short transfer.
constexpr size_t kMaxTransfer = size_t{1} << 30;
constexpr unsigned kMaxQueueDepth = 4096;

std::string ErrnoText(int err) {
  char buf[128];
  return strerror_r(err, buf, sizeof(buf));
}

// One io_uring instance. Not thread-safe: RingPool serialises its users.
class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() { Close(); }

  // 0 or -errno.
  int Init(unsigned depth) {
    depth_ = depth;
    int rc = io_uring_queue_init(depth, &ring_, 0);
    initialized_ = rc == 0;
    return rc;
  }
  // Replaces the ring by a fresh one (invariant 3). Unusable if that fails.
  void Reinit() {
    Close();
    (void)Init(depth_);
  }
  bool usable() const { return initialized_; }
  unsigned depth() const { return depth_; }
  io_uring* get() { return &ring_; }

 private:
  void Close() {
    if (initialized_) io_uring_queue_exit(&ring_);
    initialized_ = false;
  }

  io_uring ring_{};
  unsigned depth_ = 0;
  bool initialized_ = false;
};

// A fixed set of rings, each behind its own mutex.
class RingPool {
 public:
  // The ring of a batch, locked for as long as the lease lives.
  class Lease {
   public:
    Lease(std::unique_lock<std::mutex> lock, Ring* ring) : lock_(std::move(lock)), ring_(ring) {}
    Ring& ring() { return *ring_; }

   private:
    std::unique_lock<std::mutex> lock_;
    Ring* ring_;
  };

  // Creates up to `count` rings; NotSupported if not even one works.
  static Result<std::unique_ptr<RingPool>> Create(unsigned depth, size_t count) {
    auto pool = std::unique_ptr<RingPool>(new RingPool());
    for (size_t i = 0; i < count; ++i) {
      auto slot = std::make_unique<Slot>();
      int rc = slot->ring.Init(depth);
      if (rc == 0 && i == 0) rc = ProbeNop(slot->ring);
      if (rc < 0) {
        if (i == 0) return Status::NotSupported("io_uring unavailable: " + ErrnoText(-rc));
        break;  // fewer rings (memlock limit, ...) still work
      }
      pool->slots_.push_back(std::move(slot));
    }
    return pool;
  }

  Lease Acquire() {
    static thread_local const size_t hint =
        std::hash<std::thread::id>{}(std::this_thread::get_id());
    const size_t n = slots_.size();
    for (size_t i = 0; i < n; ++i) {
      Slot& slot = *slots_[(hint + i) % n];
      std::unique_lock<std::mutex> lock(slot.mu, std::try_to_lock);
      if (lock.owns_lock()) return Lease(std::move(lock), &slot.ring);
    }
    Slot& slot = *slots_[hint % n];
    return Lease(std::unique_lock<std::mutex>(slot.mu), &slot.ring);
  }

 private:
  struct Slot {
    std::mutex mu;
    Ring ring;
  };

  RingPool() = default;

  // Some sandboxes let io_uring_setup succeed and then refuse every
  // operation, so a ring only counts once a NOP made the round trip.
  static int ProbeNop(Ring& ring) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring.get());
    if (sqe == nullptr) return -EBUSY;
    io_uring_prep_nop(sqe);
    int rc;
    do {
      rc = io_uring_submit_and_wait(ring.get(), 1);
    } while (rc == -EINTR);
    if (rc < 0) return rc;
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_peek_cqe(ring.get(), &cqe);
    if (rc < 0) return rc;
    int res = cqe->res;
    io_uring_cqe_seen(ring.get(), cqe);
    return res < 0 ? res : 0;
  }

  std::vector<std::unique_ptr<Slot>> slots_;
};

// One request of a batch as the engine tracks it.
struct UringOp {
  enum class Kind : uint8_t { kRead, kWrite, kSync };
  Kind kind = Kind::kRead;
  uint64_t offset = 0;
  std::byte* data = nullptr;
  size_t size = 0;
  size_t done = 0;  // bytes moved so far
  bool finished = false;
  Status result;
};

UringOp MakeOp(UringOp::Kind kind, uint64_t offset, std::byte* data, size_t size) {
  UringOp op;
  op.kind = kind;
  op.offset = offset;
  op.data = data;
  op.size = size;
  return op;
}

// Runs `ops` on `fd` through one ring until each is finished (invariants
// 1-4). Returns the first failure.
class BatchRunner {
 public:
  BatchRunner(Ring& ring, int fd, const std::string& path, std::span<UringOp> ops)
      : ring_(ring), fd_(fd), path_(path), ops_(ops) {}

  Status Run() {
    if (!ring_.usable()) {
      const Status failure =
          Status::IOError("io_uring ring for " + path_ + " could not be re-created");
      for (UringOp& op : ops_) {
        if (!op.finished) Finish(op, failure);
      }
      return failure;
    }
    while (HasWork() || outstanding_ > 0) {
      FillQueue();
      if (outstanding_ == 0) break;  // the remaining requests were empty
      int rc = io_uring_submit_and_wait(ring_.get(), 1);
      if (rc < 0 && rc != -EINTR) {
        if (rc != -EAGAIN && rc != -EBUSY) return Abandon(rc);
        // The kernel is short of resources: let in-flight requests finish.
        if (InKernel() > 0) {
          io_uring_cqe* cqe;
          (void)io_uring_wait_cqe(ring_.get(), &cqe);
        } else {
          sched_yield();
        }
      }
      Reap();
    }
    return FirstFailure();
  }

 private:
  bool HasWork() const { return next_ < ops_.size() || !retry_.empty(); }
  unsigned InKernel() const { return outstanding_ - io_uring_sq_ready(ring_.get()); }

  void FillQueue() {
    while (outstanding_ < ring_.depth() && HasWork()) {
      size_t i;
      if (!retry_.empty()) {
        i = retry_.back();
        retry_.pop_back();
      } else {
        i = next_++;
      }
      UringOp& op = ops_[i];
      if (op.kind != UringOp::Kind::kSync && op.size == 0) {
        op.finished = true;
        continue;
      }
      io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
      if (sqe == nullptr) {  // cannot happen by invariant 2; stay correct anyway
        retry_.push_back(i);
        return;
      }
      size_t len = std::min(op.size - op.done, kMaxTransfer);
      uint64_t at = op.offset + op.done;
      switch (op.kind) {
        case UringOp::Kind::kRead:
          io_uring_prep_read(sqe, fd_, op.data + op.done, static_cast<unsigned>(len), at);
          break;
        case UringOp::Kind::kWrite:
          io_uring_prep_write(sqe, fd_, op.data + op.done, static_cast<unsigned>(len), at);
          break;
        case UringOp::Kind::kSync:
          io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC);
          break;
      }
      io_uring_sqe_set_data64(sqe, i);
      ++outstanding_;
    }
  }

  void Reap() {
    unsigned head;
    unsigned count = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring_.get(), head, cqe) {
      ++count;
      Complete(io_uring_cqe_get_data64(cqe), cqe->res);
    }
    io_uring_cq_advance(ring_.get(), count);
    outstanding_ -= count;
  }

  void Complete(size_t i, int res) {
    UringOp& op = ops_[i];
    if (res == -EAGAIN || res == -EINTR) {
      retry_.push_back(i);
      return;
    }
    if (res < 0) return Finish(op, Status::FromErrno(Context(op), -res));
    if (op.kind == UringOp::Kind::kSync) return Finish(op, Status::OK());
    if (res == 0) {
      if (op.kind == UringOp::Kind::kRead) {
        return Finish(op, io_internal::ReadPastEof(path_, op.offset, op.size, op.done));
      }
      return Finish(op, Status::FromErrno(Context(op), EIO));
    }
    op.done += static_cast<size_t>(res);
    if (op.done < op.size) {
      retry_.push_back(i);
    } else {
      Finish(op, Status::OK());
    }
  }

  static void Finish(UringOp& op, Status s) {
    op.finished = true;
    op.result = std::move(s);
  }

  std::string Context(const UringOp& op) const {
    switch (op.kind) {
      case UringOp::Kind::kRead:
        return io_internal::IoContext("pread", path_, op.offset + op.done);
      case UringOp::Kind::kWrite:
        return io_internal::IoContext("pwrite", path_, op.offset + op.done);
      case UringOp::Kind::kSync:
        break;
    }
    return "fdatasync " + path_;
  }

  // io_uring_enter failed with `rc` for good: drain what the kernel holds,
  // fail everything unfinished, and re-create the ring if SQEs are left in
  // it (invariant 3).
  Status Abandon(int rc) {
    Status failure = Status::FromErrno("io_uring_enter for " + path_, -rc);
    while (InKernel() > 0) {
      io_uring_cqe* cqe;
      int wait = io_uring_wait_cqe(ring_.get(), &cqe);
      if (wait < 0 && wait != -EINTR && wait != -EAGAIN) break;
      Reap();
    }
    if (io_uring_sq_ready(ring_.get()) > 0 || InKernel() > 0) ring_.Reinit();
    for (UringOp& op : ops_) {
      if (!op.finished) Finish(op, failure);
    }
    return FirstFailure();
  }

  Status FirstFailure() const {
    for (const UringOp& op : ops_) {
      if (!op.result.ok()) return op.result;
    }
    return Status::OK();
  }

  Ring& ring_;
  int fd_;
  const std::string& path_;
  std::span<UringOp> ops_;
  size_t next_ = 0;            // ops [next_, size) were never submitted
  std::vector<size_t> retry_;  // ops to submit again for their remainder
  unsigned outstanding_ = 0;   // prepared and not yet reaped (invariant 2)
};

class UringFile final : public FdFile {
 public:
  UringFile(std::string path, UniqueFd fd, io_internal::IoStatsCounters* stats, RingPool* rings)
      : FdFile(std::move(path), std::move(fd), stats), rings_(rings) {}

  Status ReadAt(uint64_t offset, std::span<std::byte> buf) override {
    if (MappedRead(offset, buf)) return Status::OK();
    UringOp op = MakeOp(UringOp::Kind::kRead, offset, buf.data(), buf.size());
    return RunAndCount(std::span(&op, 1));
  }

  // A single buffered write is a plain pwrite: io_uring cannot overlap it
  // with anything, and on file systems without async buffered writes the
  // kernel hands it to an io-wq worker thread, which made a small write
  // (a WAL append) 25x slower than pwrite (43 us against 1.6 us per
  // one-put commit, bench/txn_bench raw_put). Batches still go through the
  // ring (SubmitBatch).
  Status WriteAt(uint64_t offset, std::span<const std::byte> data) override {
    MVDB_RETURN_IF_ERROR(io_internal::PwriteFully(fd(), path(), offset, data));
    NoteWritten(offset, data.size());
    stats()->AddWrite(data.size());
    return Status::OK();
  }

  // Reads the mapping covers (OpenOptions::map_reads) are copied from it;
  // of the rest, a lone read is a plain pread, for the reason WriteAt gives
  // (a buffered read the page cache holds costs a system call either way,
  // and the ring adds its lock, its bookkeeping and, on a cache miss of the
  // page cache, a hand-off to an io-wq worker); two or more requests go
  // through the ring as one batch.
  Status SubmitBatch(std::span<IoRequest> requests) override {
    stats()->AddBatch();
    std::vector<UringOp> ops;
    std::vector<size_t> op_request;  // index into `requests` of each op
    ops.reserve(requests.size());
    op_request.reserve(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      IoRequest& r = requests[i];
      if (r.op == IoRequest::Op::kRead && MappedRead(r.offset, r.data)) {
        r.result = Status::OK();
        continue;
      }
      auto kind = r.op == IoRequest::Op::kRead ? UringOp::Kind::kRead : UringOp::Kind::kWrite;
      ops.push_back(MakeOp(kind, r.offset, r.data.data(), r.data.size()));
      op_request.push_back(i);
    }
    Status batch;
    if (ops.size() == 1 && ops[0].kind == UringOp::Kind::kRead) {
      IoRequest& r = requests[op_request[0]];
      r.result = io_internal::PreadFully(fd(), path(), r.offset, r.data);
      if (r.result.ok()) stats()->AddRead(r.data.size());
    } else if (!ops.empty()) {
      // Per-request results below; the batch's own status too, so a
      // failure no request carries is never reported as success.
      batch = RunAndCount(ops);
      for (size_t j = 0; j < ops.size(); ++j) {
        IoRequest& r = requests[op_request[j]];
        r.result = std::move(ops[j].result);
        if (r.result.ok() && r.op == IoRequest::Op::kWrite) NoteWritten(r.offset, r.data.size());
      }
    }
    for (const IoRequest& r : requests) {
      if (!r.result.ok()) return r.result;
    }
    return batch;
  }

  Status Sync() override {
    UringOp op = MakeOp(UringOp::Kind::kSync, 0, nullptr, 0);
    return RunAndCount(std::span(&op, 1));
  }

 private:
  Status RunAndCount(std::span<UringOp> ops) {
    Status first;
    {
      RingPool::Lease lease = rings_->Acquire();
      first = BatchRunner(lease.ring(), fd(), path(), ops).Run();
    }
    for (const UringOp& op : ops) {
      if (!op.result.ok()) continue;
      switch (op.kind) {
        case UringOp::Kind::kRead:
          stats()->AddRead(op.size);
          break;
        case UringOp::Kind::kWrite:
          stats()->AddWrite(op.size);
          break;
        case UringOp::Kind::kSync:
          stats()->AddSync();
          break;
      }
    }
    return first;
  }

  RingPool* rings_;
};

class UringFileSystem final : public io_internal::PosixFileSystemBase {
 public:
  explicit UringFileSystem(std::unique_ptr<RingPool> rings) : rings_(std::move(rings)) {}

  std::string_view name() const override { return "io_uring"; }

  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& options) override {
    return io_internal::OpenFdFile<UringFile>(path, options, counters(), rings_.get());
  }

 private:
  std::unique_ptr<RingPool> rings_;
};

}  // namespace

Result<std::unique_ptr<FileSystem>> NewUringFileSystem(unsigned queue_depth) {
  if (queue_depth == 0 || queue_depth > kMaxQueueDepth) {
    return Status::InvalidArgument("io_uring queue depth must be in [1, " +
                                   std::to_string(kMaxQueueDepth) + "], got " +
                                   std::to_string(queue_depth));
  }
  size_t rings = std::clamp<size_t>(size_t{2} * std::thread::hardware_concurrency(), 4, 16);
  MVDB_ASSIGN_OR_RETURN(auto pool, RingPool::Create(queue_depth, rings));
  return std::unique_ptr<FileSystem>(std::make_unique<UringFileSystem>(std::move(pool)));
}

}  // namespace mvdb

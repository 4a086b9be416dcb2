// The workloads of mvdb-bench and the harness that times them (workloads.h
// says what a run is). Each workload is a loop body run on T threads; the
// harness gives every thread its Worker, a Histogram and a stop flag.
#include "workloads.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <numeric>
#include <random>
#include <span>
#include <thread>
#include <utility>

namespace mvdb::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kInitialBalance = 1000000;
constexpr size_t kLoadBatch = 1000;
constexpr size_t kFillerBytes = size_t{1} << 20;

struct WorkloadInfo {
  Workload workload;
  const char* name;
};

constexpr WorkloadInfo kWorkloads[] = {
    {Workload::kFillSeq, "fillseq"},     {Workload::kFillRandom, "fillrandom"},
    {Workload::kOverwrite, "overwrite"}, {Workload::kReadRandom, "readrandom"},
    {Workload::kReadSeq, "readseq"},     {Workload::kReadWhileWriting, "readwhilewriting"},
    {Workload::kYcsbA, "ycsb-a"},        {Workload::kYcsbB, "ycsb-b"},
    {Workload::kYcsbC, "ycsb-c"},        {Workload::kYcsbD, "ycsb-d"},
    {Workload::kYcsbE, "ycsb-e"},        {Workload::kYcsbF, "ycsb-f"},
    {Workload::kSyncWrite, "syncwrite"}, {Workload::kTxnTransfer, "txn-transfer"},
    {Workload::kFillBatch, "fillbatch"}, {Workload::kFillRandomBatch, "fillrandombatch"},
};

// splitmix64: a fast, well-mixed generator; one per thread.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (Lemire's multiply-shift; the bias is 2^-64 * n).
  uint64_t Uniform(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  // Uniform in [0, 1).
  double UniformDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// A thread's seed: distinct per run and thread, reproducible from --seed.
uint64_t ThreadSeed(uint64_t seed, Workload workload, int thread) {
  Rng mix(seed ^ (uint64_t{static_cast<uint8_t>(workload)} << 32) ^ static_cast<uint64_t>(thread));
  return mix.Next();
}

// Key number i, zero-padded to the key size, written in place.
class KeyBuffer {
 public:
  explicit KeyBuffer(size_t size) : key_(size, '0') {}
  std::string_view Set(uint64_t i) {
    char* end = key_.data() + key_.size();
    char* p = end;
    do {
      *--p = static_cast<char>('0' + i % 10);
      i /= 10;
    } while (i != 0 && p != key_.data());
    std::memset(key_.data(), '0', static_cast<size_t>(p - key_.data()));
    return key_;
  }
  std::string_view view() const { return key_; }

 private:
  std::string key_;
};

// A full value: the initial balance, then a random slice of the filler.
class ValueBuffer {
 public:
  explicit ValueBuffer(const DataSet& data) : filler_(data.filler()), value_(data.value_size(), 0) {
    EncodeBalance(kInitialBalance, &value_);
  }
  std::string_view Next(Rng& rng) {
    const size_t tail = value_.size() - 8;
    std::memcpy(value_.data() + 8, filler_.data() + rng.Uniform(kFillerBytes), tail);
    return value_;
  }

 private:
  const std::string& filler_;
  std::string value_;
};

// What one thread did.
struct ThreadStats {
  Histogram latency;
  uint64_t ops = 0;
  uint64_t writes = 0;
  uint64_t aborts = 0;
  Status status;
  Clock::time_point finished;
  Clock::time_point lap;  // the end of the previous timed operation
};

// A workload's loop on one thread. `stop` turns true when the duration is
// up, another thread failed, or (for the extra threads) every primary
// thread is done.
using ThreadBody = std::function<Status(int thread, Worker& worker, ThreadStats& stats,
                                        const std::atomic<bool>& stop)>;

bool Stopped(const std::atomic<bool>& stop) { return stop.load(std::memory_order_relaxed); }

// Times `op` into stats.latency, with one clock read per operation: an
// operation's latency runs from the end of the thread's previous one (or
// StartTiming) to its own end. Two reads around the call would cost ~45 ns
// on a VM's vDSO clock, more than a cached Next(); one read plus the Record
// is under 30 ns (--calibrate). The price: a latency includes the driver's
// work between two operations (the key's digits, a random draw, YCSB's
// zipfian pow()), 5 to 40 ns.
template <typename Op>
Status Timed(ThreadStats& stats, Op&& op) {
  Status status = op();
  const Clock::time_point end = Clock::now();
  stats.latency.Record(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(end - stats.lap).count()));
  stats.lap = end;
  return status;
}

// Starts the first operation's clock, after a thread's untimed setup.
void StartTiming(ThreadStats& stats) { stats.lap = Clock::now(); }

// A retryable failure left when the run was stopped in the middle of
// retrying: the operation did not happen, and that is not an error.
bool CutOff(const Status& status, const std::atomic<bool>& stop) {
  return status.IsRetryable() && Stopped(stop);
}

// Runs `op` until it does not fail with a retryable error, counting each
// such failure as an abort; yields before retrying so that the winner can
// finish. Gives up (returning the last failure) when the run is stopped.
template <typename Op>
Status Retried(ThreadStats& stats, const std::atomic<bool>& stop, Op&& op) {
  for (;;) {
    Status status = op();
    if (!status.IsRetryable()) return status;
    ++stats.aborts;
    if (Stopped(stop)) return status;
    std::this_thread::yield();
  }
}

// [begin, end) of thread t's share of `total`.
std::pair<uint64_t, uint64_t> Slice(uint64_t total, int threads, int t) {
  const auto n = static_cast<uint64_t>(threads);
  const auto i = static_cast<uint64_t>(t);
  return {total * i / n, total * (i + 1) / n};
}

struct PhaseResult {
  std::vector<std::unique_ptr<ThreadStats>> threads;
  double wall_s = 0;
};

// Runs `body` on `primary` + `extra` threads that start together; the
// phase ends when every primary thread is done or `duration_s` (if > 0) is
// up, whichever is first; then the extra threads are told to stop. The
// wall time is the primaries': barrier release to the last one's end.
Result<PhaseResult> RunPhase(EngineAdapter& engine, int primary, int extra, double duration_s,
                             const ThreadBody& body) {
  const int total = primary + extra;
  PhaseResult result;
  for (int t = 0; t < total; ++t) result.threads.push_back(std::make_unique<ThreadStats>());
  std::atomic<bool> stop{false};
  // The clock starts in the barrier's completion, before any thread is
  // released: read by the main thread after its own wait, it could come
  // after a fast thread (a scan of a small table) had already finished.
  Clock::time_point start;
  auto start_clock = [&start]() noexcept { start = Clock::now(); };
  std::barrier start_line(total + 1, start_clock);
  std::mutex mu;
  std::condition_variable cv;
  int primaries_done = 0;

  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(total));
  for (int t = 0; t < total; ++t) {
    threads.emplace_back([&, t] {
      ThreadStats& stats = *result.threads[static_cast<size_t>(t)];
      {
        // The Worker is made and destroyed on this thread (engine_adapter.h).
        Result<std::unique_ptr<Worker>> worker = engine.NewWorker();
        start_line.arrive_and_wait();
        stats.status = worker.ok() ? body(t, **worker, stats, stop) : worker.status();
        stats.finished = Clock::now();
        if (!stats.status.ok()) stop.store(true, std::memory_order_relaxed);
      }
      if (t < primary) {
        std::lock_guard<std::mutex> lock(mu);
        ++primaries_done;
        cv.notify_all();
      }
    });
  }
  start_line.arrive_and_wait();
  {
    std::unique_lock<std::mutex> lock(mu);
    auto all_done = [&] { return primaries_done == primary; };
    if (duration_s > 0) {
      cv.wait_until(lock, start + std::chrono::duration<double>(duration_s), all_done);
    } else {
      cv.wait(lock, all_done);
    }
  }
  stop.store(true, std::memory_order_relaxed);
  for (std::thread& thread : threads) thread.join();

  Clock::time_point end = start;
  for (int t = 0; t < primary; ++t)
    end = std::max(end, result.threads[static_cast<size_t>(t)]->finished);
  result.wall_s = std::chrono::duration<double>(end - start).count();
  for (const auto& stats : result.threads) {
    if (!stats->status.ok()) return stats->status;
  }
  return result;
}

// The process's bytes sent to storage: write_bytes less
// cancelled_write_bytes (dirty page-cache pages deleted before writeback,
// as an LSM's short-lived files are). Linux charges a buffered write to
// write_bytes when it dirties a page (so a page re-dirtied after its
// writeback counts again, as the device sees it), and a direct write when
// it is submitted; background threads of the engine are in this process.
Result<uint64_t> ProcessWriteBytes() {
  std::ifstream io("/proc/self/io");
  if (!io) return Status::IOError("cannot read /proc/self/io");
  std::string name;
  uint64_t value = 0;
  uint64_t written = 0;
  uint64_t cancelled = 0;
  while (io >> name >> value) {
    if (name == "write_bytes:") written = value;
    if (name == "cancelled_write_bytes:") cancelled = value;
  }
  return written - std::min(written, cancelled);
}

// Writes back the dirty pages of the engine's file system. Before the
// timed phase, so that the run starts without the previous one's backlog;
// after it, so that what the run wrote has reached the device before the
// counter is read (the engine is not closed first: closing flushes, and
// that would be charged to the run).
Status SyncFileSystem(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + dir, errno);
  const int rc = ::syncfs(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::FromErrno("syncfs " + dir, err);
  return Status::OK();
}

// The sum of every balance and the number of keys, read with one cursor
// (a consistent view) on the calling thread.
Status SumBalances(EngineAdapter& engine, int64_t* sum, uint64_t* keys) {
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<Worker> worker, engine.NewWorker());
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<Cursor> cursor, worker->NewCursor());
  *sum = 0;
  *keys = 0;
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    *sum += DecodeBalance(cursor->value());
    ++*keys;
  }
  return cursor->status();
}

// ---- The workloads: one ThreadBody each. ----

// fillseq and fillrandom: key numbers order[begin..end) (or begin..end
// when order is null), one Put per commit. (*next)[t] is where thread t
// stopped, for FinishFill when the fill was cut off.
ThreadBody Fill(DataSet& data, const RunSpec& spec, const std::vector<uint64_t>* order,
                std::vector<uint64_t>* next) {
  return [&data, &spec, order, next](int t, Worker& worker, ThreadStats& stats,
                                     const std::atomic<bool>& stop) -> Status {
    Rng rng(ThreadSeed(spec.seed, spec.workload, t));
    KeyBuffer key(data.key_size());
    ValueBuffer value(data);
    auto [begin, end] = Slice(data.num(), spec.threads, t);
    StartTiming(stats);
    for (uint64_t i = begin; i < end && !Stopped(stop); ++i) {
      (*next)[t] = i;
      key.Set(order == nullptr ? i : (*order)[i]);
      std::string_view v = value.Next(rng);
      Status status = Timed(
          stats, [&] { return Retried(stats, stop, [&] { return worker.Put(key.view(), v); }); });
      if (CutOff(status, stop)) break;
      MVDB_RETURN_IF_ERROR(status);
      ++stats.ops;
      ++stats.writes;
      (*next)[t] = i + 1;
    }
    return Status::OK();
  };
}

// fillbatch and fillrandombatch: fillseq's keys (order null) or
// fillrandom's, spec.batch_size pairs per commit (Worker::CommitBatch),
// as db_bench's fillbatch (sequential keys, 1,000 a batch) does. An
// operation is one commit (its latency is the batch's), but ops counts
// keys, so ops/s compares with the single-write fills'. (*next)[t] is where
// thread t stopped, as for Fill.
ThreadBody FillBatch(DataSet& data, const RunSpec& spec, const std::vector<uint64_t>* order,
                     std::vector<uint64_t>* next) {
  return [&data, &spec, order, next](int t, Worker& worker, ThreadStats& stats,
                                     const std::atomic<bool>& stop) -> Status {
    Rng rng(ThreadSeed(spec.seed, spec.workload, t));
    KeyBuffer key(data.key_size());
    ValueBuffer value(data);
    const size_t size = std::max<size_t>(1, spec.batch_size);
    // Filled in place: after the first batch, building one allocates nothing.
    std::vector<std::pair<std::string, std::string>> batch(size);
    auto [begin, end] = Slice(data.num(), spec.threads, t);
    StartTiming(stats);
    for (uint64_t i = begin; i < end && !Stopped(stop);) {
      (*next)[t] = i;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(size, end - i));
      batch.resize(n);
      for (size_t j = 0; j < n; ++j) {
        batch[j].first.assign(key.Set(order == nullptr ? i + j : (*order)[i + j]));
        batch[j].second.assign(value.Next(rng));
      }
      Status status = Timed(
          stats, [&] { return Retried(stats, stop, [&] { return worker.CommitBatch(batch); }); });
      if (CutOff(status, stop)) break;
      MVDB_RETURN_IF_ERROR(status);
      stats.ops += n;
      stats.writes += n;
      i += n;
      (*next)[t] = i;
    }
    return Status::OK();
  };
}

// Key numbers 0 to n - 1 in a random order (fillrandom's and the load's).
std::vector<uint64_t> Permutation(uint64_t n, uint64_t seed) {
  std::vector<uint64_t> order(n);
  std::iota(order.begin(), order.end(), uint64_t{0});
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  return order;
}

// Writes the keys numbered `numbers`, kLoadBatch pairs per commit
// (PutBatch, retried while it fails retryably), untimed; stops early when
// `stop` turns true. `what` names the work in an error.
Status PutInBatches(Worker& worker, DataSet& data, std::span<const uint64_t> numbers, Rng& rng,
                    const std::atomic<bool>& stop, std::string_view what) {
  KeyBuffer key(data.key_size());
  ValueBuffer value(data);
  std::vector<std::pair<std::string, std::string>> batch;
  for (size_t i = 0; i < numbers.size() && !Stopped(stop); i += kLoadBatch) {
    batch.clear();
    for (size_t j = i; j < std::min(numbers.size(), i + kLoadBatch); ++j) {
      batch.emplace_back(key.Set(numbers[j]), value.Next(rng));
    }
    Status status;
    do {
      status = worker.PutBatch(batch);
    } while (status.IsRetryable());
    MVDB_RETURN_IF_ERROR(status.WithContext(what));
  }
  return Status::OK();
}

// After a fill cut off by fill_duration_s: the keys each thread did not
// reach, untimed, in batches, so that the data set is whole for the
// workloads after it. A Put cut off mid-way is written again. The rest goes
// in key order: it is not measured, and in key order a B-tree whose data
// outgrows its cache visits each leaf once instead of reading a page per
// key (WiredTiger took over 7 minutes for 1M random keys with a 14 MiB
// cache). The database is then part random inserts, part in-order ones.
Status FinishFill(EngineAdapter& engine, DataSet& data, const RunSpec& spec,
                  const std::vector<uint64_t>* order, const std::vector<uint64_t>& next) {
  ThreadBody body = [&](int t, Worker& worker, ThreadStats&, const std::atomic<bool>& stop) {
    Rng rng(ThreadSeed(spec.seed, spec.workload, t) + 2);
    const uint64_t end = Slice(data.num(), spec.threads, t).second;
    std::vector<uint64_t> rest;
    rest.reserve(end - std::min(end, next[t]));
    for (uint64_t j = next[t]; j < end; ++j) rest.push_back(order == nullptr ? j : (*order)[j]);
    std::sort(rest.begin(), rest.end());
    return PutInBatches(worker, data, rest, rng, stop,
                        "completing the data set after the timed fill");
  };
  MVDB_ASSIGN_OR_RETURN(PhaseResult ignored, RunPhase(engine, spec.threads, 0, 0, body));
  return Status::OK();
}

// overwrite and syncwrite: Puts of uniform existing keys, `ops` in all;
// with ops == 0, until stopped (readwhilewriting's writer).
Status OverwriteLoop(DataSet& data, const RunSpec& spec, uint64_t ops, int t, Worker& worker,
                     ThreadStats& stats, const std::atomic<bool>& stop) {
  Rng rng(ThreadSeed(spec.seed, spec.workload, t));
  KeyBuffer key(data.key_size());
  ValueBuffer value(data);
  StartTiming(stats);
  for (uint64_t i = 0; (ops == 0 || i < ops) && !Stopped(stop); ++i) {
    key.Set(rng.Uniform(data.num()));
    std::string_view v = value.Next(rng);
    Status status = Timed(
        stats, [&] { return Retried(stats, stop, [&] { return worker.Put(key.view(), v); }); });
    if (CutOff(status, stop)) break;
    MVDB_RETURN_IF_ERROR(status);
    ++stats.ops;
    ++stats.writes;
  }
  return Status::OK();
}

// A Get that must find its key: a miss is a wrong engine, not a fast one.
Status ReadLoop(DataSet& data, const RunSpec& spec, uint64_t ops, int t, Worker& worker,
                ThreadStats& stats, const std::atomic<bool>& stop) {
  Rng rng(ThreadSeed(spec.seed, spec.workload, t));
  KeyBuffer key(data.key_size());
  std::string value;
  StartTiming(stats);
  for (uint64_t i = 0; i < ops && !Stopped(stop); ++i) {
    key.Set(rng.Uniform(data.num()));
    Status status = Timed(stats, [&] { return worker.Get(key.view(), &value); });
    if (status.IsNotFound()) {
      return Status::Corruption("Get(\"" + std::string(key.view()) +
                                "\") found no value, but the key was loaded");
    }
    MVDB_RETURN_IF_ERROR(status);
    ++stats.ops;
  }
  return Status::OK();
}

// Each thread scans the whole table; every step (the SeekToFirst, then
// each Next) is one operation, timed on its own.
ThreadBody ReadSeq(DataSet& data) {
  return [&data](int, Worker& worker, ThreadStats& stats, const std::atomic<bool>& stop) -> Status {
    MVDB_ASSIGN_OR_RETURN(std::unique_ptr<Cursor> cursor, worker.NewCursor());
    auto step = [&](auto&& move) {
      (void)Timed(stats, [&] {
        move();
        return Status::OK();
      });
    };
    StartTiming(stats);
    step([&] { cursor->SeekToFirst(); });
    uint64_t entries = 0;
    size_t bytes = 0;  // touches every entry, as a reader would
    while (cursor->Valid() && !Stopped(stop)) {
      bytes += cursor->key().size() + cursor->value().size();
      ++entries;
      step([&] { cursor->Next(); });
    }
    MVDB_RETURN_IF_ERROR(cursor->status());
    stats.ops = entries;
    if (!Stopped(stop) && (entries != data.live_keys() || bytes == 0)) {
      return Status::Corruption("readseq saw " + std::to_string(entries) + " keys of " +
                                std::to_string(data.live_keys()));
    }
    return Status::OK();
  };
}

// YCSB's core workloads.
struct YcsbMix {
  int read_percent;  // the rest is the workload's write
  enum class Write : uint8_t { kUpdate, kInsert, kReadModifyWrite } write;
  bool latest;  // D: reads favour the newest keys
  bool scan;    // E: the "read" is a scan
};

YcsbMix MixOf(Workload workload) {
  using W = YcsbMix::Write;
  switch (workload) {
    case Workload::kYcsbA:
      return {50, W::kUpdate, false, false};
    case Workload::kYcsbB:
      return {95, W::kUpdate, false, false};
    case Workload::kYcsbC:
      return {100, W::kUpdate, false, false};
    case Workload::kYcsbD:
      return {95, W::kInsert, true, false};
    case Workload::kYcsbE:
      return {95, W::kInsert, false, true};
    default:
      return {50, W::kReadModifyWrite, false, false};  // F
  }
}

Status Scan(Worker& worker, std::string_view start, uint64_t length) {
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<Cursor> cursor, worker.NewCursor());
  size_t bytes = 0;
  cursor->Seek(start);
  for (uint64_t n = 0; n < length && cursor->Valid(); ++n) {
    bytes += cursor->value().size();
    cursor->Next();
  }
  if (bytes == 0 && cursor->status().ok()) {
    return Status::Corruption("scan from \"" + std::string(start) + "\" found nothing");
  }
  return cursor->status();
}

ThreadBody Ycsb(DataSet& data, const RunSpec& spec) {
  const YcsbMix mix = MixOf(spec.workload);
  const ZipfianGenerator* zipf = &data.zipfian();
  return [&data, &spec, mix, zipf](int t, Worker& worker, ThreadStats& stats,
                                   const std::atomic<bool>& stop) -> Status {
    Rng rng(ThreadSeed(spec.seed, spec.workload, t));
    KeyBuffer key(data.key_size());
    ValueBuffer value(data);
    std::string read;
    auto [begin, end] = Slice(spec.reads, spec.threads, t);
    StartTiming(stats);
    for (uint64_t i = begin; i < end && !Stopped(stop); ++i) {
      const uint64_t rank = zipf->Next(rng.UniformDouble());
      Status status;
      if (static_cast<int>(rng.Uniform(100)) < mix.read_percent) {
        if (mix.scan) {
          key.Set(ScrambleRank(rank, data.num()));
          const uint64_t length = 1 + rng.Uniform(100);
          status = Timed(stats, [&] { return Scan(worker, key.view(), length); });
        } else {
          // Latest: the newest keys are likeliest. A key claimed by an
          // insert still in flight on another thread may be missing; only
          // the loaded keys must always be found.
          const uint64_t number =
              mix.latest ? data.live_keys() - 1 - rank : ScrambleRank(rank, data.num());
          key.Set(number);
          status = Timed(stats, [&] { return worker.Get(key.view(), &read); });
          if (status.IsNotFound() && number >= data.num()) status = Status::OK();
          if (status.IsNotFound()) {
            return Status::Corruption("Get(\"" + std::string(key.view()) +
                                      "\") found no value, but the key was loaded");
          }
        }
      } else {
        std::string_view v = value.Next(rng);
        switch (mix.write) {
          case YcsbMix::Write::kUpdate:
            key.Set(ScrambleRank(rank, data.num()));
            status = Timed(stats, [&] {
              return Retried(stats, stop, [&] { return worker.Put(key.view(), v); });
            });
            break;
          case YcsbMix::Write::kInsert:
            key.Set(data.ClaimInsert());
            status = Timed(stats, [&] {
              return Retried(stats, stop, [&] { return worker.Put(key.view(), v); });
            });
            break;
          case YcsbMix::Write::kReadModifyWrite:
            key.Set(ScrambleRank(rank, data.num()));
            status = Timed(stats, [&] {
              return Retried(stats, stop, [&] { return worker.ReadModifyWrite(key.view(), v); });
            });
            break;
        }
        if (CutOff(status, stop)) break;
        ++stats.writes;
      }
      MVDB_RETURN_IF_ERROR(status);
      ++stats.ops;
    }
    return Status::OK();
  };
}

ThreadBody TxnTransfer(DataSet& data, const RunSpec& spec) {
  const ZipfianGenerator* zipf =
      spec.distribution == Distribution::kZipfian ? &data.zipfian() : nullptr;
  return [&data, &spec, zipf](int t, Worker& worker, ThreadStats& stats,
                              const std::atomic<bool>& stop) -> Status {
    Rng rng(
        ThreadSeed(spec.seed, spec.workload, t) ^
        ((static_cast<uint64_t>(spec.isolation) << 8) | static_cast<uint64_t>(spec.distribution)));
    auto pick = [&] {
      return zipf == nullptr ? rng.Uniform(data.num())
                             : ScrambleRank(zipf->Next(rng.UniformDouble()), data.num());
    };
    KeyBuffer from(data.key_size());
    KeyBuffer to(data.key_size());
    auto [begin, end] = Slice(spec.reads, spec.threads, t);
    StartTiming(stats);
    for (uint64_t i = begin; i < end && !Stopped(stop); ++i) {
      const uint64_t a = pick();
      uint64_t b = pick();
      while (b == a) b = pick();
      from.Set(a);
      to.Set(b);
      const auto amount = static_cast<int64_t>(1 + rng.Uniform(100));
      Status status = Timed(stats, [&] {
        return Retried(stats, stop, [&] {
          return worker.Transfer(from.view(), to.view(), amount, spec.isolation);
        });
      });
      if (CutOff(status, stop)) break;  // not a commit
      MVDB_RETURN_IF_ERROR(status);
      ++stats.ops;
      stats.writes += 2;
    }
    return Status::OK();
  };
}

}  // namespace

std::vector<std::string> WorkloadNames() {
  std::vector<std::string> names;
  for (const WorkloadInfo& info : kWorkloads) names.emplace_back(info.name);
  return names;
}

std::optional<Workload> ParseWorkload(std::string_view name) {
  for (const WorkloadInfo& info : kWorkloads) {
    if (name == info.name) return info.workload;
  }
  return std::nullopt;
}

std::string_view WorkloadName(Workload workload) {
  for (const WorkloadInfo& info : kWorkloads) {
    if (info.workload == workload) return info.name;
  }
  return "?";
}

bool StartsEmpty(Workload workload) {
  return workload == Workload::kFillSeq || workload == Workload::kFillRandom ||
         workload == Workload::kFillBatch || workload == Workload::kFillRandomBatch;
}

bool Inserts(Workload workload) {
  return workload == Workload::kYcsbD || workload == Workload::kYcsbE;
}

ZipfianGenerator::ZipfianGenerator(uint64_t items, double theta) : items_(items), theta_(theta) {
  double zeta = 0;
  for (uint64_t i = 1; i <= items; ++i) zeta += 1.0 / std::pow(static_cast<double>(i), theta);
  zetan_ = zeta;
  const double zeta2 = 1.0 + 1.0 / std::pow(2.0, theta);
  alpha_ = 1.0 / (1.0 - theta);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(items), 1.0 - theta)) / (1.0 - zeta2 / zetan_);
  half_pow_theta_ = 1.0 + std::pow(0.5, theta);
}

uint64_t ZipfianGenerator::Next(double u) const {
  const double uz = u * zetan_;
  if (uz < 1.0) return 0;
  if (uz < half_pow_theta_ && items_ > 1) return 1;
  const auto rank =
      static_cast<uint64_t>(static_cast<double>(items_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
  return std::min(rank, items_ - 1);
}

uint64_t ScrambleRank(uint64_t rank, uint64_t n) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64, as YCSB's Utils.fnvhash64
  for (int b = 0; b < 8; ++b) {
    hash ^= rank & 0xff;
    hash *= 0x100000001b3ULL;
    rank >>= 8;
  }
  return hash % n;
}

DataSet::DataSet(uint64_t num, size_t key_size, size_t value_size, uint64_t seed)
    : num_(num), key_size_(key_size), value_size_(value_size), next_insert_(num) {
  filler_.resize(kFillerBytes + value_size);
  Rng rng(seed ^ 0xf111e7ULL);
  for (size_t i = 0; i < filler_.size(); i += 8) {
    const uint64_t x = rng.Next();
    std::memcpy(filler_.data() + i, &x, std::min<size_t>(8, filler_.size() - i));
  }
}

const ZipfianGenerator& DataSet::zipfian() {
  if (zipfian_ == nullptr) zipfian_ = std::make_unique<ZipfianGenerator>(num_);
  return *zipfian_;
}

Status LoadDataSet(EngineAdapter& engine, DataSet& data, int threads, uint64_t seed) {
  const std::vector<uint64_t> order = Permutation(data.num(), seed);
  ThreadBody body = [&](int t, Worker& worker, ThreadStats&, const std::atomic<bool>& stop) {
    Rng rng(ThreadSeed(seed, Workload::kFillRandom, t) + 1);
    auto [begin, end] = Slice(data.num(), threads, t);
    return PutInBatches(worker, data, std::span(order).subspan(begin, end - begin), rng, stop,
                        "loading the data set");
  };
  MVDB_ASSIGN_OR_RETURN(PhaseResult ignored, RunPhase(engine, threads, 0, 0, body));
  data.ResetInserts();
  return Status::OK();
}

Result<RunResult> RunWorkload(EngineAdapter& engine, DataSet& data, const RunSpec& spec) {
  // fillrandom's permutation, made before the clock starts
  const std::vector<uint64_t> order =
      spec.workload == Workload::kFillRandom || spec.workload == Workload::kFillRandomBatch
          ? Permutation(data.num(), spec.seed)
          : std::vector<uint64_t>();
  int64_t sum_before = 0;
  uint64_t keys_before = 0;
  if (spec.workload == Workload::kTxnTransfer) {
    MVDB_RETURN_IF_ERROR(SumBalances(engine, &sum_before, &keys_before));
  }

  int extra = 0;
  ThreadBody body;
  std::vector<uint64_t> fill_next(static_cast<size_t>(spec.threads));
  for (int t = 0; t < spec.threads; ++t) fill_next[t] = Slice(data.num(), spec.threads, t).first;
  switch (spec.workload) {
    case Workload::kFillSeq:
      body = Fill(data, spec, nullptr, &fill_next);
      break;
    case Workload::kFillRandom:
      body = Fill(data, spec, &order, &fill_next);
      break;
    case Workload::kFillBatch:
      body = FillBatch(data, spec, nullptr, &fill_next);
      break;
    case Workload::kFillRandomBatch:
      body = FillBatch(data, spec, &order, &fill_next);
      break;
    case Workload::kOverwrite:
    case Workload::kSyncWrite:
      body = [&](int t, Worker& worker, ThreadStats& stats, const std::atomic<bool>& stop) {
        auto [begin, end] = Slice(data.num(), spec.threads, t);
        return OverwriteLoop(data, spec, end - begin, t, worker, stats, stop);
      };
      break;
    case Workload::kReadRandom:
      body = [&](int t, Worker& worker, ThreadStats& stats, const std::atomic<bool>& stop) {
        auto [begin, end] = Slice(spec.reads, spec.threads, t);
        return ReadLoop(data, spec, end - begin, t, worker, stats, stop);
      };
      break;
    case Workload::kReadSeq:
      body = ReadSeq(data);
      break;
    case Workload::kReadWhileWriting:
      // Thread `threads` is the writer: it runs until the readers are done
      // and its operations are not the run's (only its bytes are).
      extra = 1;
      body = [&](int t, Worker& worker, ThreadStats& stats, const std::atomic<bool>& stop) {
        if (t == spec.threads) return OverwriteLoop(data, spec, 0, t, worker, stats, stop);
        auto [begin, end] = Slice(spec.reads, spec.threads, t);
        return ReadLoop(data, spec, end - begin, t, worker, stats, stop);
      };
      break;
    case Workload::kTxnTransfer:
      body = TxnTransfer(data, spec);
      break;
    default:
      body = Ycsb(data, spec);
      break;
  }

  MVDB_RETURN_IF_ERROR(SyncFileSystem(spec.dir));
  MVDB_ASSIGN_OR_RETURN(uint64_t written_before, ProcessWriteBytes());
  const double duration = StartsEmpty(spec.workload) ? spec.fill_duration_s : spec.duration_s;
  MVDB_ASSIGN_OR_RETURN(PhaseResult phase, RunPhase(engine, spec.threads, extra, duration, body));
  MVDB_RETURN_IF_ERROR(SyncFileSystem(spec.dir));
  MVDB_ASSIGN_OR_RETURN(uint64_t written_after, ProcessWriteBytes());

  RunResult result;
  result.wall_s = phase.wall_s;
  result.bytes_written = written_after - std::min(written_after, written_before);
  for (size_t t = 0; t < phase.threads.size(); ++t) {
    const ThreadStats& stats = *phase.threads[t];
    result.writes += stats.writes;
    if (static_cast<int>(t) >= spec.threads) continue;  // readwhilewriting's writer
    result.ops += stats.ops;
    result.aborts += stats.aborts;
    result.latency.Merge(stats.latency);
  }
  if (StartsEmpty(spec.workload) && result.ops < data.num()) {
    MVDB_RETURN_IF_ERROR(
        FinishFill(engine, data, spec, order.empty() ? nullptr : &order, fill_next));
  }

  if (spec.workload == Workload::kTxnTransfer) {
    int64_t sum_after = 0;
    uint64_t keys_after = 0;
    MVDB_RETURN_IF_ERROR(SumBalances(engine, &sum_after, &keys_after));
    if (sum_after != sum_before || keys_after != keys_before) {
      return Status::Corruption("transfers did not conserve money: " + std::to_string(keys_before) +
                                " accounts held " + std::to_string(sum_before) + " before, " +
                                std::to_string(keys_after) + " accounts hold " +
                                std::to_string(sum_after) + " after " + std::to_string(result.ops) +
                                " commits");
    }
  }
  return result;
}

double MeasurementOverheadNs() {
  // The best of several rounds: on a shared machine a round that was
  // preempted measures the neighbours, not the clock.
  constexpr int kRounds = 7;
  constexpr int kOps = 3000000;
  double best = 0;
  for (int round = 0; round < kRounds; ++round) {
    ThreadStats stats;
    volatile uint64_t sink = 0;
    const Clock::time_point start = Clock::now();
    StartTiming(stats);
    for (int i = 0; i < kOps; ++i) {
      (void)Timed(stats, [&] {
        sink = sink + 1;
        return Status::OK();
      });
    }
    const Clock::time_point end = Clock::now();
    const double ns = std::chrono::duration<double, std::nano>(end - start).count() / kOps;
    if (round == 0 || ns < best) best = ns;
  }
  return best;
}

}  // namespace mvdb::bench

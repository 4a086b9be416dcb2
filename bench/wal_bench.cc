// Micro-benchmarks of the write-ahead log, all in one run on one disk:
//   BM_RawFdatasync   a small write plus fdatasync in a loop: the disk's
//                     physical limit for durable commits without grouping
//                     (with the CPU otherwise idle, and with it kept busy).
//   BM_FullCommit     Wal::Commit with Durability::kFull (100-byte records)
//                     from 1, 4, 16 and 64 threads. Group commit lets one
//                     fdatasync serve many committers; records_per_fsync
//                     says how many it did.
//   BM_NormalCommit   Durability::kNormal from one thread (no wait for the
//                     disk), and BM_Append, the in-memory path alone.
//
//   MVDB_BENCH_DIR=/path/on/the/disk build/bin/wal_bench
//
// MVDB_WAL_GROUP_WAIT_US overrides WalOptions::group_commit_wait (0 turns
// the leader's wait for more committers off).
//
// The log lives in a fresh directory under MVDB_BENCH_DIR (default
// /var/tmp, which is on disk where /tmp is a tmpfs), removed at exit. The
// file system is NewDefaultFileSystem's (io_uring where the kernel allows
// it; the context line io_backend says which).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "io/file.h"
#include "mvdb/status.h"
#include "wal/wal.h"

namespace mvdb::bench {
namespace {

constexpr size_t kPayloadSize = 100;

void Die(const Status& s) {
  std::fprintf(stderr, "wal_bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

FileSystem* Fs() {
  static std::unique_ptr<FileSystem> fs = [] {
    Result<std::unique_ptr<FileSystem>> made = NewDefaultFileSystem();
    if (!made.ok()) Die(made.status());
    return std::move(*made);
  }();
  return fs.get();
}

void RemoveRoot();

const std::string& RootDir() {
  static const std::string root = [] {
    const char* base = std::getenv("MVDB_BENCH_DIR");
    std::string tmpl = std::string(base != nullptr ? base : "/var/tmp") + "/mvdb-wal-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) Die(Status::IOError("mkdtemp " + tmpl));
    benchmark::AddCustomContext("wal_bench_dir", tmpl);
    benchmark::AddCustomContext("io_backend", std::string(Fs()->name()));
    return tmpl;
  }();
  static const bool registered = std::atexit(RemoveRoot) == 0;
  (void)registered;
  return root;
}

void RemoveRoot() {
  std::error_code ec;
  std::filesystem::remove_all(RootDir(), ec);
}

// Arg 1 keeps a second thread spinning meanwhile. On virtual machines an
// idle CPU can add milliseconds to every wake-up from fdatasync, while a
// busy one (as with many committers) does not; both rates bound the commit
// figures below.
void BM_RawFdatasync(benchmark::State& state) {
  const std::string path = RootDir() + "/raw";
  Result<std::unique_ptr<File>> file = Fs()->Open(path, OpenOptions{.create = true});
  if (!file.ok()) Die(file.status());
  std::atomic<bool> stop{false};
  std::thread spinner;
  if (state.range(0) != 0) {
    spinner = std::thread([&stop] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  }
  const std::vector<std::byte> block(128, std::byte{0x42});  // one framed 100-byte record
  uint64_t offset = 0;
  for (auto _ : state) {
    Status s = (*file)->WriteAt(offset, block);
    if (s.ok()) s = (*file)->Sync();
    if (!s.ok()) Die(s);
    offset += block.size();
  }
  stop = true;
  if (spinner.joinable()) spinner.join();
  state.counters["fsyncs_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  file->reset();
  (void)Fs()->Remove(path);
}
BENCHMARK(BM_RawFdatasync)
    ->ArgName("busy_cpu")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// One log per benchmark run, shared by its threads.
Wal* g_wal = nullptr;
WalStats g_before;
std::chrono::steady_clock::time_point g_start;
int g_runs = 0;

std::string RunDir() { return RootDir() + "/wal-" + std::to_string(g_runs); }

void OpenLog(const benchmark::State&) {
  ++g_runs;
  WalOptions options;
  if (const char* wait = std::getenv("MVDB_WAL_GROUP_WAIT_US"); wait != nullptr) {
    options.group_commit_wait = std::chrono::microseconds(std::strtoll(wait, nullptr, 10));
  }
  Result<std::unique_ptr<Wal>> wal = Wal::Open(Fs(), RunDir(), options);
  if (!wal.ok()) Die(wal.status());
  g_wal = wal->release();
  g_before = g_wal->stats();
  g_start = std::chrono::steady_clock::now();
}

void CloseLog(const benchmark::State&) {
  Status s = g_wal->Close();
  if (!s.ok()) Die(s);
  delete g_wal;
  g_wal = nullptr;
  std::error_code ec;
  std::filesystem::remove_all(RunDir(), ec);
}

void CommitLoop(benchmark::State& state, Durability durability) {
  const std::vector<std::byte> payload(kPayloadSize, std::byte{0x17});
  for (auto _ : state) {
    Result<Lsn> lsn = g_wal->Commit(1, payload, durability);
    if (!lsn.ok()) {
      state.SkipWithError(lsn.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  // Every thread has left its loop here (the loop ends at a barrier), so
  // thread 0 sees the whole run's counts.
  if (state.thread_index() == 0) {
    const WalStats now = g_wal->stats();
    const double fsyncs = static_cast<double>(now.fsyncs - g_before.fsyncs);
    const double records = static_cast<double>(now.durable_records - g_before.durable_records);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count();
    state.counters["fsyncs"] = fsyncs;
    // The disk's pace during this run: commits/s = this x records_per_fsync.
    state.counters["fsyncs_per_s"] = seconds > 0 ? fsyncs / seconds : 0.0;
    state.counters["records_per_fsync"] = fsyncs > 0 ? records / fsyncs : 0.0;
  }
}

void BM_FullCommit(benchmark::State& state) { CommitLoop(state, Durability::kFull); }
BENCHMARK(BM_FullCommit)
    ->Setup(OpenLog)
    ->Teardown(CloseLog)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->Threads(64)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_NormalCommit(benchmark::State& state) { CommitLoop(state, Durability::kNormal); }
BENCHMARK(BM_NormalCommit)
    ->Setup(OpenLog)
    ->Teardown(CloseLog)
    ->Threads(1)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_Append(benchmark::State& state) {
  const std::vector<std::byte> payload(kPayloadSize, std::byte{0x17});
  for (auto _ : state) {
    Result<Lsn> lsn = g_wal->Append(1, payload);
    if (!lsn.ok()) {
      state.SkipWithError(lsn.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
// A fixed count: the records go to disk, and an open-ended run would write
// gigabytes.
BENCHMARK(BM_Append)->Setup(OpenLog)->Teardown(CloseLog)->Iterations(1'000'000)->Unit(
    benchmark::kNanosecond);

}  // namespace
}  // namespace mvdb::bench

int main(int argc, char** argv) {
  mvdb::bench::RootDir();  // puts the directory and the I/O backend in the context
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

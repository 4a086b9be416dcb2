// Durable commit throughput and latency of the database facade, next to the
// physical limit of the disk it runs on, all measured in one run:
//
//   raw fdatasync   a 128-byte pwrite plus fdatasync in a loop on a file in
//                   the benchmark directory: the rate a committer that does
//                   not share its fsync can reach at best.
//   throughput      Engine::Write at SyncMode::kFull, one small Put per batch,
//                   from 1, 4, 16 and 64 threads: commits/s, commits per
//                   fsync (EngineStats::wal_fsyncs) and the ratio to the
//                   single committer. Group commit is what lets commits/s
//                   exceed fsyncs/s: commits/s = fsyncs/s x commits/fsync.
//   latency         4 committers updating random keys of a 200,000-entry
//                   tree: p50 / p99 / p99.9 of Write, once with no
//                   checkpoint running, once while a thread calls
//                   Engine::Checkpoint back to back.
//
// Each measurement runs --seconds (default 5) and the whole set --runs
// times (default 3); the summary gives the median of the runs for each
// figure, since the fsync speed of a shared or virtual disk varies a lot.
//
//   MVDB_BENCH_DIR=/path/on/the/disk build/bin/commit_bench [--seconds S] [--runs R]
//
// The databases live in a fresh directory under MVDB_BENCH_DIR (default
// /var/tmp, on disk where /tmp may be a tmpfs), removed at exit.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "mvdb/status.h"

namespace mvdb::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kValueSize = 100;
constexpr int kLatencyKeys = 200'000;
constexpr int kLatencyThreads = 4;
constexpr int kCommitterCounts[] = {1, 4, 16, 64};

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "commit_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The disk's fdatasync rate: small write + fdatasync, one at a time.
double RawFsyncRate(const std::string& dir, double seconds) {
  const std::string path = dir + "/raw-fsync";
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) Die("open " + path, Status::FromErrno(path, errno));
  const std::vector<char> block(128, 'r');
  uint64_t n = 0;
  const Clock::time_point start = Clock::now();
  Clock::time_point now = start;
  while (Seconds(now - start) < seconds) {
    const off_t offset = static_cast<off_t>(n * block.size());
    if (::pwrite(fd, block.data(), block.size(), offset) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      Die("raw fsync", Status::FromErrno(path, errno));
    }
    ++n;
    now = Clock::now();
  }
  ::close(fd);
  ::unlink(path.c_str());
  return static_cast<double>(n) / Seconds(now - start);
}

std::unique_ptr<Engine> OpenEngine(const std::string& dir, bool background_checkpoints) {
  EngineOptions options;
  options.sync = SyncMode::kFull;
  options.background_checkpoints = background_checkpoints;
  Result<std::unique_ptr<Engine>> engine = Engine::Open(dir, options);
  if (!engine.ok()) Die("open " + dir, engine.status());
  return std::move(*engine);
}

void CloseAndRemove(std::unique_ptr<Engine> engine, const std::string& dir) {
  const Status s = engine->Close();
  if (!s.ok()) Die("close " + dir, s);
  engine.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::string Key(uint64_t thread, uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "k%02llu-%012llu", static_cast<unsigned long long>(thread),
                static_cast<unsigned long long>(i));
  return buf;
}

struct Throughput {
  double commits_per_s = 0;
  double commits_per_fsync = 0;
  double fsyncs_per_s = 0;
};

// `threads` committers, each committing one new key per batch, for `seconds`.
Throughput MeasureThroughput(const std::string& dir, int threads, double seconds) {
  std::unique_ptr<Engine> engine = OpenEngine(dir, /*background_checkpoints=*/true);
  if (Status s = engine->CreateTree("t"); !s.ok()) Die("create tree", s);
  const EngineStats before = engine->stats();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> commits{0};
  std::vector<std::thread> workers;
  workers.reserve(threads);
  const std::string value(kValueSize, 'v');
  const Clock::time_point start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      TreeBatch batch;
      uint64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        batch.Clear();
        batch.Put("t", Key(t, i++), value);
        if (Status s = engine->Write(batch, SyncMode::kFull); !s.ok()) Die("commit", s);
        commits.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& w : workers) w.join();
  const double elapsed = Seconds(Clock::now() - start);
  const EngineStats after = engine->stats();
  CloseAndRemove(std::move(engine), dir);
  const double fsyncs = static_cast<double>(after.wal_fsyncs - before.wal_fsyncs);
  Throughput out;
  out.commits_per_s = static_cast<double>(commits.load()) / elapsed;
  out.fsyncs_per_s = fsyncs / elapsed;
  out.commits_per_fsync = fsyncs > 0 ? static_cast<double>(commits.load()) / fsyncs : 0;
  return out;
}

struct Latency {
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  double commits_per_s = 0;
  uint64_t checkpoints = 0;
};

double Percentile(std::vector<double>* v, double p) {
  if (v->empty()) return 0;
  const size_t k = std::min(v->size() - 1, static_cast<size_t>(p * static_cast<double>(v->size())));
  std::nth_element(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(k), v->end());
  return (*v)[k];
}

// Commit latency of 4 committers updating random keys of a loaded tree,
// with a thread taking checkpoints back to back or without checkpoints.
Latency MeasureLatency(const std::string& dir, bool checkpoints, double seconds) {
  std::unique_ptr<Engine> engine = OpenEngine(dir, /*background_checkpoints=*/false);
  if (Status s = engine->CreateTree("t"); !s.ok()) Die("create tree", s);
  const std::string value(kValueSize, 'l');
  TreeBatch load;
  for (int i = 0; i < kLatencyKeys; ++i) {
    load.Put("t", Key(99, static_cast<uint64_t>(i)), value);
    if (load.count() == 1000) {
      if (Status s = engine->Write(load, SyncMode::kOff); !s.ok()) Die("load", s);
      load.Clear();
    }
  }
  if (Status s = engine->Checkpoint(); !s.ok()) Die("checkpoint", s);
  const uint64_t checkpoints_before = engine->stats().checkpoints;

  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> samples(kLatencyThreads);
  std::vector<std::thread> workers;
  workers.reserve(kLatencyThreads);
  const Clock::time_point start = Clock::now();
  for (int t = 0; t < kLatencyThreads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t) * 7919 + 1);
      TreeBatch batch;
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        batch.Clear();
        batch.Put("t", Key(99, rng() % kLatencyKeys),
                  std::string(kValueSize, static_cast<char>('a' + n++ % 26)));
        const Clock::time_point t0 = Clock::now();
        if (Status s = engine->Write(batch, SyncMode::kFull); !s.ok()) Die("commit", s);
        samples[t].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  }
  std::thread checkpointer;
  if (checkpoints) {
    checkpointer = std::thread([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        if (Status s = engine->Checkpoint(); !s.ok()) Die("checkpoint", s);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& w : workers) w.join();
  if (checkpointer.joinable()) checkpointer.join();
  const double elapsed = Seconds(Clock::now() - start);
  Latency out;
  out.checkpoints = engine->stats().checkpoints - checkpoints_before;
  CloseAndRemove(std::move(engine), dir);

  std::vector<double> all;
  for (const std::vector<double>& s : samples) all.insert(all.end(), s.begin(), s.end());
  out.commits_per_s = static_cast<double>(all.size()) / elapsed;
  out.max_us = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  out.p50_us = Percentile(&all, 0.50);
  out.p99_us = Percentile(&all, 0.99);
  out.p999_us = Percentile(&all, 0.999);
  return out;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace
}  // namespace mvdb::bench

int main(int argc, char** argv) {
  using mvdb::bench::Die;
  using mvdb::bench::kCommitterCounts;
  using mvdb::bench::Latency;
  using mvdb::bench::MeasureLatency;
  using mvdb::bench::MeasureThroughput;
  using mvdb::bench::Median;
  using mvdb::bench::RawFsyncRate;
  using mvdb::bench::Throughput;
  double seconds = 5;
  int runs = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--runs R]\n", argv[0]);
      return 2;
    }
  }
  if (seconds <= 0 || runs < 1) return 2;
  const char* base = std::getenv("MVDB_BENCH_DIR");
  std::string root = std::string(base != nullptr ? base : "/var/tmp") + "/mvdb-commit-bench-XXXXXX";
  if (::mkdtemp(root.data()) == nullptr) Die("mkdtemp " + root, mvdb::Status::IOError(root));
  std::printf("commit_bench: %d runs of %.1f s per measurement in %s\n", runs, seconds,
              root.c_str());

  // Every figure of every run, by name in the order measured, for the medians.
  std::vector<std::pair<std::string, std::vector<double>>> figures;
  auto record = [&](const std::string& name, double v) {
    auto it = std::find_if(figures.begin(), figures.end(),
                           [&](const auto& f) { return f.first == name; });
    if (it == figures.end()) it = figures.insert(figures.end(), {name, {}});
    it->second.push_back(v);
  };
  for (int run = 0; run < runs; ++run) {
    std::printf("run %d\n", run + 1);
    const double raw = RawFsyncRate(root, seconds);
    record("raw fdatasync/s", raw);
    std::printf("  raw fdatasync            %9.0f /s\n", raw);
    double single = 0;
    for (int threads : kCommitterCounts) {
      const Throughput t = MeasureThroughput(root + "/tput", threads, seconds);
      if (threads == 1) single = t.commits_per_s;
      const double ratio = single > 0 ? t.commits_per_s / single : 0;
      const std::string name = std::to_string(threads) + " committers";
      record(name + ": commits/s", t.commits_per_s);
      record(name + ": commits/fsync", t.commits_per_fsync);
      record(name + ": fsyncs/s", t.fsyncs_per_s);
      record(name + ": x single", ratio);
      std::printf("  %2d committers  %9.0f commits/s  %6.2f commits/fsync  %7.0f fsyncs/s  x%.2f\n",
                  threads, t.commits_per_s, t.commits_per_fsync, t.fsyncs_per_s, ratio);
    }
    for (bool ckpt : {false, true}) {
      const Latency l = MeasureLatency(root + "/lat", ckpt, seconds);
      const std::string name =
          ckpt ? "4 committers, checkpoints back to back" : "4 committers, no checkpoint";
      record(name + ": p50 us", l.p50_us);
      record(name + ": p99 us", l.p99_us);
      record(name + ": p99.9 us", l.p999_us);
      record(name + ": max us", l.max_us);
      record(name + ": commits/s", l.commits_per_s);
      record(name + ": checkpoints", static_cast<double>(l.checkpoints));
      std::printf(
          "  latency, %-40s p50 %7.0f us  p99 %7.0f us  p99.9 %7.0f us  max %7.0f us  "
          "%6.0f commits/s  %llu checkpoints\n",
          name.c_str(), l.p50_us, l.p99_us, l.p999_us, l.max_us, l.commits_per_s,
          static_cast<unsigned long long>(l.checkpoints));
    }
    std::fflush(stdout);
  }
  std::printf("median of %d runs\n", runs);
  for (const auto& [name, values] : figures) {
    std::printf("  %-58s %10.2f\n", name.c_str(), Median(values));
  }
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  return 0;
}

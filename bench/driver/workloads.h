// mvdb-bench's workloads (CONTRACT.md section 6, issue 6): the same code
// for every engine, written against engine_adapter.h only, so that a
// difference in the figures is a difference between the engines.
//
// The data set: key number i (0 <= i < num) is i in decimal, zero-padded to
// key_size digits, so key order is number order; its value is value_size
// bytes, the 8-byte little-endian balance 1,000,000 (EncodeBalance) then
// filler from a PRNG, so that no engine gains from compressing it. YCSB D
// and E insert keys num, num + 1, ...; the DataSet remembers how many, for
// the reads of the latest keys and for space amplification.
//
// A run: T threads, each with its own Worker, start together behind a
// barrier; every operation is timed (steady_clock) into a per-thread
// Histogram; bytes written to storage are read from /proc/self/io around
// the timed phase. RunWorkload does all of that and returns the figures;
// main.cc opens and reopens the engines, prints and writes the JSON.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine_adapter.h"
#include "histogram.h"
#include "mvdb/status.h"

namespace mvdb::bench {

enum class Workload : uint8_t {
  kFillSeq,
  kFillRandom,
  kOverwrite,
  kReadRandom,
  kReadSeq,
  kReadWhileWriting,
  kYcsbA,
  kYcsbB,
  kYcsbC,
  kYcsbD,
  kYcsbE,
  kYcsbF,
  kSyncWrite,
  kTxnTransfer,
  // Last, so that the other workloads keep their seeds (ThreadSeed).
  kFillBatch,        // db_bench's fillbatch: fillseq's keys, batch_size per commit
  kFillRandomBatch,  // fillrandom's keys, batch_size per commit
};

// Every workload's name, in the order above ("fillseq", ..., "txn-transfer").
std::vector<std::string> WorkloadNames();
std::optional<Workload> ParseWorkload(std::string_view name);
std::string_view WorkloadName(Workload workload);
// The fills (fillseq, fillrandom, fillbatch, fillrandombatch) start from an
// empty database; the others need the data set loaded.
bool StartsEmpty(Workload workload);
// YCSB D and E insert new keys.
bool Inserts(Workload workload);

enum class Distribution : uint8_t { kUniform, kZipfian };

// YCSB's ZipfianGenerator (Gray et al., "Quickly generating billion-record
// synthetic databases"), theta 0.99 by default: rank 0 is the likeliest.
// zeta(n) is computed once, in the constructor (n pow() calls).
class ZipfianGenerator {
 public:
  explicit ZipfianGenerator(uint64_t items, double theta = 0.99);
  // A rank in [0, items) from u uniform in [0, 1).
  uint64_t Next(double u) const;
  uint64_t items() const { return items_; }

 private:
  uint64_t items_;
  double theta_;
  double zetan_;
  double alpha_;
  double eta_;
  double half_pow_theta_;  // 1 + 0.5^theta: the bound of rank 1
};

// YCSB's scrambled zipfian: the rank hashed with FNV-1a 64 over its eight
// bytes, modulo n, so the hot keys are spread over the key space instead of
// being the first ones.
uint64_t ScrambleRank(uint64_t rank, uint64_t n);

// The data set of one engine across the workloads of one invocation.
class DataSet {
 public:
  DataSet(uint64_t num, size_t key_size, size_t value_size, uint64_t seed);

  uint64_t num() const { return num_; }
  size_t key_size() const { return key_size_; }
  size_t value_size() const { return value_size_; }
  // num plus the keys YCSB D/E inserted since the last fill.
  uint64_t live_keys() const { return next_insert_.load(std::memory_order_acquire); }
  // Claims the number of the next key to insert.
  uint64_t ClaimInsert() { return next_insert_.fetch_add(1, std::memory_order_acq_rel); }
  // After a fill: num keys, none inserted.
  void ResetInserts() { next_insert_.store(num_, std::memory_order_release); }
  // A cold run's process: `live_keys` (at least num) are in the database,
  // as the process before it left them.
  void RestoreInserts(uint64_t live_keys) {
    next_insert_.store(std::max(live_keys, num_), std::memory_order_release);
  }

  // The zipfian over num ranks, built on first use (zeta(num) takes a
  // while for large num). REQUIRES: not called concurrently with itself.
  const ZipfianGenerator& zipfian();

  // value_size + 1 MiB of random bytes: values are slices of it.
  const std::string& filler() const { return filler_; }

 private:
  uint64_t num_;
  size_t key_size_;
  size_t value_size_;
  std::atomic<uint64_t> next_insert_;
  std::unique_ptr<ZipfianGenerator> zipfian_;
  std::string filler_;
};

// One run as the command line asks for it.
struct RunSpec {
  Workload workload = Workload::kFillSeq;
  int threads = 1;
  uint64_t reads = 0;     // operations of the read, YCSB and transfer workloads
  double duration_s = 0;  // stop after this many seconds; 0: no cap
  // the fills: stop timing after this many seconds and load the
  // rest of the data set untimed (slow engines would take minutes); 0: no cap
  double fill_duration_s = 0;
  size_t batch_size = 1000;  // fillbatch, fillrandombatch: pairs per commit
  uint64_t seed = 0;
  std::string dir;                             // the engine's directory (syncfs, /proc/self/io)
  Isolation isolation = Isolation::kSnapshot;  // txn-transfer
  Distribution distribution = Distribution::kUniform;  // txn-transfer
};

struct RunResult {
  uint64_t ops = 0;
  double wall_s = 0;           // the timed phase
  Histogram latency;           // nanoseconds, every operation
  uint64_t writes = 0;         // key-value pairs written (2 per transfer)
  uint64_t aborts = 0;         // retryable failures, each retried
  uint64_t bytes_written = 0;  // to storage during the timed phase (/proc/self/io)
};

// Runs one timed workload on `engine`, which must hold the data set unless
// the workload StartsEmpty. An engine error, a Get that found nothing, or
// a transfer run that did not conserve money fails the run.
Result<RunResult> RunWorkload(EngineAdapter& engine, DataSet& data, const RunSpec& spec);

// Loads all num keys in random order, 1,000 pairs per commit (PutBatch),
// on `threads` threads. Untimed.
Status LoadDataSet(EngineAdapter& engine, DataSet& data, int threads, uint64_t seed);

// The measurement alone, for --calibrate: the cost in ns (best of 7 rounds) of timing one
// empty operation and recording it (one clock read and Histogram::Record).
double MeasurementOverheadNs();

}  // namespace mvdb::bench

// Isolation anomalies in recorded histories (history_checker.h).
//
// First the checker itself: hand-made histories, one per anomaly kind, and a
// write skew it must leave alone. Then mvdb: randomized concurrent workloads
// of read-modify-write transactions, run once each (aborts stay in the
// history), must show none of the anomalies their isolation level forbids;
// a snapshot isolation whose first-updater-wins check is switched off
// (InternalOptions::unsafe_skip_write_conflict_check, db/internal_options.h) must show lost
// updates.
//
// MVDB_SEED sets the seed; MVDB_HISTORY_TXNS the transactions per worker
// thread (default 750, four threads: 3,000 in all).
#include "tests/txn/history_checker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "db/internal_options.h"
#include "mvdb/db.h"
#include "mvdb/options.h"
#include "mvdb/status.h"
#include "tests/testing/temp_dir.h"

namespace mvdb::testing {
namespace {

constexpr char kTable[] = "kv";

// ---- Hand-made histories ------------------------------------------------------

// Builds one transaction of a hand-made history.
class Txn {
 public:
  explicit Txn(uint64_t id) { record_.id = id; }
  Txn& Read(const std::string& key, std::optional<std::string> value) {
    record_.ops.push_back({HistoryOp::Kind::kRead, key, std::move(value)});
    return *this;
  }
  Txn& Write(const std::string& key, const std::string& value) {
    record_.ops.push_back({HistoryOp::Kind::kWrite, key, value});
    return *this;
  }
  // Read `old` then write `value`: the only way histories place writes.
  Txn& Rmw(const std::string& key, const std::string& old, const std::string& value) {
    return Read(key, old).Write(key, value);
  }
  TransactionRecord Commit() {
    record_.committed = true;
    return record_;
  }
  TransactionRecord Abort() {
    record_.committed = false;
    return record_;
  }

 private:
  TransactionRecord record_;
};

// T0: x=x0, y=y0, each written over "absent".
TransactionRecord Initial() {
  return Txn(0)
      .Read("x", std::nullopt)
      .Write("x", "x0")
      .Read("y", std::nullopt)
      .Write("y", "y0")
      .Commit();
}

// Only the anomalies of `kind` may appear (0 when `kind` is empty).
void ExpectOnly(const HistoryReport& report, std::optional<AnomalyKind> kind) {
  for (const Anomaly& a : report.anomalies) {
    EXPECT_TRUE(kind.has_value() && a.kind == *kind) << report.Summary();
  }
  if (kind.has_value()) {
    EXPECT_GE(report.Count(*kind), 1u) << report.Summary();
  }
}

TEST(HistoryCheckerTest, SerialHistoryHasNoAnomalyAndTheExpectedEdges) {
  const HistoryReport report = CheckHistory({
      Initial(),
      Txn(1).Rmw("x", "x0", "x1").Read("y", "y0").Commit(),
      Txn(2).Read("x", "x1").Rmw("y", "y0", "y2").Read("y", "y2").Commit(),
      Txn(3).Rmw("x", "x1", "x3").Write("x", "x3b").Read("x", "x3b").Commit(),
      Txn(4).Read("x", "x3b").Read("y", "y2").Commit(),
  });
  ExpectOnly(report, std::nullopt);
  EXPECT_EQ(report.committed, 5u);
  // ww: T0->T1 (x), T0->T2 (y), T1->T3 (x).
  EXPECT_EQ(report.ww_edges, 3u) << report.Summary();
  // wr: T0->T1 (x0), T0->T1 (y0), T1->T2 (x1), T0->T2 (y0), T1->T3 (x1),
  // T3->T4 (x3b), T2->T4 (y2).
  EXPECT_EQ(report.wr_edges, 7u) << report.Summary();
  // rw: T1 read y0, replaced by T2; T2 read x1, replaced by T3.
  EXPECT_EQ(report.rw_edges, 2u) << report.Summary();
  EXPECT_EQ(report.g2_only_components, 0u);
  EXPECT_TRUE(report.notes.empty()) << report.Summary();
}

TEST(HistoryCheckerTest, FindsG0WriteCycle) {
  // T1 replaced T2's x, T2 replaced T1's y: each installed after the other.
  const HistoryReport report = CheckHistory({
      Initial(),
      Txn(1).Rmw("y", "y2", "y1").Rmw("x", "x2", "x1").Commit(),
      Txn(2).Rmw("x", "x0", "x2").Rmw("y", "y1", "y2").Commit(),
  });
  // Each ww edge comes with a wr edge (the writer read what it replaced),
  // so the same cycle is also G1c; no other kind.
  ASSERT_EQ(report.Count(AnomalyKind::kG0), 1u) << report.Summary();
  EXPECT_EQ(report.Count(AnomalyKind::kG1c), 1u) << report.Summary();
  EXPECT_EQ(report.anomalies.size(), 2u) << report.Summary();
  const Anomaly& g0 = report.anomalies[0];
  EXPECT_EQ(g0.kind, AnomalyKind::kG0);
  EXPECT_NE(g0.description.find("-ww(x)->"), std::string::npos) << g0.description;
  EXPECT_NE(g0.description.find("-ww(y)->"), std::string::npos) << g0.description;
  EXPECT_EQ(g0.txns.size(), 2u);
}

TEST(HistoryCheckerTest, FindsG1aAbortedRead) {
  const HistoryReport report = CheckHistory({
      Initial(),
      Txn(1).Rmw("x", "x0", "x1").Abort(),
      Txn(2).Read("x", "x1").Commit(),
      // An aborted reader of an aborted write is no anomaly.
      Txn(3).Read("x", "x1").Abort(),
  });
  ExpectOnly(report, AnomalyKind::kG1a);
  ASSERT_EQ(report.anomalies.size(), 1u);
  EXPECT_EQ(report.anomalies[0].txns, (std::vector<uint64_t>{1, 2}));
  EXPECT_NE(report.anomalies[0].description.find("\"x1\""), std::string::npos);
  EXPECT_EQ(report.aborted, 2u);
}

TEST(HistoryCheckerTest, FindsG1bIntermediateRead) {
  const HistoryReport report = CheckHistory({
      Initial(), Txn(1).Rmw("x", "x0", "x1a").Write("x", "x1b").Commit(),
      Txn(2).Read("x", "x1a").Commit(), Txn(3).Read("x", "x1b").Commit(),  // the final value: fine
  });
  ExpectOnly(report, AnomalyKind::kG1b);
  ASSERT_EQ(report.anomalies.size(), 1u);
  EXPECT_EQ(report.anomalies[0].txns, (std::vector<uint64_t>{1, 2}));
}

TEST(HistoryCheckerTest, FindsG1cCircularInformationFlow) {
  // Each read what the other wrote; no write cycle.
  const HistoryReport report = CheckHistory({
      Initial(),
      Txn(1).Rmw("x", "x0", "x1").Read("y", "y2").Commit(),
      Txn(2).Rmw("y", "y0", "y2").Read("x", "x1").Commit(),
  });
  ExpectOnly(report, AnomalyKind::kG1c);
  ASSERT_EQ(report.anomalies.size(), 1u);
  EXPECT_NE(report.anomalies[0].description.find("-wr(x)->"), std::string::npos);
  EXPECT_NE(report.anomalies[0].description.find("-wr(y)->"), std::string::npos);
}

TEST(HistoryCheckerTest, FindsLostUpdateFork) {
  const HistoryReport report = CheckHistory({
      Initial(),
      Txn(1).Rmw("x", "x0", "x1").Commit(),
      Txn(2).Rmw("x", "x0", "x2").Commit(),
      // An aborted second writer is no fork.
      Txn(3).Rmw("x", "x0", "x3").Abort(),
  });
  ExpectOnly(report, AnomalyKind::kLostUpdate);
  ASSERT_EQ(report.anomalies.size(), 1u);
  EXPECT_EQ(report.anomalies[0].txns, (std::vector<uint64_t>{1, 2}));
  // T1 and T2 each missed the other's write: a G2 cycle of two rw edges.
  EXPECT_EQ(report.g2_only_components, 1u);
}

TEST(HistoryCheckerTest, FindsGSingleReadSkew) {
  // T2 sees T1's y but not T1's x.
  const HistoryReport report = CheckHistory({
      Initial(),
      Txn(1).Rmw("x", "x0", "x1").Rmw("y", "y0", "y1").Commit(),
      Txn(2).Read("x", "x0").Read("y", "y1").Commit(),
  });
  ExpectOnly(report, AnomalyKind::kGSingle);
  ASSERT_EQ(report.anomalies.size(), 1u);
  const std::string& cycle = report.anomalies[0].description;
  EXPECT_NE(cycle.find("-rw(x)->"), std::string::npos) << cycle;
  EXPECT_NE(cycle.find("-wr(y)->"), std::string::npos) << cycle;
}

TEST(HistoryCheckerTest, FindsGSingleThroughALongerPath) {
  // T3 reads x0 (missing T1's x1) but sees y2, which T2 wrote after reading
  // T1's z1: T3 -rw(x)-> T1 -wr(z)-> T2 -wr(y)-> T3.
  const HistoryReport report = CheckHistory({
      Initial(),
      Txn(1).Rmw("x", "x0", "x1").Read("z", std::nullopt).Write("z", "z1").Commit(),
      Txn(2).Read("z", "z1").Rmw("y", "y0", "y2").Commit(),
      Txn(3).Read("x", "x0").Read("y", "y2").Commit(),
  });
  ExpectOnly(report, AnomalyKind::kGSingle);
  EXPECT_EQ(report.anomalies[0].txns.size(), 3u) << report.Summary();
}

TEST(HistoryCheckerTest, WriteSkewIsNotAnAnomaly) {
  // Each reads both keys and writes one: two rw edges, allowed at snapshot
  // isolation and read committed.
  const HistoryReport report = CheckHistory({
      Initial(),
      Txn(1).Read("y", "y0").Rmw("x", "x0", "x1").Commit(),
      Txn(2).Read("x", "x0").Rmw("y", "y0", "y2").Commit(),
  });
  ExpectOnly(report, std::nullopt);
  EXPECT_EQ(report.rw_edges, 2u);
  EXPECT_EQ(report.g2_only_components, 1u);
}

TEST(HistoryCheckerTest, FindsInternalAndGarbageReads) {
  const HistoryReport report = CheckHistory({
      Initial(), Txn(1).Rmw("x", "x0", "x1").Read("x", "x0").Commit(),  // not its own write
      Txn(2).Read("y", "nobody-wrote-this").Commit(),
      Txn(3).Read("y", "x0").Commit(),  // x's value under key y
  });
  EXPECT_EQ(report.Count(AnomalyKind::kInternal), 1u) << report.Summary();
  EXPECT_EQ(report.Count(AnomalyKind::kGarbageRead), 2u) << report.Summary();
  EXPECT_EQ(report.anomalies.size(), 3u) << report.Summary();
}

TEST(HistoryCheckerTest, RecorderMergesWorkersByTransactionId) {
  HistoryRecorder recorder(2);
  recorder.worker(1).Begin(2, IsolationLevel::kReadCommitted);
  recorder.worker(1).Read("x", std::nullopt);
  recorder.worker(1).Write("x", "t2-0");
  recorder.worker(1).End(true);
  recorder.worker(0).Begin(1, IsolationLevel::kSnapshot);
  recorder.worker(0).Delete("y");
  recorder.worker(0).End(false);
  const std::vector<TransactionRecord> history = recorder.History();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].id, 1u);
  EXPECT_FALSE(history[0].committed);
  EXPECT_FALSE(history[0].ops[0].value.has_value());  // the delete
  EXPECT_EQ(history[1].id, 2u);
  EXPECT_EQ(history[1].isolation, IsolationLevel::kReadCommitted);
  ASSERT_EQ(history[1].ops.size(), 2u);
  EXPECT_EQ(history[1].ops[1].value, "t2-0");
}

// ---- mvdb's histories ---------------------------------------------------------

int TxnsPerWorker() {
  if (const char* env = std::getenv("MVDB_HISTORY_TXNS"); env != nullptr && *env != '\0') {
    return std::atoi(env);
  }
  return 750;
}

// Built by appending: GCC 12 warns falsely (-Wrestrict) on a literal
// prepended to a temporary string.
std::string KeyName(int index) {
  std::string key = "k";
  key += std::to_string(index);
  return key;
}

// The n-th value transaction `txn_id` writes, "t<id>-<n>": unique in the
// history, so a read names the write it saw.
std::string WrittenValue(uint64_t txn_id, int n) {
  std::string value = "t";
  value += std::to_string(txn_id);
  value += '-';
  value += std::to_string(n);
  return value;
}

// How a read-modify-write reads the key it is about to write.
enum class RmwRead { kGet, kGetForUpdate, kEither };

struct WorkloadOptions {
  IsolationLevel isolation = IsolationLevel::kSnapshot;
  RmwRead rmw_read = RmwRead::kEither;
  int threads = 4;
  int txns_per_thread = TxnsPerWorker();
  int keys = 24;
  // How often (percent) a worker yields the processor between a read and
  // the write that depends on it, and after each operation: transactions
  // are so short that, on few cores, threads would otherwise run one after
  // another and never race.
  int yield_percent = 25;
};

// A database in a temporary directory with table kTable and every key
// holding an initial value written by one transaction (T0).
class HistoryDbTest : public ::testing::Test {
 protected:
  void OpenWithKeys(int keys, bool unsafe_skip_write_conflict_check = false) {
    ASSERT_TRUE(dir_.ok());
    Options options;
    options.sync = SyncMode::kOff;  // durability is not what these tests are about
    options.cache_mb = 8;
    // A hang would be a bug (deadlocks are detected at once); a timeout
    // turns it into aborts the checker still judges.
    options.lock_timeout = std::chrono::seconds(10);
    InternalOptions internal;
    internal.unsafe_skip_write_conflict_check = unsafe_skip_write_conflict_check;
    auto opened = DatabaseInternal::Open(dir_.path(), options, internal);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    db_ = std::move(opened).value();
    ASSERT_TRUE(db_->CreateTable(kTable).ok());

    HistoryRecorder::Worker& log = initial_.worker(0);
    auto txn = db_->Begin();
    log.Begin(txn->id(), txn->isolation());
    for (int k = 0; k < keys; ++k) {
      std::string value;
      ASSERT_TRUE(txn->GetForUpdate(kTable, KeyName(k), &value).IsNotFound());
      log.Read(KeyName(k), std::nullopt);
      std::string initial = "init-";
      initial += KeyName(k);
      ASSERT_TRUE(txn->Put(kTable, KeyName(k), initial).ok());
      log.Write(KeyName(k), initial);
    }
    ASSERT_TRUE(txn->Commit().ok());
    log.End(true);
  }

  void TearDown() override {
    if (db_ != nullptr) {
      EXPECT_TRUE(db_->Close().ok());
    }
  }

  // T0's record followed by `recorder`'s.
  std::vector<TransactionRecord> History(const HistoryRecorder& recorder) const {
    std::vector<TransactionRecord> history = initial_.History();
    for (TransactionRecord& t : recorder.History()) history.push_back(std::move(t));
    return history;
  }

  TempDir dir_{"history"};
  std::unique_ptr<Database> db_;
  HistoryRecorder initial_{1};
};

// Reads `key` in `txn` and records what it saw. False when the read failed
// the transaction (a retryable error); any other error is a test failure.
bool RecordedRead(Transaction& txn, const std::string& key, bool for_update,
                  HistoryRecorder::Worker& log) {
  std::string value;
  const Status s =
      for_update ? txn.GetForUpdate(kTable, key, &value) : txn.Get(kTable, key, &value);
  if (s.ok()) {
    log.Read(key, value);
    return true;
  }
  if (s.IsNotFound()) {
    log.Read(key, std::nullopt);
    return true;
  }
  EXPECT_TRUE(s.IsRetryable()) << "T" << txn.id() << " reading " << key << ": " << s.ToString();
  return false;
}

bool RecordedWrite(Transaction& txn, const std::string& key, const std::string& value,
                   HistoryRecorder::Worker& log) {
  const Status s = txn.Put(kTable, key, value);
  if (s.ok()) {
    log.Write(key, value);
    return true;
  }
  EXPECT_TRUE(s.IsRetryable()) << "T" << txn.id() << " writing " << key << ": " << s.ToString();
  return false;
}

// Ends `txn`: commits unless `ok` is false (an operation failed it) or
// `rollback` asks for a voluntary rollback. Returns whether it committed.
bool Finish(Transaction& txn, bool ok, bool rollback, HistoryRecorder::Worker& log) {
  bool committed = false;
  if (ok && !rollback) {
    const Status s = txn.Commit();
    EXPECT_TRUE(s.ok() || s.IsRetryable()) << "T" << txn.id() << " commit: " << s.ToString();
    committed = s.ok();
  } else {
    EXPECT_TRUE(txn.Rollback().ok());
  }
  log.End(committed);
  return committed;
}

// One worker of the read-modify-write workload: transactions of 2-6
// operations on random keys (reads, and read-modify-writes that sometimes
// write the key twice), one in 20 rolled back voluntarily, none retried.
void RunRmwWorker(Database& db, const WorkloadOptions& options, uint64_t seed,
                  HistoryRecorder::Worker& log) {
  std::mt19937_64 rng(seed);
  TransactionOptions txn_options;
  txn_options.isolation = options.isolation;
  for (int i = 0; i < options.txns_per_thread; ++i) {
    auto txn = db.Begin(txn_options);
    log.Begin(txn->id(), options.isolation);
    int written = 0;
    const auto next_value = [&] { return WrittenValue(txn->id(), written++); };
    const int ops = 2 + static_cast<int>(rng() % 5);
    bool ok = true;
    const auto maybe_yield = [&] {
      if (static_cast<int>(rng() % 100) < options.yield_percent) std::this_thread::yield();
    };
    for (int op = 0; op < ops && ok; ++op) {
      maybe_yield();
      const std::string key = KeyName(static_cast<int>(rng() % options.keys));
      if (rng() % 100 < 40) {
        ok = RecordedRead(*txn, key, /*for_update=*/false, log);
        continue;
      }
      const bool for_update = options.rmw_read == RmwRead::kGetForUpdate ||
                              (options.rmw_read == RmwRead::kEither && rng() % 2 == 0);
      ok = RecordedRead(*txn, key, for_update, log);
      maybe_yield();
      ok = ok && RecordedWrite(*txn, key, next_value(), log);
      // A second write makes the first an intermediate value (G1b bait);
      // sometimes read in between to check the transaction sees its own.
      if (ok && rng() % 8 == 0) {
        if (rng() % 2 == 0) ok = RecordedRead(*txn, key, /*for_update=*/false, log);
        ok = ok && RecordedWrite(*txn, key, next_value(), log);
      }
    }
    Finish(*txn, ok, /*rollback=*/rng() % 20 == 0, log);
  }
}

// Runs `options.threads` workers of the read-modify-write workload and
// checks the history.
HistoryReport RunRmwWorkload(Database& db, const WorkloadOptions& options, uint64_t seed,
                             const std::vector<TransactionRecord>& initial) {
  HistoryRecorder recorder(options.threads);
  std::latch start(options.threads);  // so that no thread is done before the last starts
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      RunRmwWorker(db, options, seed * 1000 + t, recorder.worker(t));
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<TransactionRecord> history = initial;
  for (TransactionRecord& t : recorder.History()) history.push_back(std::move(t));
  return CheckHistory(history);
}

void PrintReport(const char* what, uint64_t seed, const HistoryReport& report,
                 const DatabaseStats& stats) {
  std::printf(
      "%s (seed %llu): %s  mvdb: commits=%llu read_only=%llu rollbacks=%llu "
      "conflict=%llu deadlock=%llu lock_timeout=%llu lock_waits=%llu\n",
      what, static_cast<unsigned long long>(seed), report.Summary().c_str(),
      static_cast<unsigned long long>(stats.commits),
      static_cast<unsigned long long>(stats.read_only_commits),
      static_cast<unsigned long long>(stats.rollbacks),
      static_cast<unsigned long long>(stats.aborts_conflict),
      static_cast<unsigned long long>(stats.aborts_deadlock),
      static_cast<unsigned long long>(stats.aborts_lock_timeout),
      static_cast<unsigned long long>(stats.lock_waits));
}

// The anomalies snapshot isolation forbids: all but G2.
void ExpectSnapshotIsolation(const HistoryReport& report, uint64_t seed) {
  for (AnomalyKind kind : {AnomalyKind::kG0, AnomalyKind::kG1a, AnomalyKind::kG1b,
                           AnomalyKind::kG1c, AnomalyKind::kGSingle, AnomalyKind::kLostUpdate,
                           AnomalyKind::kInternal, AnomalyKind::kGarbageRead}) {
    EXPECT_EQ(report.Count(kind), 0u)
        << AnomalyKindName(kind) << " at snapshot isolation, seed " << seed << "\n"
        << report.Summary();
  }
  EXPECT_TRUE(report.notes.empty()) << report.Summary();
}

TEST_F(HistoryDbTest, SnapshotIsolationShowsNoForbiddenAnomaly) {
  const uint64_t seed = TestSeed(1);
  WorkloadOptions options;
  options.isolation = IsolationLevel::kSnapshot;
  options.rmw_read = RmwRead::kEither;
  ASSERT_NO_FATAL_FAILURE(OpenWithKeys(options.keys));
  const HistoryReport report = RunRmwWorkload(*db_, options, seed, initial_.History());
  PrintReport("snapshot isolation", seed, report, db_->stats());
  ExpectSnapshotIsolation(report, seed);
  // The transactions must have raced (first updater wins or deadlocks
  // failed some), or the test proves nothing.
  const DatabaseStats stats = db_->stats();
  EXPECT_GT(stats.aborts_conflict + stats.aborts_deadlock, 0u) << "seed " << seed;
}

TEST_F(HistoryDbTest, ReadCommittedWithGetForUpdateShowsNoDirtyOrLostWrite) {
  const uint64_t seed = TestSeed(2);
  WorkloadOptions options;
  options.isolation = IsolationLevel::kReadCommitted;
  options.rmw_read = RmwRead::kGetForUpdate;
  ASSERT_NO_FATAL_FAILURE(OpenWithKeys(options.keys));
  const HistoryReport report = RunRmwWorkload(*db_, options, seed, initial_.History());
  PrintReport("read committed", seed, report, db_->stats());
  // G-single (and G2) are allowed at read committed.
  for (AnomalyKind kind :
       {AnomalyKind::kG0, AnomalyKind::kG1a, AnomalyKind::kG1b, AnomalyKind::kG1c,
        AnomalyKind::kLostUpdate, AnomalyKind::kInternal, AnomalyKind::kGarbageRead}) {
    EXPECT_EQ(report.Count(kind), 0u)
        << AnomalyKindName(kind) << " at read committed, seed " << seed << "\n"
        << report.Summary();
  }
  EXPECT_TRUE(report.notes.empty()) << report.Summary();
  EXPECT_GT(db_->stats().lock_waits, 0u) << "no writer ever waited: the workload did not race";
}

// Writers update 2-4 keys at a time while read-only snapshot transactions
// read 4-8 keys: a snapshot that saw part of a commit would be G-single.
TEST_F(HistoryDbTest, ReadOnlySnapshotsSeeWholeCommits) {
  const uint64_t seed = TestSeed(3);
  constexpr int kKeys = 20;
  constexpr int kWriters = 2;
  constexpr int kReaders = 2;
  const int txns_per_thread = TxnsPerWorker();
  ASSERT_NO_FATAL_FAILURE(OpenWithKeys(kKeys));
  HistoryRecorder recorder(kWriters + kReaders);
  std::latch start(kWriters + kReaders);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      start.arrive_and_wait();
      std::mt19937_64 rng(seed * 1000 + w);
      HistoryRecorder::Worker& log = recorder.worker(w);
      for (int i = 0; i < txns_per_thread; ++i) {
        auto txn = db_->Begin();
        log.Begin(txn->id(), txn->isolation());
        const int first = static_cast<int>(rng() % kKeys);
        const int count = 2 + static_cast<int>(rng() % 3);
        bool ok = true;
        for (int k = 0; k < count && ok; ++k) {  // distinct keys
          const std::string key = KeyName((first + k * 7) % kKeys);
          ok = RecordedRead(*txn, key, /*for_update=*/rng() % 2 == 0, log) &&
               RecordedWrite(*txn, key, WrittenValue(txn->id(), k), log);
          if (rng() % 4 == 0) std::this_thread::yield();
        }
        Finish(*txn, ok, /*rollback=*/false, log);
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      start.arrive_and_wait();
      std::mt19937_64 rng(seed * 1000 + kWriters + r);
      HistoryRecorder::Worker& log = recorder.worker(kWriters + r);
      TransactionOptions read_only;
      read_only.isolation = IsolationLevel::kSnapshot;
      read_only.read_only = true;
      for (int i = 0; i < txns_per_thread; ++i) {
        auto txn = db_->Begin(read_only);
        log.Begin(txn->id(), IsolationLevel::kSnapshot);
        const int count = 4 + static_cast<int>(rng() % 5);
        bool ok = true;
        for (int k = 0; k < count && ok; ++k) {
          ok = RecordedRead(*txn, KeyName(static_cast<int>(rng() % kKeys)), false, log);
          if (k == 0) std::this_thread::yield();  // let writers commit mid-snapshot
        }
        Finish(*txn, ok, /*rollback=*/false, log);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const HistoryReport report = CheckHistory(History(recorder));
  PrintReport("read-only snapshots", seed, report, db_->stats());
  ExpectSnapshotIsolation(report, seed);
  // Readers missed commits that happened during their snapshot (rw edges):
  // the situation where a broken snapshot would show.
  EXPECT_GT(report.rw_edges, 0u) << "seed " << seed;
}

// One thread, two transactions: the reader reads k0, a writer changes k0
// and k1 and commits, the reader reads k1. At snapshot isolation it sees
// the old k1; at read committed the new one: read skew, which the checker
// calls G-single and read committed allows. Returns the checked history.
HistoryReport InterleavedReadSkew(Database& db, IsolationLevel isolation,
                                  const std::vector<TransactionRecord>& initial) {
  HistoryRecorder recorder(2);
  HistoryRecorder::Worker& reader_log = recorder.worker(0);
  HistoryRecorder::Worker& writer_log = recorder.worker(1);
  TransactionOptions options;
  options.isolation = isolation;
  auto reader = db.Begin(options);
  reader_log.Begin(reader->id(), isolation);
  EXPECT_TRUE(RecordedRead(*reader, KeyName(0), /*for_update=*/false, reader_log));
  auto writer = db.Begin(options);
  writer_log.Begin(writer->id(), isolation);
  for (int k = 0; k < 2; ++k) {
    const std::string value = WrittenValue(writer->id(), k);
    EXPECT_TRUE(RecordedRead(*writer, KeyName(k), /*for_update=*/true, writer_log));
    EXPECT_TRUE(RecordedWrite(*writer, KeyName(k), value, writer_log));
  }
  EXPECT_TRUE(Finish(*writer, /*ok=*/true, /*rollback=*/false, writer_log));
  EXPECT_TRUE(RecordedRead(*reader, KeyName(1), /*for_update=*/false, reader_log));
  EXPECT_TRUE(Finish(*reader, /*ok=*/true, /*rollback=*/false, reader_log));
  std::vector<TransactionRecord> history = initial;
  for (TransactionRecord& t : recorder.History()) history.push_back(std::move(t));
  return CheckHistory(history);
}

TEST_F(HistoryDbTest, SnapshotReaderDoesNotSeeAConcurrentCommit) {
  ASSERT_NO_FATAL_FAILURE(OpenWithKeys(2));
  const HistoryReport report =
      InterleavedReadSkew(*db_, IsolationLevel::kSnapshot, initial_.History());
  EXPECT_TRUE(report.anomalies.empty()) << report.Summary();
  EXPECT_EQ(report.rw_edges, 2u) << report.Summary();  // the reader missed both writes
}

TEST_F(HistoryDbTest, ReadCommittedReaderShowsReadSkewAsGSingle) {
  ASSERT_NO_FATAL_FAILURE(OpenWithKeys(2));
  const HistoryReport report =
      InterleavedReadSkew(*db_, IsolationLevel::kReadCommitted, initial_.History());
  EXPECT_EQ(report.Count(AnomalyKind::kGSingle), 1u) << report.Summary();
  EXPECT_EQ(report.anomalies.size(), 1u) << report.Summary();
}

// ---- A deliberately weakened mvdb -----------------------------------------------

// T1 reads k0, T2 reads k0, T2 writes and commits, T1 writes and commits.
// First updater wins must fail T1's write; without the check T1 overwrites
// T2's update without having seen it.
HistoryReport InterleavedLostUpdate(Database& db, const std::vector<TransactionRecord>& initial,
                                    bool* second_write_succeeded) {
  HistoryRecorder recorder(2);
  HistoryRecorder::Worker& first_log = recorder.worker(0);
  HistoryRecorder::Worker& second_log = recorder.worker(1);
  TransactionOptions options;
  options.isolation = IsolationLevel::kSnapshot;
  auto first = db.Begin(options);
  first_log.Begin(first->id(), IsolationLevel::kSnapshot);
  auto second = db.Begin(options);
  second_log.Begin(second->id(), IsolationLevel::kSnapshot);
  EXPECT_TRUE(RecordedRead(*first, KeyName(0), /*for_update=*/false, first_log));
  EXPECT_TRUE(RecordedRead(*second, KeyName(0), /*for_update=*/false, second_log));
  EXPECT_TRUE(RecordedWrite(*second, KeyName(0), WrittenValue(second->id(), 0), second_log));
  EXPECT_TRUE(Finish(*second, /*ok=*/true, /*rollback=*/false, second_log));
  *second_write_succeeded =
      RecordedWrite(*first, KeyName(0), WrittenValue(first->id(), 0), first_log);
  Finish(*first, *second_write_succeeded, /*rollback=*/false, first_log);
  std::vector<TransactionRecord> history = initial;
  for (TransactionRecord& t : recorder.History()) history.push_back(std::move(t));
  return CheckHistory(history);
}

TEST_F(HistoryDbTest, FirstUpdaterWinsPreventsTheInterleavedLostUpdate) {
  ASSERT_NO_FATAL_FAILURE(OpenWithKeys(1));
  bool overwrote = true;
  const HistoryReport report = InterleavedLostUpdate(*db_, initial_.History(), &overwrote);
  EXPECT_FALSE(overwrote) << "the later writer's Put must fail with Conflict";
  EXPECT_TRUE(report.anomalies.empty()) << report.Summary();
}

TEST_F(HistoryDbTest, CheckerCatchesTheInterleavedLostUpdateWithoutTheConflictCheck) {
  ASSERT_NO_FATAL_FAILURE(OpenWithKeys(1, /*unsafe_skip_write_conflict_check=*/true));
  bool overwrote = false;
  const HistoryReport report = InterleavedLostUpdate(*db_, initial_.History(), &overwrote);
  ASSERT_TRUE(overwrote) << "unsafe_skip_write_conflict_check did not let the write through";
  ASSERT_EQ(report.Count(AnomalyKind::kLostUpdate), 1u) << report.Summary();
  EXPECT_EQ(report.anomalies[0].txns.size(), 2u);
  EXPECT_NE(report.anomalies[0].description.find("init-k0"), std::string::npos)
      << report.anomalies[0].description;
}

TEST_F(HistoryDbTest, CheckerCatchesRandomLostUpdatesWithoutTheConflictCheck) {
  const uint64_t seed = TestSeed(4);
  WorkloadOptions options;
  options.isolation = IsolationLevel::kSnapshot;
  options.rmw_read = RmwRead::kGet;
  options.keys = 8;
  options.txns_per_thread = std::max(1, TxnsPerWorker() / 3);
  options.yield_percent = 100;
  ASSERT_NO_FATAL_FAILURE(OpenWithKeys(options.keys, /*unsafe_skip_write_conflict_check=*/true));
  const HistoryReport report = RunRmwWorkload(*db_, options, seed, initial_.History());
  PrintReport("snapshot isolation without the conflict check", seed, report, db_->stats());
  EXPECT_GT(report.Count(AnomalyKind::kLostUpdate), 0u) << "seed " << seed << "\n"
                                                        << report.Summary();
  // Skipping the conflict check loses updates; it must not make reads dirty.
  EXPECT_EQ(report.Count(AnomalyKind::kG1a), 0u) << report.Summary();
  EXPECT_EQ(report.Count(AnomalyKind::kG1b), 0u) << report.Summary();
}

}  // namespace
}  // namespace mvdb::testing

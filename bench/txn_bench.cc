// Micro-benchmarks of transactions (include/mvdb/db.h) next to the storage
// engine underneath them (engine/engine.h), in the same run, on the same
// data: 100,000 keys of 16 bytes with 100-byte values. bench/README.md has
// the command and the figures.
//
//   raw_lookup         Engine::Get of a random key: the baseline of a read.
//   txn_one_read/ISO   Begin (read-only, at ISO) + Get + Commit of a random key,
//                      the table named by its name.
//   db_get             Database::Get of a random key (no transaction): the
//                      point read the short scans below are measured by.
//   txn_one_read_handle/ISO, db_get_handle
//                      the same through a TableHandle opened once: no
//                      catalog mutex, no lookup by name (issue 13).
//   snapshot_get       Snapshot::Get of a random key, every thread reading
//                      through one shared Snapshot (Database::GetSnapshot),
//                      on 1 and 2 threads: a shared snapshot's point read
//                      next to db_get's.
//   short_scan/ISO/N   a short scan from a random key: Begin (read-only, at
//                      ISO) + NewIterator + Seek + N entries read (key and
//                      value) + the iterator destroyed + Commit. N = 1 is
//                      the cost of a scan's first entry (issue 12: about
//                      that of a point read).
//   raw_put            Engine::Write of a one-Put batch (SyncMode::kOff),
//                      overwriting a random key: the baseline of a write.
//   txn_one_write      Begin + Put + Commit (sync kOff) of a random key.
//   transfer/DIST/ISO  move 1 unit between two distinct accounts through
//                      Database::Run, on 1 and 2 threads; DIST picks the
//                      accounts: uniform_10k, zipf_10k (theta 0.99) or
//                      hot_100 (uniform over 100 accounts). items_per_second
//                      is committed transfers per second, aborts/commit
//                      the retryable aborts (DatabaseStats) per transfer.
//
// Every commit is at SyncMode::kOff (handed to the kernel, not fsync'ed), so
// the figures are the engine's CPU cost, not the disk's fsync rate
// (commit_bench measures that). The raw engine and the database live in two
// directories of a fresh temporary one under $MVDB_BENCH_DIR (default
// $TMPDIR or /tmp), loaded once, lazily, by the first benchmark that needs
// each, and removed at exit. At exit the program also checks that the
// transfers kept every table's total balance, and fails if not.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "bench/bench_util.h"
#include "engine/engine.h"
#include "io/file.h"
#include "mvdb/db.h"
#include "mvdb/status.h"

namespace mvdb::bench {
namespace {

constexpr uint64_t kNumKeys = 100'000;
constexpr char kTable[] = "bench";
constexpr int64_t kInitialBalance = 1'000;

const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = MakeKeys(kNumKeys);
  return keys;
}

// Zipfian ranks in [0, n), rank 0 the most frequent (Gray et al., "Quickly
// generating billion-record synthetic databases", as YCSB does it). With
// theta 0.99 over 10,000 items the top item gets about 10 % of the draws.
class Zipfian {
 public:
  Zipfian(uint64_t n, double theta) : n_(n), theta_(theta) {
    double zeta2 = 0;
    for (uint64_t i = 1; i <= n; ++i) {
      zetan_ += 1.0 / std::pow(static_cast<double>(i), theta);
      if (i == 2) {
        zeta2 = zetan_;
      }
    }
    alpha_ = 1.0 / (1.0 - theta);
    eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zetan_);
  }
  uint64_t Next(Random& random) const {
    const double u = random.Unit();
    const double uz = u * zetan_;
    if (uz < 1.0) {
      return 0;
    }
    if (uz < 1.0 + std::pow(0.5, theta_)) {
      return 1;
    }
    const auto rank =
        static_cast<uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
    return rank < n_ ? rank : n_ - 1;
  }

 private:
  uint64_t n_;
  double theta_;
  double zetan_ = 0;
  double alpha_ = 0;
  double eta_ = 0;
};

// How the two accounts of a transfer are chosen.
struct AccountChoice {
  const char* name;
  uint64_t accounts;
  bool zipfian;
};
constexpr AccountChoice kChoices[] = {
    {"uniform_10k", 10'000, false},
    {"zipf_10k", 10'000, true},
    {"hot_100", 100, false},
};
// One table of accounts per size the choices use.
constexpr uint64_t kAccountTables[] = {10'000, 100};

std::string AccountTable(uint64_t accounts) { return "accounts_" + std::to_string(accounts); }
std::string AccountKey(uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "acct%08llu", static_cast<unsigned long long>(i));
  return buf;
}

// The two directories and what is open in them; each is loaded on first use.
class Fixture {
 public:
  explicit Fixture(std::string dir) : dir_(std::move(dir)) {}
  ~Fixture() {
    if (engine_ != nullptr) {
      (void)engine_->Close();
    }
    engine_.reset();
    if (db_ != nullptr) {
      (void)db_->Close();
    }
    db_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Result<Engine*> RawEngine() {
    std::lock_guard<std::mutex> lock(mu_);
    if (engine_ == nullptr) {
      MVDB_RETURN_IF_ERROR(LoadEngine());
    }
    return engine_.get();
  }

  Result<Database*> Db() {
    std::lock_guard<std::mutex> lock(mu_);
    if (db_ == nullptr) {
      MVDB_RETURN_IF_ERROR(LoadDatabase());
    }
    return db_.get();
  }

  // InvalidArgument naming the table if a transfer table's total changed.
  Status CheckBalances() {
    std::lock_guard<std::mutex> lock(mu_);
    if (db_ == nullptr) {
      return Status::OK();
    }
    TransactionOptions read_only;
    read_only.read_only = true;
    for (uint64_t accounts : kAccountTables) {
      std::unique_ptr<Transaction> txn = db_->Begin(read_only);
      int64_t total = 0;
      {
        std::unique_ptr<Iterator> it = txn->NewIterator(AccountTable(accounts));
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
          total += std::stoll(std::string(it->value()));
        }
        MVDB_RETURN_IF_ERROR(it->status());
      }
      MVDB_RETURN_IF_ERROR(txn->Commit());
      const int64_t expected = static_cast<int64_t>(accounts) * kInitialBalance;
      if (total != expected) {
        return Status::InvalidArgument(AccountTable(accounts) + " holds " + std::to_string(total) +
                                       ", expected " + std::to_string(expected));
      }
    }
    return Status::OK();
  }

 private:
  Status LoadEngine() {
    EngineOptions options;
    options.sync = SyncMode::kOff;
    MVDB_ASSIGN_OR_RETURN(engine_, Engine::Open(dir_ + "/raw", options));
    MVDB_RETURN_IF_ERROR(engine_->CreateTree(kTable));
    TreeBatch batch;
    for (uint64_t i = 0; i < kNumKeys; ++i) {
      batch.Put(kTable, View(Keys()[i]), MakeValue(i, 'a'));
      if (batch.count() == 1000 || i + 1 == kNumKeys) {
        MVDB_RETURN_IF_ERROR(engine_->Write(batch));
        batch.Clear();
      }
    }
    return engine_->Checkpoint();
  }

  Status LoadDatabase() {
    Options options;
    options.sync = SyncMode::kOff;
    MVDB_ASSIGN_OR_RETURN(db_, Database::Open(dir_ + "/txn", options));
    MVDB_RETURN_IF_ERROR(db_->CreateTable(kTable));
    for (uint64_t start = 0; start < kNumKeys; start += 1000) {
      MVDB_RETURN_IF_ERROR(db_->Run([&](Transaction& txn) {
        for (uint64_t i = start; i < start + 1000 && i < kNumKeys; ++i) {
          MVDB_RETURN_IF_ERROR(txn.Put(kTable, View(Keys()[i]), MakeValue(i, 'a')));
        }
        return Status::OK();
      }));
    }
    for (uint64_t accounts : kAccountTables) {
      const std::string table = AccountTable(accounts);
      MVDB_RETURN_IF_ERROR(db_->CreateTable(table));
      MVDB_RETURN_IF_ERROR(db_->Run([&](Transaction& txn) {
        for (uint64_t i = 0; i < accounts; ++i) {
          MVDB_RETURN_IF_ERROR(txn.Put(table, AccountKey(i), std::to_string(kInitialBalance)));
        }
        return Status::OK();
      }));
    }
    return db_->Flush();
  }

  std::string dir_;
  std::mutex mu_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Database> db_;
};

Fixture* fixture = nullptr;  // set by main for the whole run

template <typename T>
T* OrSkip(benchmark::State& state, Result<T*> result) {
  if (!result.ok()) {
    state.SkipWithError(result.status().ToString().c_str());
    return nullptr;
  }
  return *result;
}

bool Failed(benchmark::State& state, const Status& status) {
  if (status.ok()) {
    return false;
  }
  state.SkipWithError(status.ToString().c_str());
  return true;
}

void RawLookup(benchmark::State& state) {
  Engine* engine = OrSkip(state, fixture->RawEngine());
  if (engine == nullptr) {
    return;
  }
  Random random(state.thread_index() + 1);
  std::string value;
  for (auto _ : state) {
    if (Failed(state, engine->Get(kTable, View(Keys()[random.Uniform(kNumKeys)]), &value))) {
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// The table as a call names it: by name, or through a handle (TableHandle)
// opened once before the loop.
enum class TableBy { kName, kHandle };

// *handle for kHandle (opened), false with the benchmark skipped if it fails.
bool OpenHandle(benchmark::State& state, Database* db, TableBy by, TableHandle* handle) {
  if (by == TableBy::kName) return true;
  Result<TableHandle> opened = db->OpenTable(kTable);
  if (!opened.ok()) {
    state.SkipWithError(opened.status().ToString().c_str());
    return false;
  }
  *handle = *opened;
  return true;
}

void TxnOneRead(benchmark::State& state, IsolationLevel isolation, TableBy by) {
  Database* db = OrSkip(state, fixture->Db());
  TableHandle handle;
  if (db == nullptr || !OpenHandle(state, db, by, &handle)) {
    return;
  }
  Random random(state.thread_index() + 1);
  TransactionOptions options;
  options.isolation = isolation;
  options.read_only = true;
  std::string value;
  for (auto _ : state) {
    std::unique_ptr<Transaction> txn = db->Begin(options);
    const std::string_view key = View(Keys()[random.Uniform(kNumKeys)]);
    if (Failed(state, by == TableBy::kHandle ? txn->Get(handle, key, &value)
                                             : txn->Get(kTable, key, &value)) ||
        Failed(state, txn->Commit())) {
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void DbGet(benchmark::State& state, TableBy by) {
  Database* db = OrSkip(state, fixture->Db());
  TableHandle handle;
  if (db == nullptr || !OpenHandle(state, db, by, &handle)) {
    return;
  }
  Random random(state.thread_index() + 1);
  std::string value;
  for (auto _ : state) {
    const std::string_view key = View(Keys()[random.Uniform(kNumKeys)]);
    if (Failed(state, by == TableBy::kHandle ? db->Get(handle, key, &value)
                                             : db->Get(kTable, key, &value))) {
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// The snapshot snapshot_get's threads share: made by the first thread of a
// run, copied by each before the timed loop (so before any thread ends),
// dropped by each after it, so none is left open when the database closes.
std::mutex shared_snapshot_mu;
std::optional<Snapshot> shared_snapshot;

void SnapshotGet(benchmark::State& state) {
  Database* db = OrSkip(state, fixture->Db());
  if (db == nullptr) {
    return;
  }
  std::optional<Snapshot> snapshot;
  {
    std::lock_guard lock(shared_snapshot_mu);
    if (!shared_snapshot.has_value()) {
      Result<Snapshot> taken = db->GetSnapshot();
      if (Failed(state, taken.status())) return;
      shared_snapshot.emplace(std::move(taken).value());
    }
    snapshot = *shared_snapshot;
  }
  Random random(state.thread_index() + 1);
  std::string value;
  for (auto _ : state) {
    if (Failed(state, snapshot->Get(kTable, View(Keys()[random.Uniform(kNumKeys)]), &value))) {
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  snapshot.reset();
  std::lock_guard lock(shared_snapshot_mu);
  shared_snapshot.reset();
}

void ShortScan(benchmark::State& state, IsolationLevel isolation, int entries) {
  Database* db = OrSkip(state, fixture->Db());
  if (db == nullptr) {
    return;
  }
  Random random(state.thread_index() + 1);
  TransactionOptions options;
  options.isolation = isolation;
  options.read_only = true;
  size_t bytes = 0;
  for (auto _ : state) {
    std::unique_ptr<Transaction> txn = db->Begin(options);
    {
      std::unique_ptr<Iterator> it = txn->NewIterator(kTable);
      it->Seek(View(Keys()[random.Uniform(kNumKeys)]));
      for (int read = 0; it->Valid();) {  // no move after the last entry read
        bytes += it->key().size() + it->value().size();
        if (++read == entries) break;
        it->Next();
      }
      if (Failed(state, it->status())) break;
    }
    if (Failed(state, txn->Commit())) break;
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations());
}

void RawPut(benchmark::State& state) {
  Engine* engine = OrSkip(state, fixture->RawEngine());
  if (engine == nullptr) {
    return;
  }
  Random random(state.thread_index() + 7);
  const std::string value = MakeValue(0, 'u');
  TreeBatch batch;
  for (auto _ : state) {
    batch.Clear();
    batch.Put(kTable, View(Keys()[random.Uniform(kNumKeys)]), value);
    if (Failed(state, engine->Write(batch, SyncMode::kOff))) {
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void TxnOneWrite(benchmark::State& state) {
  Database* db = OrSkip(state, fixture->Db());
  if (db == nullptr) {
    return;
  }
  Random random(state.thread_index() + 7);
  const std::string value = MakeValue(0, 'u');
  CommitOptions commit;
  commit.sync = SyncMode::kOff;
  for (auto _ : state) {
    std::unique_ptr<Transaction> txn = db->Begin();
    if (Failed(state, txn->Put(kTable, View(Keys()[random.Uniform(kNumKeys)]), value)) ||
        Failed(state, txn->Commit(commit))) {
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

uint64_t Aborts(const DatabaseStats& s) {
  return s.aborts_conflict + s.aborts_deadlock + s.aborts_lock_timeout + s.aborts_snapshot_too_old +
         s.aborts_other;
}

// Reads both balances and writes both back, one unit moved. At snapshot
// isolation a plain Get suffices: the Puts fail with Conflict if either
// account changed since the snapshot (first updater wins). At read
// committed a Get would let two transfers overwrite each other's update, so
// the reads lock (GetForUpdate), in account order so that two transfers
// over the same pair cannot deadlock.
Status Transfer(Transaction& txn, const std::string& table, uint64_t from, uint64_t to) {
  const bool lock = txn.isolation() == IsolationLevel::kReadCommitted;
  const std::string keys[2] = {AccountKey(std::min(from, to)), AccountKey(std::max(from, to))};
  std::string values[2];
  for (int i = 0; i < 2; ++i) {
    MVDB_RETURN_IF_ERROR(lock ? txn.GetForUpdate(table, keys[i], &values[i])
                              : txn.Get(table, keys[i], &values[i]));
  }
  const int from_index = from < to ? 0 : 1;
  int64_t balances[2] = {std::stoll(values[0]), std::stoll(values[1])};
  if (balances[from_index] < 1) {
    return Status::OK();  // nothing to move
  }
  balances[from_index] -= 1;
  balances[1 - from_index] += 1;
  for (int i = 0; i < 2; ++i) {
    MVDB_RETURN_IF_ERROR(txn.Put(table, keys[i], std::to_string(balances[i])));
  }
  return Status::OK();
}

void TransferBench(benchmark::State& state, AccountChoice choice, IsolationLevel isolation) {
  Database* db = OrSkip(state, fixture->Db());
  if (db == nullptr) {
    return;
  }
  const std::string table = AccountTable(choice.accounts);
  const Zipfian zipf(choice.accounts, 0.99);
  Random random(state.thread_index() * 31 + 3);
  auto pick = [&] { return choice.zipfian ? zipf.Next(random) : random.Uniform(choice.accounts); };
  RunOptions run;
  run.transaction.isolation = isolation;
  run.commit.sync = SyncMode::kOff;
  // Hot accounts may need many attempts; a transfer given up on would not
  // be a commit, and the benchmark measures commits.
  run.max_attempts = 1000;
  // Before the start barrier and after the end one, so thread 0 sees every
  // thread's aborts and only those of this run.
  const DatabaseStats before = state.thread_index() == 0 ? db->stats() : DatabaseStats{};
  for (auto _ : state) {
    const uint64_t from = pick();
    uint64_t to = pick();
    while (to == from) {
      to = pick();
    }
    if (Failed(state,
               db->Run([&](Transaction& txn) { return Transfer(txn, table, from, to); }, run))) {
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    const DatabaseStats after = db->stats();
    // Counters are summed over threads; only thread 0 sets these, so they
    // are per commit of all threads together.
    state.counters["aborts/commit"] = benchmark::Counter(
        static_cast<double>(Aborts(after) - Aborts(before)), benchmark::Counter::kAvgIterations);
    state.counters["lock_waits/commit"] =
        benchmark::Counter(static_cast<double>(after.lock_waits - before.lock_waits),
                           benchmark::Counter::kAvgIterations);
  }
}

void RegisterAll() {
  struct Level {
    const char* name;
    IsolationLevel isolation;
  };
  constexpr Level kLevels[] = {{"snapshot", IsolationLevel::kSnapshot},
                               {"read_committed", IsolationLevel::kReadCommitted}};
  benchmark::RegisterBenchmark("raw_lookup", RawLookup);
  for (const Level& level : kLevels) {
    benchmark::RegisterBenchmark((std::string("txn_one_read/") + level.name).c_str(), TxnOneRead,
                                 level.isolation, TableBy::kName);
    benchmark::RegisterBenchmark((std::string("txn_one_read_handle/") + level.name).c_str(),
                                 TxnOneRead, level.isolation, TableBy::kHandle);
  }
  benchmark::RegisterBenchmark("db_get", DbGet, TableBy::kName);
  benchmark::RegisterBenchmark("db_get_handle", DbGet, TableBy::kHandle);
  benchmark::RegisterBenchmark("snapshot_get", SnapshotGet)->UseRealTime()->Threads(1)->Threads(2);
  for (const Level& level : kLevels) {
    for (const int entries : {1, 10, 100}) {
      const std::string name =
          std::string("short_scan/") + level.name + "/" + std::to_string(entries);
      benchmark::RegisterBenchmark(name.c_str(), ShortScan, level.isolation, entries);
    }
  }
  benchmark::RegisterBenchmark("raw_put", RawPut);
  benchmark::RegisterBenchmark("txn_one_write", TxnOneWrite);
  for (const AccountChoice& choice : kChoices) {
    for (const Level& level : kLevels) {
      const std::string name = std::string("transfer/") + choice.name + "/" + level.name;
      benchmark::RegisterBenchmark(name.c_str(), TransferBench, choice, level.isolation)
          ->UseRealTime()
          ->Threads(1)
          ->Threads(2);
    }
  }
}

}  // namespace
}  // namespace mvdb::bench

int main(int argc, char** argv) {
  namespace b = mvdb::bench;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  const std::string dir = b::MakeBenchDir("txn-bench");
  if (dir.empty()) return 1;
  int exit_code = 0;
  {
    b::Fixture fixture(dir);
    b::fixture = &fixture;
    // The backend the engine and the database will choose (MVDB_IO decides
    // for all three alike).
    mvdb::Result<std::unique_ptr<mvdb::FileSystem>> fs = mvdb::NewDefaultFileSystem();
    benchmark::AddCustomContext("mvdb_io_backend",
                                fs.ok() ? std::string((*fs)->name()) : fs.status().ToString());
    benchmark::AddCustomContext("mvdb_data_set", "100000 keys of 16 B, values of 100 B");
    benchmark::AddCustomContext("mvdb_sync", "off");
    b::RegisterAll();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (mvdb::Status s = fixture.CheckBalances(); !s.ok()) {
      std::fprintf(stderr, "txn_bench: transfers broke the balances: %s\n", s.ToString().c_str());
      exit_code = 1;
    }
    b::fixture = nullptr;
  }
  return exit_code;
}

// Failures and crashes under transactions, through the public API
// (include/mvdb/db.h) over the fault-injecting file system: a failed fsync
// or a full disk during a commit, a commit queued behind a kFull commit
// whose fsync fails (txn/transaction.cc, invariant 7), a crash at every
// write and sync of a scripted transfer workload, a second Open of an open
// directory, and a damaged data page. After each failure the database is
// reopened on a healthy file system and must hold every acknowledged commit
// and each other commit either whole or not at all.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "db/internal_options.h"
#include "io/fault_injection_file_system.h"
#include "io/file.h"
#include "mvdb/db.h"
#include "tests/testing/sync_control_file_system.h"
#include "tests/testing/temp_dir.h"

namespace mvdb {
namespace {

using testing::FlipByte;
using testing::SyncControlFileSystem;
using testing::TempDir;

// table -> key -> value; a table that exists but is empty maps to {}.
using State = std::map<std::string, std::map<std::string, std::string>>;

constexpr char kAccounts[] = "accounts";
constexpr char kLedger[] = "ledger";
// How long a commit may take before a test calls it hung.
constexpr auto kDeadline = std::chrono::seconds(10);

// One write of a transaction: a Put, or a Delete when `value` is unset.
struct Write {
  std::string table;
  std::string key;
  std::optional<std::string> value;
};

void Apply(const std::vector<Write>& writes, State* state) {
  for (const Write& write : writes) {
    if (write.value.has_value()) {
      (*state)[write.table][write.key] = *write.value;
    } else {
      (*state)[write.table].erase(write.key);
    }
  }
}

std::string Describe(const State& state) {
  std::string out;
  for (const auto& [table, rows] : state) {
    out += table + "{";
    for (const auto& [key, value] : rows) {
      out += key + "=" + (value.size() > 12 ? value.substr(0, 12) + "..." : value) + " ";
    }
    out += "} ";
  }
  return out;
}

// `n` bytes that depend on `tag`.
std::string Value(size_t n, uint64_t tag) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (i * 7 + tag * 13) % 26);
  return out;
}

Options SmallOptions() {
  Options options;
  options.cache_mb = 4;
  return options;
}

// Database::Open through the file system `fs` (db/internal_options.h).
Result<std::unique_ptr<Database>> OpenOn(const std::string& dir, FileSystem* fs,
                                         const Options& options) {
  InternalOptions internal;
  internal.file_system = fs;
  return DatabaseInternal::Open(dir, options, internal);
}

// Runs `writes` in one transaction and commits it; the first failure.
Status CommitWrites(Database* db, const std::vector<Write>& writes, SyncMode sync) {
  std::unique_ptr<Transaction> txn = db->Begin();
  for (const Write& write : writes) {
    MVDB_RETURN_IF_ERROR(write.value.has_value() ? txn->Put(write.table, write.key, *write.value)
                                                 : txn->Delete(write.table, write.key));
  }
  return txn->Commit(CommitOptions{.sync = sync});
}

// Every row of every table, read in one snapshot.
State ReadState(Database* db) {
  State state;
  auto tables = db->ListTables();
  EXPECT_TRUE(tables.ok()) << tables.status().ToString();
  if (!tables.ok()) return state;
  TransactionOptions read_only;
  read_only.read_only = true;
  std::unique_ptr<Transaction> txn = db->Begin(read_only);
  for (const std::string& table : *tables) {
    auto& rows = state[table];
    std::unique_ptr<Iterator> it = txn->NewIterator(table);
    for (it->SeekToFirst(); it->Valid(); it->Next()) rows[std::string(it->key())] = it->value();
    EXPECT_TRUE(it->status().ok()) << table << ": " << it->status().ToString();
  }
  return state;
}

std::unique_ptr<Database> OpenOk(const std::string& dir, FileSystem* fs) {
  auto db = OpenOn(dir, fs, SmallOptions());
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(*db) : nullptr;
}

// Waits for an asynchronous commit. A commit that never returns would hang
// CI, and its thread cannot be abandoned safely (it uses the database on
// this stack), so the whole binary fails instead.
Status AwaitOrDie(std::future<Status>& commit, const char* what) {
  if (commit.wait_for(kDeadline) == std::future_status::timeout) {
    ADD_FAILURE() << what << " did not return within " << kDeadline.count() << " s: hung";
    std::fflush(stdout);
    std::_Exit(1);
  }
  return commit.get();
}

class TxnFailureTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kNone); }

  // Creates both tables and commits ten transactions across them.
  void Populate(Database* db, State* acknowledged) {
    for (const char* table : {kAccounts, kLedger}) {
      ASSERT_TRUE(db->CreateTable(table).ok());
      (*acknowledged)[table];
    }
    for (int i = 0; i < 10; ++i) {
      const std::vector<Write> writes = {
          {kAccounts, "a" + std::to_string(i % 4), std::to_string(100 + i)},
          {kLedger, "e" + std::to_string(i), Value(300, i)},
      };
      ASSERT_TRUE(CommitWrites(db, writes, SyncMode::kFull).ok());
      Apply(writes, acknowledged);
    }
  }

  // A commit across both tables that a fault armed by `inject` fails:
  // it must fail with errno `err`'s text, fail the database for good, leave
  // reads at the acknowledged state, make Close fail, and after reopening
  // be there whole or not at all (only absent when `may_survive` is false).
  void CheckFailedCommit(const std::function<void(FaultInjectionFileSystem&)>& inject, int err,
                         bool may_survive) {
    FaultInjectionFileSystem fault(posix_.get());
    State acknowledged;
    const std::vector<Write> failing = {
        {kAccounts, "a0", "overwritten by the failed commit"},
        {kAccounts, "new", "inserted by the failed commit"},
        {kLedger, "e3", std::nullopt},
        {kLedger, "failed", Value(5000, 77)},
    };
    {
      std::unique_ptr<Database> db = OpenOk(dir_.path(), &fault);
      ASSERT_NE(db, nullptr);
      ASSERT_NO_FATAL_FAILURE(Populate(db.get(), &acknowledged));
      inject(fault);
      const Status failed = CommitWrites(db.get(), failing, SyncMode::kFull);
      ASSERT_TRUE(failed.IsIOError()) << failed.ToString();
      EXPECT_NE(failed.message().find(std::strerror(err)), std::string::npos) << failed.ToString();
      EXPECT_NE(failed.message().find("/wal/"), std::string::npos) << "names the log file";
      EXPECT_TRUE(db->health().IsIOError()) << db->health().ToString();
      // The disk works again; the database must go on refusing.
      fault.ClearFaults();
      for (SyncMode sync : {SyncMode::kFull, SyncMode::kOff}) {
        const Status later = CommitWrites(db.get(), {{kLedger, "later", "x"}}, sync);
        EXPECT_TRUE(later.IsIOError()) << later.ToString();
      }
      EXPECT_EQ(Describe(ReadState(db.get())), Describe(acknowledged));
      std::string value;
      std::unique_ptr<Transaction> reader = db->Begin();
      EXPECT_TRUE(reader->Get(kAccounts, "new", &value).IsNotFound());
      reader.reset();
      EXPECT_TRUE(db->Close().IsIOError());
    }
    ASSERT_TRUE(fault.DropUnsyncedData().ok());
    std::unique_ptr<Database> db = OpenOk(dir_.path(), posix_.get());
    ASSERT_NE(db, nullptr);
    const State recovered = ReadState(db.get());
    State with_failed = acknowledged;
    Apply(failing, &with_failed);
    if (!may_survive || recovered != with_failed) {
      EXPECT_EQ(Describe(recovered), Describe(acknowledged));
    }
    EXPECT_TRUE(db->Close().ok());
  }

  std::unique_ptr<FileSystem> posix_ = NewPosixFileSystem();
  TempDir dir_{"txn-failure", /*prefer_tmpfs=*/true};
};

// ---- A commit whose fsync or log write fails ----

TEST_F(TxnFailureTest, FsyncFailureFailsTheDatabaseAndRecoveryIsAllOrNothing) {
  // The record reached the kernel before its fsync failed, so whether it
  // survives is the disk's business; only half of it never may.
  CheckFailedCommit([](FaultInjectionFileSystem& fault) { fault.FailSync(1, EIO, false); }, EIO,
                    /*may_survive=*/true);
}

TEST_F(TxnFailureTest, NoSpaceOnLogWriteFailsTheDatabaseAndLosesNothingAcknowledged) {
  // The failed write wrote nothing and a failed log writes nothing more,
  // so the commit must be wholly absent after reopening.
  CheckFailedCommit(
      [](FaultInjectionFileSystem& fault) { fault.FailWrite(1, ENOSPC, /*sticky=*/true); }, ENOSPC,
      /*may_survive=*/false);
}

// ---- A commit queued behind a kFull commit whose fsync fails ----

// Invariant 7 of txn/transaction.cc: the kFull commit is abandoned, so a
// commit logged after it can never become visible and must fail rather
// than wait forever; after reopening, what is there is a prefix of the log.
void CheckCommitBehindFailedFsync(FileSystem* posix, const std::string& dir, SyncMode second_sync) {
  FaultInjectionFileSystem fault(posix);
  // Holds the log's fdatasync: the test then knows a kFull commit is in its
  // fsync and can line a second commit up behind it.
  SyncControlFileSystem gate(&fault, /*real_syncs=*/true);
  State acknowledged;
  const std::vector<Write> first = {{kAccounts, "x", "first"}, {kLedger, "first", "1"}};
  const std::vector<Write> second = {{kAccounts, "y", "second"}, {kLedger, "second", "2"}};
  {
    std::unique_ptr<Database> db = OpenOk(dir, &gate);
    ASSERT_NE(db, nullptr);
    for (const char* table : {kAccounts, kLedger}) {
      ASSERT_TRUE(db->CreateTable(table).ok());
      acknowledged[table];
    }
    const std::vector<Write> before = {{kAccounts, "x", "before"}, {kLedger, "before", "0"}};
    ASSERT_TRUE(CommitWrites(db.get(), before, SyncMode::kFull).ok());
    Apply(before, &acknowledged);

    fault.FailSync(1, EIO, /*sticky=*/false);
    gate.CloseGate("/wal/");
    std::future<Status> full = std::async(
        std::launch::async, [&] { return CommitWrites(db.get(), first, SyncMode::kFull); });
    const bool held = gate.WaitUntilBlocked(kDeadline);
    EXPECT_TRUE(held) << "the kFull commit never reached its log fsync";
    const uint64_t logged = db->stats().wal_bytes;
    std::future<Status> queued =
        std::async(std::launch::async, [&] { return CommitWrites(db.get(), second, second_sync); });
    // Let the second record into the log behind the first before the
    // first's fsync fails.
    const auto give_up = std::chrono::steady_clock::now() + kDeadline;
    while (held && db->stats().wal_bytes == logged && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_GT(db->stats().wal_bytes, logged) << "the second commit was never logged";
    gate.OpenGate();
    const Status full_status = AwaitOrDie(full, "the kFull commit whose fsync failed");
    const Status queued_status = AwaitOrDie(queued, "the commit logged behind it");
    EXPECT_TRUE(full_status.IsIOError()) << full_status.ToString();
    EXPECT_TRUE(queued_status.IsIOError()) << queued_status.ToString();
    // Nothing at or after the abandoned commit became visible.
    EXPECT_EQ(Describe(ReadState(db.get())), Describe(acknowledged));
    EXPECT_TRUE(db->Close().IsIOError());
  }
  ASSERT_TRUE(fault.DropUnsyncedData().ok());
  std::unique_ptr<Database> db = OpenOk(dir, posix);
  ASSERT_NE(db, nullptr);
  const State recovered = ReadState(db.get());
  State with_first = acknowledged;
  Apply(first, &with_first);
  State with_both = with_first;
  Apply(second, &with_both);
  EXPECT_TRUE(recovered == acknowledged || recovered == with_first || recovered == with_both)
      << "recovered " << Describe(recovered) << "\nacknowledged " << Describe(acknowledged);
  EXPECT_TRUE(db->Close().ok());
}

TEST_F(TxnFailureTest, OffCommitBehindFailedFsyncFailsInsteadOfHanging) {
  CheckCommitBehindFailedFsync(posix_.get(), dir_.path(), SyncMode::kOff);
}

TEST_F(TxnFailureTest, NormalCommitBehindFailedFsyncFailsInsteadOfHanging) {
  CheckCommitBehindFailedFsync(posix_.get(), dir_.path(), SyncMode::kNormal);
}

// ---- A crash at every write and sync of a transfer workload ----

struct Step {
  enum Kind { kCreateTable, kTransaction, kCheckpoint } kind;
  std::string table;          // kCreateTable
  std::vector<Write> writes;  // kTransaction
};

constexpr int kAccountCount = 6;
constexpr int kOpeningBalance = 100;
constexpr int kTotal = kAccountCount * kOpeningBalance;

std::string Account(int i) { return "acct" + std::to_string(i); }

// Two tables, then 20 transactions, each committed with kFull: the first
// opens the accounts, the others transfer between them (keeping the total),
// close an account into another (a delete), reopen one, overwrite the
// ledger's "last" row, add large ledger rows (overflow pages) and delete
// old ones; a checkpoint halfway, so recovery starts from one.
std::vector<Step> Workload() {
  std::vector<Step> steps;
  steps.push_back({Step::kCreateTable, kAccounts, {}});
  steps.push_back({Step::kCreateTable, kLedger, {}});
  std::map<std::string, int> balances;
  Step opening{Step::kTransaction, "", {}};
  for (int i = 0; i < kAccountCount; ++i) {
    balances[Account(i)] = kOpeningBalance;
    opening.writes.push_back({kAccounts, Account(i), std::to_string(kOpeningBalance)});
  }
  opening.writes.push_back({kLedger, "opened", std::to_string(kTotal)});
  steps.push_back(std::move(opening));
  uint64_t lcg = 12345;
  const auto next = [&lcg](int bound) {
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>((lcg >> 33) % static_cast<uint64_t>(bound));
  };
  const auto pick = [&](const std::string& other) {
    std::vector<std::string> open;
    for (const auto& [name, balance] : balances) {
      if (name != other) open.push_back(name);
    }
    return open[next(static_cast<int>(open.size()))];
  };
  for (int i = 1; i < 20; ++i) {
    Step step{Step::kTransaction, "", {}};
    const std::string from = pick("");
    const std::string to = pick(from);
    const bool close_account = i % 6 == 4 && balances.size() > 2;
    const int amount = close_account ? balances[from] : next(balances[from] + 1);
    balances[to] += amount;
    step.writes.push_back({kAccounts, to, std::to_string(balances[to])});
    if (close_account) {
      balances.erase(from);
      step.writes.push_back({kAccounts, from, std::nullopt});
    } else {
      balances[from] -= amount;
      step.writes.push_back({kAccounts, from, std::to_string(balances[from])});
    }
    if (i % 6 == 5) {  // reopen an account closed earlier, empty
      for (int a = 0; a < kAccountCount; ++a) {
        if (balances.count(Account(a)) == 0) {
          balances[Account(a)] = 0;
          step.writes.push_back({kAccounts, Account(a), "0"});
          break;
        }
      }
    }
    const std::string entry = "t" + std::to_string(i);
    step.writes.push_back({kLedger, entry, from + "->" + to + ":" + std::to_string(amount)});
    step.writes.push_back({kLedger, "last", entry});
    if (i % 5 == 2) step.writes.push_back({kLedger, "bulk" + std::to_string(i), Value(20000, i)});
    if (i % 4 == 3) step.writes.push_back({kLedger, "t" + std::to_string(i - 2), std::nullopt});
    steps.push_back(std::move(step));
    if (i == 10) steps.push_back({Step::kCheckpoint, "", {}});
  }
  return steps;
}

Options CrashOptions_() {
  Options options = SmallOptions();
  options.cache_mb = 1;                  // evictions during the workload
  options.wal_segment_bytes = 16 << 10;  // segment switches, removal after the checkpoint
  return options;
}

int SumOfBalances(const State& state) {
  int sum = 0;
  const auto accounts = state.find(kAccounts);
  if (accounts == state.end()) return 0;
  for (const auto& [account, balance] : accounts->second) sum += std::stoi(balance);
  return sum;
}

// Runs a transaction step, reading each account it changes first (as a
// transfer would) and checking what it reads against `before`.
Status RunTransaction(Database* db, const std::vector<Write>& writes, const State& before) {
  std::unique_ptr<Transaction> txn = db->Begin();
  for (const Write& write : writes) {
    if (write.table == kAccounts) {
      std::string balance;
      const Status read = txn->GetForUpdate(write.table, write.key, &balance);
      const auto& rows = before.at(kAccounts);
      const auto expected = rows.find(write.key);
      if (read.ok()) {
        EXPECT_TRUE(expected != rows.end() && expected->second == balance) << write.key;
      } else if (read.IsNotFound()) {
        EXPECT_TRUE(expected == rows.end()) << write.key;
      } else {
        return read;
      }
    }
    MVDB_RETURN_IF_ERROR(write.value.has_value() ? txn->Put(write.table, write.key, *write.value)
                                                 : txn->Delete(write.table, write.key));
  }
  return txn->Commit(CommitOptions{.sync = SyncMode::kFull});
}

// What a run of the workload leaves allowed after a crash.
struct Outcome {
  std::vector<State> states;  // states[i]: after the first i steps
  size_t acknowledged = 0;    // steps that returned OK, in order
  uint64_t operations = 0;    // write and sync requests issued

  // The state after some prefix that holds every acknowledged step.
  bool Allows(const State& state) const {
    for (size_t i = acknowledged; i < states.size(); ++i) {
      if (states[i] == state) return true;
    }
    return false;
  }
};

// Runs the workload until a step fails.
Outcome RunWorkload(const std::string& dir, FaultInjectionFileSystem* fault) {
  Outcome outcome;
  outcome.states.emplace_back();
  const uint64_t start = fault->write_count() + fault->sync_count();
  auto db = OpenOn(dir, fault, CrashOptions_());
  if (db.ok()) {
    for (const Step& step : Workload()) {
      State next = outcome.states.back();
      if (step.kind == Step::kCreateTable) next[step.table];
      Apply(step.writes, &next);
      outcome.states.push_back(std::move(next));  // acknowledged or in flight
      Status status;
      switch (step.kind) {
        case Step::kCreateTable:
          status = (*db)->CreateTable(step.table);
          break;
        case Step::kTransaction:
          status =
              RunTransaction(db->get(), step.writes, outcome.states[outcome.states.size() - 2]);
          break;
        case Step::kCheckpoint:
          status = (*db)->Flush();
          break;
      }
      if (!status.ok()) break;
      outcome.acknowledged = outcome.states.size() - 1;
    }
    (void)(*db)->Close();
  }
  outcome.operations = fault->write_count() + fault->sync_count() - start;
  return outcome;
}

void CrashEverywhere(bool tear) {
  SetLogLevel(LogLevel::kNone);
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  uint64_t total = 0;
  {
    TempDir dir("txn-crash", /*prefer_tmpfs=*/true);
    FaultInjectionFileSystem fault(posix.get());
    const Outcome complete = RunWorkload(dir.path(), &fault);
    ASSERT_EQ(complete.acknowledged, Workload().size()) << "the workload fails without a crash";
    total = complete.operations;
  }
  ASSERT_GT(total, 40u);
  std::printf("crash points: %llu (tear=%d)\n", static_cast<unsigned long long>(total), tear);
  for (uint64_t k = 1; k <= total; ++k) {
    SCOPED_TRACE("crash after " + std::to_string(k) + " of " + std::to_string(total) +
                 " operations, tear=" + std::to_string(tear));
    TempDir dir("txn-crash", /*prefer_tmpfs=*/true);
    FaultInjectionFileSystem fault(posix.get());
    fault.SetCrashAfter(k);
    const Outcome outcome = RunWorkload(dir.path(), &fault);
    ASSERT_TRUE(fault.DropUnsyncedData(CrashOptions{.tear_last_write = tear}).ok());
    auto db = OpenOn(dir.path(), posix.get(), CrashOptions_());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    const State recovered = ReadState(db->get());
    ASSERT_TRUE(outcome.Allows(recovered))
        << "recovered " << Describe(recovered) << "\nafter " << outcome.states.size() - 1
        << " steps started, the first " << outcome.acknowledged << " acknowledged";
    // Transfers move money, never make or lose it: once the accounts are
    // opened, they add up to the total in every recovered state.
    const bool opened = recovered.count(kLedger) != 0 && recovered.at(kLedger).count("opened") != 0;
    EXPECT_EQ(SumOfBalances(recovered), opened ? kTotal : 0);
    ASSERT_TRUE((*db)->Close().ok());
  }
}

TEST(TxnCrashTest, CrashAtEveryWriteAndSyncRecoversAPrefixOfCommits) {
  CrashEverywhere(/*tear=*/false);
}

TEST(TxnCrashTest, CrashAtEveryWriteAndSyncWithTornLastWrite) { CrashEverywhere(/*tear=*/true); }

// ---- A second Open, a damaged page ----

// Every file under `dir` with its bytes.
std::map<std::string, std::string> ReadFiles(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    files[entry.path().string()] = std::string(std::istreambuf_iterator<char>(in), {});
  }
  return files;
}

TEST_F(TxnFailureTest, SecondOpenInTheSameProcessIsBusyAndChangesNothing) {
  std::unique_ptr<Database> db = OpenOk(dir_.path(), posix_.get());
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->CreateTable(kAccounts).ok());
  ASSERT_TRUE(CommitWrites(db.get(), {{kAccounts, "k", "v"}}, SyncMode::kFull).ok());
  const std::map<std::string, std::string> files = ReadFiles(dir_.path());

  auto second = OpenOn(dir_.path(), posix_.get(), SmallOptions());
  ASSERT_FALSE(second.ok());
  ASSERT_TRUE(second.status().IsBusy()) << second.status().ToString();
  EXPECT_NE(second.status().message().find("process " + std::to_string(::getpid())),
            std::string::npos)
      << second.status().ToString();
  EXPECT_TRUE(ReadFiles(dir_.path()) == files) << "the refused Open changed the directory";

  // The first goes on unharmed, and keeps what it commits.
  ASSERT_TRUE(CommitWrites(db.get(), {{kAccounts, "k2", "v2"}}, SyncMode::kFull).ok());
  ASSERT_TRUE(db->Close().ok());
  db = OpenOk(dir_.path(), posix_.get());
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(Describe(ReadState(db.get())),
            Describe(State{{kAccounts, {{"k", "v"}, {"k2", "v2"}}}}));
}

TEST_F(TxnFailureTest, DamagedDataPageIsCorruptionNeverWrongData) {
  const std::string victim_value = "victim:" + Value(300, 5);
  {
    std::unique_ptr<Database> db = OpenOk(dir_.path(), posix_.get());
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->CreateTable("damaged").ok());
    ASSERT_TRUE(db->CreateTable("intact").ok());
    ASSERT_TRUE(CommitWrites(db.get(),
                             {{"damaged", "victim", victim_value},
                              {"damaged", "neighbour", "n"},
                              {"intact", "k", "v"}},
                             SyncMode::kFull)
                    .ok());
    ASSERT_TRUE(db->Close().ok());  // checkpoints: the entry is now in a data page
  }
  // Damage every page image holding the entry (copy-on-write may have left
  // more than one), inside the value.
  const std::string data_file = dir_.File("data.mvdb");
  const std::string bytes = ReadFiles(dir_.path()).at(data_file);
  int damaged = 0;
  for (size_t at = bytes.find(victim_value); at != std::string::npos;
       at = bytes.find(victim_value, at + 1)) {
    ASSERT_NO_FATAL_FAILURE(FlipByte(data_file, at + 20));
    ++damaged;
  }
  ASSERT_GT(damaged, 0) << "the entry is not in " << data_file;

  std::unique_ptr<Database> db = OpenOk(dir_.path(), posix_.get());
  ASSERT_NE(db, nullptr);
  std::unique_ptr<Transaction> txn = db->Begin();
  std::string value;
  const Status get = txn->Get("damaged", "victim", &value);
  ASSERT_TRUE(get.IsCorruption()) << get.ToString();
  EXPECT_NE(get.message().find("data.mvdb"), std::string::npos) << get.ToString();
  EXPECT_TRUE(txn->Get("damaged", "neighbour", &value).IsCorruption());

  std::unique_ptr<Iterator> it = txn->NewIterator("damaged");
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const bool known = (it->key() == "victim" && it->value() == victim_value) ||
                       (it->key() == "neighbour" && it->value() == "n");
    EXPECT_TRUE(known) << "the iterator returned made-up row " << it->key();
  }
  EXPECT_TRUE(it->status().IsCorruption()) << it->status().ToString();
  it.reset();

  // The other table's pages are unharmed.
  ASSERT_TRUE(txn->Get("intact", "k", &value).ok());
  EXPECT_EQ(value, "v");
  txn.reset();

  // A write into the damaged page is refused, by Put or by Commit.
  std::unique_ptr<Transaction> writer = db->Begin();
  Status write = writer->Put("damaged", "victim", "new");
  if (write.ok()) write = writer->Commit();
  EXPECT_TRUE(write.IsCorruption() || write.IsIOError()) << write.ToString();
  writer.reset();

  std::string report;
  EXPECT_TRUE(db->CheckIntegrity(&report).IsCorruption()) << report;
}

}  // namespace
}  // namespace mvdb

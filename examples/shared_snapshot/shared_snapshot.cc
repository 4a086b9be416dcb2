// shared_snapshot: several reader threads share one snapshot of a bank
// while writer threads move money, and every reader keeps seeing the books
// exactly as they were when the snapshot was taken. An example of mvdb's
// embedded API (mvdb/db.h) and nothing else, built against an installed
// mvdb (README.md here).
//
//   shared_snapshot [--accounts N] [--readers R] [--writers W] [--transfers M] [DBDIR]
//
// Opens DBDIR (a temporary directory, removed at the end, without one),
// creates and seeds the table `accounts` unless it is there already, takes
// one Snapshot, then runs M transfers on each of W writer threads (through
// Database::Run) while R reader threads, sharing that snapshot, sum every
// account again and again with Get and with an iterator until the writers
// are done. Checks that each reader's sums never changed and equal the
// total at the snapshot, that the snapshot held the collector's watermark
// meanwhile and released it when it went, and that the newest state has
// the same total. Exit status 1 if a check fails or mvdb reports an error.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mvdb/db.h"

namespace {

constexpr char kTable[] = "accounts";
constexpr int64_t kInitialBalance = 100;

std::string AccountKey(int i) { return "account-" + std::to_string(100000 + i).substr(1); }

[[noreturn]] void Die(const char* what, const mvdb::Status& status) {
  std::fprintf(stderr, "shared_snapshot: %s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

// What one pass of a reader found.
struct Books {
  int accounts = 0;
  int64_t total = 0;
};

// The accounts as `snapshot` sees them, through an iterator.
Books Scan(const mvdb::Snapshot& snapshot) {
  Books books;
  std::unique_ptr<mvdb::Iterator> it = snapshot.NewIterator(kTable);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++books.accounts;
    books.total += std::stoll(std::string(it->value()));
  }
  if (!it->status().ok()) {
    Die("scanning the snapshot", it->status());
  }
  return books;
}

// The same accounts read one by one with Get (the keys are known).
Books Lookup(const mvdb::Snapshot& snapshot, int accounts) {
  Books books;
  std::string balance;  // reused: Get allocates only when a value outgrows it
  for (int i = 0; i < accounts; ++i) {
    if (mvdb::Status s = snapshot.Get(kTable, AccountKey(i), &balance); !s.ok()) {
      Die("reading the snapshot", s);
    }
    ++books.accounts;
    books.total += std::stoll(balance);
  }
  return books;
}

// Moves `amount` from one account to another unless `from` holds less.
mvdb::Status Transfer(mvdb::Transaction& txn, const std::string& from, const std::string& to,
                      int64_t amount) {
  std::string from_balance, to_balance;
  MVDB_RETURN_IF_ERROR(txn.Get(kTable, from, &from_balance));
  MVDB_RETURN_IF_ERROR(txn.Get(kTable, to, &to_balance));
  if (std::stoll(from_balance) < amount) {
    return mvdb::Status::OK();
  }
  MVDB_RETURN_IF_ERROR(txn.Put(kTable, from, std::to_string(std::stoll(from_balance) - amount)));
  return txn.Put(kTable, to, std::to_string(std::stoll(to_balance) + amount));
}

}  // namespace

int main(int argc, char** argv) {
  int accounts = 100, readers = 4, writers = 2, transfers = 1000;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--accounts" && i + 1 < argc) {
      accounts = std::atoi(argv[++i]);
    } else if (arg == "--readers" && i + 1 < argc) {
      readers = std::atoi(argv[++i]);
    } else if (arg == "--writers" && i + 1 < argc) {
      writers = std::atoi(argv[++i]);
    } else if (arg == "--transfers" && i + 1 < argc) {
      transfers = std::atoi(argv[++i]);
    } else if (arg[0] != '-' && dir.empty()) {
      dir = arg;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--accounts N] [--readers R] [--writers W] [--transfers M] "
                   "[DBDIR]\n",
                   argv[0]);
      return 2;
    }
  }
  if (accounts < 2 || accounts > 99999 || readers < 1 || writers < 1 || transfers < 0) {
    return 2;
  }
  const bool temporary = dir.empty();
  if (temporary) {
    const char* tmp = std::getenv("TMPDIR");
    dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/snapshot-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
      Die("mkdtemp", mvdb::Status::FromErrno(dir, errno));
    }
  }

  mvdb::Options options;
  options.sync = mvdb::SyncMode::kNormal;  // fsync'ed within 100 ms: enough for an example
  std::unique_ptr<mvdb::Database> db = mvdb::Database::Open(dir, options).value();
  mvdb::Result<std::vector<std::string>> tables = db->ListTables();
  if (!tables.ok()) {
    Die("listing the tables", tables.status());
  }
  if (std::find(tables->begin(), tables->end(), kTable) == tables->end()) {
    if (mvdb::Status s = db->CreateTable(kTable); !s.ok()) {
      Die("creating the table", s);
    }
    mvdb::Status seeded = db->Run([&](mvdb::Transaction& txn) {
      for (int i = 0; i < accounts; ++i) {
        MVDB_RETURN_IF_ERROR(txn.Put(kTable, AccountKey(i), std::to_string(kInitialBalance)));
      }
      return mvdb::Status::OK();
    });
    if (!seeded.ok()) {
      Die("seeding the accounts", seeded);
    }
  }

  // One snapshot for every reader. Copies share it; it is released when the
  // last copy (and the last iterator over it) goes.
  mvdb::Result<mvdb::Snapshot> taken = db->GetSnapshot();
  if (!taken.ok()) {
    Die("taking a snapshot", taken.status());
  }
  std::optional<mvdb::Snapshot> snapshot(std::move(taken).value());
  const Books at_snapshot = Scan(*snapshot);
  accounts = at_snapshot.accounts;
  std::printf("%s: snapshot %llu: %d accounts holding %lld\n", dir.c_str(),
              static_cast<unsigned long long>(snapshot->sequence()), accounts,
              static_cast<long long>(at_snapshot.total));

  const mvdb::DatabaseStats start = db->stats();
  std::atomic<int> writers_left{writers};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 random(w + 1);
      std::uniform_int_distribution<int> account(0, accounts - 1), amount(1, 50);
      mvdb::RunOptions run;
      run.max_attempts = 100;  // conflicts between writers are retried
      for (int n = 0; n < transfers; ++n) {
        const int from = account(random);
        const int to = (from + 1 + account(random) % (accounts - 1)) % accounts;
        const int64_t sum = amount(random);
        mvdb::Status s = db->Run(
            [&](mvdb::Transaction& txn) {
              return Transfer(txn, AccountKey(from), AccountKey(to), sum);
            },
            run);
        if (!s.ok()) {
          Die("transfer", s);
        }
      }
      writers_left.fetch_sub(1);
    });
  }
  // Each reader reads through its own copy of the snapshot (sharing the one
  // object would do as well) until the writers are done.
  std::vector<int> passes(readers, 0), wrong(readers, 0);
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&, r, copy = *snapshot] {
      while (writers_left.load() > 0 || passes[r] < 3) {
        const Books scanned = Scan(copy);
        const Books looked_up = Lookup(copy, accounts);
        for (const Books& books : {scanned, looked_up}) {
          if (books.accounts != at_snapshot.accounts || books.total != at_snapshot.total) {
            ++wrong[r];
          }
        }
        ++passes[r];
      }
    });
  }
  // While it lives, the snapshot is the collector's watermark: the versions
  // it sees are kept however much is written.
  const bool held = db->stats().oldest_snapshot_ts == snapshot->sequence();
  for (std::thread& t : threads) {
    t.join();
  }
  const mvdb::DatabaseStats during = db->stats();

  int failures = 0;
  auto check = [&](bool ok) {
    failures += ok ? 0 : 1;
    return ok ? "OK" : "WRONG";
  };
  std::printf(
      "%d writers, %d transfers: %llu moved money, %llu declined (insufficient funds), "
      "%llu conflicts retried\n",
      writers, writers * transfers, static_cast<unsigned long long>(during.commits - start.commits),
      static_cast<unsigned long long>(during.read_only_commits - start.read_only_commits),
      static_cast<unsigned long long>(during.aborts_conflict - start.aborts_conflict));
  for (int r = 0; r < readers; ++r) {
    std::printf(
        "reader %d: %d passes (an iterator scan and %d Gets each), always %d accounts "
        "holding %lld: %s\n",
        r, passes[r], accounts, at_snapshot.accounts, static_cast<long long>(at_snapshot.total),
        check(wrong[r] == 0));
  }
  std::printf("the snapshot held the watermark at %llu while the writers ran: %s\n",
              static_cast<unsigned long long>(snapshot->sequence()), check(held));

  snapshot.reset();  // the last copy: released
  const mvdb::DatabaseStats after = db->stats();
  std::printf("released: the watermark moved to %llu, the newest commit: %s\n",
              static_cast<unsigned long long>(after.oldest_snapshot_ts),
              check(after.oldest_snapshot_ts == after.visible_ts));

  {
    mvdb::Result<mvdb::Snapshot> now = db->GetSnapshot();
    if (!now.ok()) {
      Die("taking a snapshot", now.status());
    }
    const Books latest = Scan(*now);
    std::printf(
        "a new snapshot %llu: %d accounts holding %lld: %s\n",
        static_cast<unsigned long long>(now->sequence()), latest.accounts,
        static_cast<long long>(latest.total),
        check(latest.accounts == at_snapshot.accounts && latest.total == at_snapshot.total));
  }  // released here: Close would answer Busy while it lives

  if (mvdb::Status s = db->Close(); !s.ok()) {
    Die("close", s);
  }
  db.reset();
  if (temporary) {
    std::filesystem::remove_all(dir);
  }
  return failures == 0 ? 0 : 1;
}

// bank_transfer: money moves between accounts on several threads, and the
// total never changes. An example of mvdb's embedded API (mvdb/db.h) and
// nothing else, built against an installed mvdb (README.md here).
//
//   bank_transfer [--accounts N] [--threads T] [--transfers M] [DBDIR]
//
// Opens DBDIR (a temporary directory, removed at the end, without one),
// creates and seeds the table `accounts` unless it is there already, runs M
// transfers on each of T threads through Database::Run at snapshot
// isolation, prints the commit and abort counts, then checks that the
// total balance is what it was. Then it closes the database, reopens it
// and checks again. Exit status 1 if a check fails or mvdb reports an error.
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
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
  std::fprintf(stderr, "bank_transfer: %s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

// Moves `amount` from one account to another, all or nothing; sets
// *declined and writes nothing when `from` holds less. Plain reads are
// enough at snapshot isolation: if a concurrent transfer changes either
// account after this one's snapshot, the Put fails with Conflict (first
// updater wins) and Run runs the whole function again.
mvdb::Status Transfer(mvdb::Transaction& txn, const std::string& from, const std::string& to,
                      int64_t amount, bool* declined) {
  std::string from_balance, to_balance;
  MVDB_RETURN_IF_ERROR(txn.Get(kTable, from, &from_balance));
  MVDB_RETURN_IF_ERROR(txn.Get(kTable, to, &to_balance));
  *declined = std::stoll(from_balance) < amount;
  if (*declined) {
    return mvdb::Status::OK();
  }
  MVDB_RETURN_IF_ERROR(txn.Put(kTable, from, std::to_string(std::stoll(from_balance) - amount)));
  return txn.Put(kTable, to, std::to_string(std::stoll(to_balance) + amount));
}

// The number of accounts and their total, read in one snapshot.
struct Books {
  int accounts = 0;
  int64_t total = 0;
};

Books ReadBooks(mvdb::Database& db) {
  Books books;
  std::unique_ptr<mvdb::Transaction> txn = db.Begin();
  std::unique_ptr<mvdb::Iterator> it = txn->NewIterator(kTable);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++books.accounts;
    books.total += std::stoll(std::string(it->value()));
  }
  if (!it->status().ok()) {
    Die("reading the accounts", it->status());
  }
  it.reset();  // an iterator must go before its transaction
  if (mvdb::Status s = txn->Commit(); !s.ok()) {
    Die("commit of the read", s);
  }
  return books;
}

std::unique_ptr<mvdb::Database> OpenDatabase(const std::string& dir) {
  mvdb::Options options;
  // Acknowledged once handed to the kernel, fsync'ed within 100 ms: enough
  // for an example, and much faster than an fsync per commit.
  options.sync = mvdb::SyncMode::kNormal;
  mvdb::Result<std::unique_ptr<mvdb::Database>> db = mvdb::Database::Open(dir, options);
  if (!db.ok()) {
    Die(("open " + dir).c_str(), db.status());
  }
  return std::move(*db);
}

}  // namespace

int main(int argc, char** argv) {
  int accounts = 1000, threads = 4, transfers = 2000;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--accounts" && i + 1 < argc) {
      accounts = std::atoi(argv[++i]);
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--transfers" && i + 1 < argc) {
      transfers = std::atoi(argv[++i]);
    } else if (arg[0] != '-' && dir.empty()) {
      dir = arg;
    } else {
      std::fprintf(stderr, "usage: %s [--accounts N] [--threads T] [--transfers M] [DBDIR]\n",
                   argv[0]);
      return 2;
    }
  }
  if (accounts < 2 || accounts > 99999 || threads < 1 || transfers < 0) {
    return 2;
  }
  const bool temporary = dir.empty();
  if (temporary) {
    const char* tmp = std::getenv("TMPDIR");
    dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/bank-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
      Die("mkdtemp", mvdb::Status::FromErrno(dir, errno));
    }
  }

  std::unique_ptr<mvdb::Database> db = OpenDatabase(dir);
  mvdb::Result<std::vector<std::string>> tables = db->ListTables();
  if (!tables.ok()) {
    Die("listing the tables", tables.status());
  }
  // A second run over the same DBDIR goes on from the balances it finds.
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
  const Books before = ReadBooks(*db);
  accounts = before.accounts;
  std::printf("%s: %d accounts holding %lld\n", dir.c_str(), accounts,
              static_cast<long long>(before.total));

  mvdb::RunOptions run;
  run.transaction.isolation = mvdb::IsolationLevel::kSnapshot;
  run.max_attempts = 100;  // with few accounts and many threads, conflicts are common
  const mvdb::DatabaseStats start = db->stats();
  std::vector<int> declined(threads, 0);
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 random(t + 1);
      std::uniform_int_distribution<int> account(0, accounts - 1), amount(1, 50);
      for (int n = 0; n < transfers; ++n) {
        const int from = account(random);
        int to = account(random);
        while (to == from) {
          to = account(random);
        }
        const int64_t sum = amount(random);
        bool was_declined = false;
        mvdb::Status s = db->Run(
            [&](mvdb::Transaction& txn) {
              return Transfer(txn, AccountKey(from), AccountKey(to), sum, &was_declined);
            },
            run);
        if (!s.ok()) {
          Die("transfer", s);
        }
        declined[t] += was_declined ? 1 : 0;
      }
    });
  }
  for (std::thread& w : workers) {
    w.join();
  }

  const mvdb::DatabaseStats stats = db->stats();
  int declined_total = 0;
  for (int d : declined) {
    declined_total += d;
  }
  auto delta = [](uint64_t after, uint64_t before) {
    return static_cast<unsigned long long>(after - before);
  };
  std::printf("%d transfers on %d threads: %llu committed, %d declined (insufficient funds)\n",
              threads * transfers, threads, delta(stats.commits, start.commits), declined_total);
  std::printf("aborted and retried: %llu conflicts, %llu deadlocks, %llu lock timeouts\n",
              delta(stats.aborts_conflict, start.aborts_conflict),
              delta(stats.aborts_deadlock, start.aborts_deadlock),
              delta(stats.aborts_lock_timeout, start.aborts_lock_timeout));

  int failures = 0;
  auto check = [&](const char* when, const Books& books) {
    const bool ok = books.accounts == before.accounts && books.total == before.total;
    std::printf("%s: %d accounts holding %lld: %s\n", when, books.accounts,
                static_cast<long long>(books.total), ok ? "OK" : "WRONG");
    if (!ok) {
      ++failures;
    }
  };
  check("after the transfers", ReadBooks(*db));
  if (mvdb::Status s = db->Close(); !s.ok()) {
    Die("close", s);
  }
  db = OpenDatabase(dir);
  check("after reopening", ReadBooks(*db));
  if (mvdb::Status s = db->Close(); !s.ok()) {
    Die("close", s);
  }
  db.reset();

  if (temporary) {
    std::filesystem::remove_all(dir);
  }
  return failures == 0 ? 0 : 1;
}
